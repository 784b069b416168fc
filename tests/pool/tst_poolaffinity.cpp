// Model-aware routing on the real stack, in front of two fake ComfyUIs that charge for a checkpoint switch:
// a mixed AABB... workload loads fewer models with affinity than with least_loaded (a job waits for the busy
// backend that has its checkpoint rather than make the free one switch, and the jobs behind it go on); a
// workload of one checkpoint still uses both backends; a deferred job shows its place in the runner's queue and
// goes elsewhere once its backend drains.

#include "tests/pool/poolenv.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

const QString kA = u"rand_sd15.safetensors"_s;
const QString kB = u"v1-5-pruned-emaonly.safetensors"_s;

// A job with this checkpoint and its own seed (an identical prompt would be served from ComfyUI's cache).
QJsonObject ckptJob(const QString &ckpt, int seed)
{
    return {{u"inputs"_s, QJsonObject{{u"4.ckpt_name"_s, ckpt}, {u"3.seed"_s, seed}}}};
}

struct MixedRun {
    int modelLoads = -1;
    QList<int> prompts; // per backend
};

// Runs `pattern` (letters A and B) to the end on two fakes with a model switch cost; -1 loads on a failure.
MixedRun runMixed(RoutingMode routing, const QString &pattern)
{
    MixedRun out;
    PoolEnv env(2, [routing](Config &c) { c.jobs.routing = routing; });
    if (!env.ok())
        return out;
    for (int i = 0; i < env.fakeCount(); ++i)
        env.fake(i).setModelLoadMs(60);
    QStringList ids;
    for (int i = 0; i < pattern.size(); ++i)
        ids << env.submit(ckptJob(pattern.at(i) == u'A' ? kA : kB, 1000 + i));
    for (const QString &id : std::as_const(ids))
        if (id.isEmpty() || !env.waitState(id, u"succeeded"_s, 30000))
            return out;
    out.modelLoads = 0;
    for (int i = 0; i < env.fakeCount(); ++i) {
        out.modelLoads += env.fake(i).modelLoads();
        out.prompts << env.fake(i).promptCount();
    }
    return out;
}

} // namespace

class TstPoolAffinity : public QObject
{
    Q_OBJECT

private slots:
    void affinityLoadsFewerModels();
    void oneCheckpointUsesEveryBackend();
    void deferredJobWaitsInLineAndEndsOnDrain();
};

void TstPoolAffinity::affinityLoadsFewerModels()
{
    const QString pattern = u"AABBAABBAABBAABB"_s;
    const MixedRun affinity = runMixed(RoutingMode::Affinity, pattern);
    const MixedRun leastLoaded = runMixed(RoutingMode::LeastLoaded, pattern);
    QVERIFY(affinity.modelLoads > 0);
    QVERIFY(leastLoaded.modelLoads > 0);
    qInfo().noquote() << "model loads: affinity" << affinity.modelLoads << "least_loaded" << leastLoaded.modelLoads;
    QVERIFY2(affinity.modelLoads < leastLoaded.modelLoads,
             qPrintable(u"affinity %1 loads, least_loaded %2"_s.arg(affinity.modelLoads).arg(leastLoaded.modelLoads)));
    // Each backend keeps one checkpoint for the whole run, but for the tail (when only one checkpoint is left).
    QVERIFY2(affinity.modelLoads <= 4, qPrintable(u"affinity %1 loads"_s.arg(affinity.modelLoads)));
    QVERIFY(affinity.prompts.at(0) > 0 && affinity.prompts.at(1) > 0);
}

void TstPoolAffinity::oneCheckpointUsesEveryBackend()
{
    const MixedRun run = runMixed(RoutingMode::Affinity, u"AAAAAAAAAAAA"_s);
    QVERIFY(run.modelLoads > 0);
    QCOMPARE(run.prompts.size(), 2);
    QVERIFY2(run.prompts.at(0) > 0 && run.prompts.at(1) > 0,
             qPrintable(u"prompts per backend: %1, %2"_s.arg(run.prompts.at(0)).arg(run.prompts.at(1))));
    QCOMPARE(run.prompts.at(0) + run.prompts.at(1), 12);
}

void TstPoolAffinity::deferredJobWaitsInLineAndEndsOnDrain()
{
    PoolEnv env(2); // max_in_flight 1 each
    QVERIFY(env.ok());
    env.fake(0).setSteps(400); // gpu0's run lasts seconds: it stays full while the test looks
    env.fake(0).setStepIntervalMs(20);
    const QString first = env.submit(ckptJob(kA, 1));
    QCOMPARE(attemptBackend(env.job(first), 0), u"gpu0"_s);
    // gpu0 is full, gpu1 is free but never loaded a checkpoint: the second waits for gpu0 in the runner's queue.
    const QString second = env.submit(ckptJob(kA, 2));
    QJsonObject j = env.job(second);
    QCOMPARE(j[u"state"_s].toString(), u"queued"_s);
    QVERIFY(j[u"attempts"_s].toArray().isEmpty());
    QCOMPARE(j[u"queue_position"_s].toInt(), 1);
    // A job of another checkpoint behind it is not held up: gpu1 takes it. When it ends, the dispatch pass
    // leaves the second where it is (gpu1 now has the other checkpoint).
    const QString other = env.submit(ckptJob(kB, 3));
    QVERIFY(env.waitState(other, u"succeeded"_s));
    QCOMPARE(env.job(other)[u"backend"_s].toString(), u"gpu1"_s);
    j = env.job(second);
    QCOMPARE(j[u"state"_s].toString(), u"queued"_s);
    QCOMPARE(j[u"queue_position"_s].toInt(), 1);
    QCOMPARE(env.fake(1).promptCount(), 1);
    // gpu0 drains: it no longer qualifies, so the wait ends and gpu1 runs the job (switching models).
    QCOMPARE(env.call("POST", u"/api/v1/backends/gpu0/drain"_s).status, 200);
    QVERIFY(env.waitState(second, u"succeeded"_s));
    QCOMPARE(env.job(second)[u"backend"_s].toString(), u"gpu1"_s);
    QVERIFY(env.job(second)[u"queue_position"_s].isNull());
    QCOMPARE(env.fake(0).promptCount(), 1);
    QCOMPARE(env.fake(1).modelLoads(), 2);
}

QTEST_GUILESS_MAIN(TstPoolAffinity)
#include "tst_poolaffinity.moc"
