// EtaEstimator on a clock the test drives: the step cadence (time per step from the first step seen, reset by
// another sampler), the history's median per workflow and backend with the any-backend fallback and its
// bound, the tail after the sampler, and how a running estimate blends cadence and history.

#include "core/jobs/etaestimator.h"

#include <QtTest>

using namespace cr;

class TstEtaEstimator : public QObject
{
    Q_OBJECT

private slots:
    void cadence();
    void history();
    void runningBlend();
};

void TstEtaEstimator::cadence()
{
    EtaEstimator::Cadence c;
    c.step(QStringLiteral("3"), 1, 20, 1000);
    QCOMPARE(c.msPerStep(), -1); // one step says nothing yet
    c.step(QStringLiteral("3"), 2, 20, 1100);
    c.step(QStringLiteral("3"), 5, 20, 1400);
    QCOMPARE(c.msPerStep(), 100);
    // No history: remaining steps x cadence, less the time into the current step.
    QCOMPARE(EtaEstimator::runningEta(1400, 5000, &c, -1, 0), 1500);
    QCOMPARE(EtaEstimator::runningEta(1450, 5000, &c, -1, 0), 1450);
    QCOMPARE(EtaEstimator::runningEta(1400, 5000, &c, -1, 300), 1800); // plus the tail
    // Another sampler (a second KSampler, a hires pass) starts over.
    c.step(QStringLiteral("11"), 1, 10, 2000);
    QCOMPARE(c.node, QStringLiteral("11"));
    QCOMPARE(c.msPerStep(), -1);
    c.step(QStringLiteral("11"), 3, 10, 2100);
    QCOMPARE(c.msPerStep(), 50);
    QCOMPARE(EtaEstimator::runningEta(2100, 0, nullptr, -1, 0), -1); // nothing known
}

void TstEtaEstimator::history()
{
    EtaEstimator e;
    QCOMPARE(e.typicalMs(QStringLiteral("sd15"), QStringLiteral("gpu0")), -1);
    e.recordRun(QStringLiteral("sd15"), QStringLiteral("gpu0"), 1000, 100);
    e.recordRun(QStringLiteral("sd15"), QStringLiteral("gpu0"), 3000, 300);
    e.recordRun(QStringLiteral("sd15"), QStringLiteral("gpu0"), 2000, -1);
    e.recordRun(QStringLiteral("sd15"), QStringLiteral("gpu1"), 9000, 900);
    QCOMPARE(e.typicalMs(QStringLiteral("sd15"), QStringLiteral("gpu0")), 2000); // median of its own
    QCOMPARE(e.typicalMs(QStringLiteral("sd15"), QStringLiteral("gpu1")), 9000);
    QCOMPARE(e.typicalMs(QStringLiteral("sd15"), QStringLiteral("gpu2")), 2500); // every backend's
    QCOMPARE(e.typicalTailMs(QStringLiteral("sd15"), QStringLiteral("gpu0")), 200);
    QCOMPARE(e.typicalMs(QStringLiteral("other"), QStringLiteral("gpu0")), -1);
    QCOMPARE(e.typicalTailMs(QStringLiteral("other"), QStringLiteral("gpu0")), 0);
    for (int i = 0; i < EtaEstimator::kHistory; ++i) // old runs age out
        e.recordRun(QStringLiteral("sd15"), QStringLiteral("gpu0"), 500, 50);
    QCOMPARE(e.typicalMs(QStringLiteral("sd15"), QStringLiteral("gpu0")), 500);
}

void TstEtaEstimator::runningBlend()
{
    // History only: what is left of the typical run, and 0 (not negative) once it overran.
    QCOMPARE(EtaEstimator::runningEta(0, 400, nullptr, 1000, 0), 600);
    QCOMPARE(EtaEstimator::runningEta(0, 1400, nullptr, 1000, 0), 0);
    EtaEstimator::Cadence c;
    c.step(QStringLiteral("3"), 0, 10, 0);
    c.step(QStringLiteral("3"), 5, 10, 500); // half way, 100 ms a step: cadence says 500 ms
    // History says 2000 - 600 = 1400; half way, the two count alike.
    QCOMPARE(EtaEstimator::runningEta(500, 600, &c, 2000, 0), (500 + 1400) / 2);
    c.step(QStringLiteral("3"), 9, 10, 900); // near the end the cadence dominates
    const qint64 late = EtaEstimator::runningEta(900, 1000, &c, 2000, 0);
    QVERIFY(late >= 100 && late < 250);
    // Overdue by the history: the cadence alone.
    QCOMPARE(EtaEstimator::runningEta(900, 5000, &c, 2000, 0), 100);
}

QTEST_GUILESS_MAIN(TstEtaEstimator)
#include "tst_etaestimator.moc"
