// eta_ms end to end, with the fake's step timing driven (20 sampler steps of 40 ms, one backend that takes one
// prompt at a time): a first run's estimate comes from its sampler's cadence alone; once a run is in the
// history, a job waiting in the runner's queue gets the work ahead of it plus its own typical duration (the
// later in the queue, the later), the job events carry eta_ms, and a finished job has none. The bounds are
// wide (the machine may be slow, never faster than the timers), never exact values.

#include "tests/api/apitestenv.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

namespace {

constexpr int kSteps = 20;
constexpr int kStepMs = 40;

QJsonObject job(ApiTestEnv &env, const QString &id)
{
    return env.call("GET", QStringLiteral("/api/v1/jobs/%1").arg(id)).json();
}

// A new seed each time: the fake's cache would serve an identical prompt at once, as ComfyUI does.
QString submit(ApiTestEnv &env)
{
    static int seed = 1000;
    const QByteArray body = QStringLiteral(R"({"workflow": "sd15", "inputs": {"3.seed": %1}})").arg(++seed).toUtf8();
    return env.call("POST", QStringLiteral("/api/v1/jobs"), body).json()[QStringLiteral("id")].toString();
}

// The data of every `type` event in a job's log.
QList<QJsonObject> eventsOf(ApiTestEnv &env, const QString &id, const QString &type)
{
    QList<QJsonObject> out;
    for (const QJsonValue &v :
         env.call("GET", QStringLiteral("/api/v1/jobs/%1/events").arg(id)).json()[QStringLiteral("events")].toArray())
        if (v[QStringLiteral("type")].toString() == type)
            out.append(v[QStringLiteral("event")][QStringLiteral("data")].toObject());
    return out;
}

} // namespace

class TstApiEta : public QObject
{
    Q_OBJECT

private slots:
    void cadenceThenHistoryThenQueue();
};

void TstApiEta::cadenceThenHistoryThenQueue()
{
    ApiTestEnv env(
        {},
        [](Config &c) {
            c.backends = {BackendSettings{QStringLiteral("gpu0"), c.comfy.url, {}, 1}};
        },
        {},
        [](sim::FakeComfy &f) {
            f.setSteps(kSteps);
            f.setStepIntervalMs(kStepMs);
        });
    QVERIFY(env.ok());

    // 1. No history: the sampler's cadence. Sampled at a step in the first half, then again later.
    const QString first = submit(env);
    QVERIFY(!first.isEmpty());
    QJsonObject at;
    QTRY_VERIFY_WITH_TIMEOUT((at = job(env, first),
                              at[QStringLiteral("state")].toString() == u"running"
                                  && at[QStringLiteral("progress")][QStringLiteral("value")].toDouble() >= 6),
                             10000);
    const double v1 = at[QStringLiteral("progress")][QStringLiteral("value")].toDouble();
    QVERIFY2(at[QStringLiteral("eta_ms")].isDouble(), QJsonDocument(at).toJson().constData());
    const qint64 eta1 = at[QStringLiteral("eta_ms")].toInteger();
    // The steps never come faster than their timer; a loaded machine makes them slower.
    QVERIFY2(eta1 >= qint64((kSteps - v1 - 1) * kStepMs * 0.8), qPrintable(QString::number(eta1)));
    QVERIFY2(eta1 <= qint64((kSteps - v1 + 1) * kStepMs * 10), qPrintable(QString::number(eta1)));
    QTRY_VERIFY_WITH_TIMEOUT((at = job(env, first),
                              at[QStringLiteral("progress")][QStringLiteral("value")].toDouble() >= v1 + 6
                                  || at[QStringLiteral("state")].toString() != u"running"),
                             10000);
    if (at[QStringLiteral("state")].toString() == u"running")
        QVERIFY2(at[QStringLiteral("eta_ms")].toInteger() < eta1, "the estimate went down as steps went by");
    QTRY_COMPARE_WITH_TIMEOUT(job(env, first)[QStringLiteral("state")].toString(), QStringLiteral("succeeded"), 10000);
    const QJsonObject done = job(env, first);
    QVERIFY(done[QStringLiteral("eta_ms")].isNull()); // final: no estimate
    const qint64 typical = done[QStringLiteral("duration_ms")].toInteger();
    QVERIFY(typical >= kSteps * kStepMs);
    // The steps' events carried the estimate too.
    const QList<QJsonObject> steps = eventsOf(env, first, QStringLiteral("job_progress"));
    QVERIFY(steps.size() >= kSteps / 2);
    QVERIFY(steps.last()[QStringLiteral("eta_ms")].isDouble());

    // 2. With that run in the history: three jobs on a backend that takes one at a time.
    const QString a = submit(env), b = submit(env), c = submit(env);
    const QJsonObject jb = job(env, b), jc = job(env, c);
    QVERIFY2(jb[QStringLiteral("queue_position")].toInt() == 1, QJsonDocument(jb).toJson().constData());
    QCOMPARE(jc[QStringLiteral("queue_position")].toInt(), 2);
    QVERIFY(jb[QStringLiteral("eta_ms")].isDouble() && jc[QStringLiteral("eta_ms")].isDouble());
    const qint64 etaB = jb[QStringLiteral("eta_ms")].toInteger(), etaC = jc[QStringLiteral("eta_ms")].toInteger();
    // b: what is left of a, then itself (about 2 runs); c: one more run after b.
    QVERIFY2(etaB >= typical && etaB <= typical * 3, qPrintable(QStringLiteral("%1 vs %2").arg(etaB).arg(typical)));
    QVERIFY2(etaC - etaB >= typical / 2 && etaC - etaB <= typical * 3 / 2,
             qPrintable(QStringLiteral("%1 - %2 vs %3").arg(etaC).arg(etaB).arg(typical)));
    const qint64 etaA = job(env, a)[QStringLiteral("eta_ms")].toInteger();
    QVERIFY2(etaA <= typical * 2 && etaA < etaB, qPrintable(QString::number(etaA)));

    for (const QString &id : {a, b, c})
        QTRY_COMPARE_WITH_TIMEOUT(job(env, id)[QStringLiteral("state")].toString(), QStringLiteral("succeeded"), 20000);
    // The queued events said when they expected to be done.
    const QList<QJsonObject> queued = eventsOf(env, c, QStringLiteral("job_queued"));
    QCOMPARE(queued.size(), 1);
    QVERIFY(queued.first()[QStringLiteral("eta_ms")].isDouble());
    QVERIFY(queued.first()[QStringLiteral("eta_ms")].toInteger() >= typical);
    QVERIFY(job(env, c)[QStringLiteral("eta_ms")].isNull());
}

QTEST_GUILESS_MAIN(TstApiEta)
#include "tst_apieta.moc"
