// The service in front of three fake ComfyUIs when things go wrong or stop: a backend killed mid-run (its
// handed-over job finishes elsewhere, its running one is re-run or failed by [jobs] max_attempts, and the
// attempts say so), the backend coming back (the prompts taken from it are deleted there, it gets work
// again), a restart of the runner with jobs waiting in its queue (none lost, none run twice), cancel of a
// waiting, a handed-over and a running job (only the right ComfyUI hears of it), and readiness.

#include "tests/pool/poolenv.h"

#include <QJsonArray>
#include <QSet>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

QString outcome(const QJsonObject &job, int i) { return job[u"attempts"_s].toArray().at(i)[u"outcome"_s].toString(); }

QString promptOf(const QJsonObject &job, int i)
{
    return job[u"attempts"_s].toArray().at(i)[u"prompt_id"_s].toString();
}

// gpu0 holds two prompts (one running, one queued there); the others are drained meanwhile.
struct Held {
    QString running, queued;
};
Held holdTwoOnGpu0(PoolEnv &env)
{
    env.fake(0).setSteps(500);
    env.fake(0).setStepIntervalMs(20);
    env.backend(u"gpu1"_s)->setDraining(true);
    env.backend(u"gpu2"_s)->setDraining(true);
    Held h{env.submit(), env.submit()};
    if (!env.waitRunning(0, h.running))
        return {};
    if (env.fake(0).pendingPromptIds() != QStringList{h.queued})
        return {};
    env.backend(u"gpu1"_s)->setDraining(false);
    env.backend(u"gpu2"_s)->setDraining(false);
    return h;
}

void kill(sim::FakeComfy &fake)
{
    fake.setRefuseConnections(true);
    fake.dropWebSockets();
}

// Cut off without dying: nothing it is sent arrives (not even on an open HTTP connection), it runs on.
void cutOff(sim::FakeComfy &fake)
{
    fake.setStallHttp(true);
    kill(fake);
}
void reconnect(sim::FakeComfy &fake)
{
    fake.setStallHttp(false);
    fake.setRefuseConnections(false);
}

} // namespace

class TstPoolFailover : public QObject
{
    Q_OBJECT

private slots:
    void killedBackendsJobsFinishElsewhere();
    void runningJobFailsWhenNoAttemptIsLeft();
    void restartWithJobsWaitingLosesNoneRunsNoneTwice();
    void cancelFollowsTheJob();
    void readyWhileOneBackendIs();
    void legacyInterruptReachesEveryBackendOfItsJobs();
    void submitterIsAnsweredWhenTheBackendDropsMeanwhile();
    void promptsThatRanAnywayAreRecordedAsSuperseded();
    void promptIdOfAnotherJobsAttemptIsAConflict();
};

void TstPoolFailover::killedBackendsJobsFinishElsewhere()
{
    PoolEnv env(3, [](Config &c) { c.backends[0].maxInFlight = 2; });
    QVERIFY(env.ok());
    const Held h = holdTwoOnGpu0(env);
    QVERIFY(!h.running.isEmpty());

    kill(env.fake(0));
    QVERIFY(env.waitState(h.queued, u"succeeded"_s));
    QVERIFY(env.waitState(h.running, u"succeeded"_s));
    // The queued one was taken back (it never started); the running one ran again elsewhere: attempt 2.
    const QJsonObject queued = env.job(h.queued), running = env.job(h.running);
    QCOMPARE(queued[u"attempts"_s].toArray().size(), 2);
    QCOMPARE(attemptBackend(queued, 0), u"gpu0"_s);
    QCOMPARE(outcome(queued, 0), u"taken_back"_s);
    QCOMPARE(outcome(queued, 1), u"succeeded"_s);
    QVERIFY(attemptBackend(queued, 1) != u"gpu0"_s);
    QCOMPARE(promptOf(queued, 0), h.queued);
    QVERIFY(promptOf(queued, 1) != h.queued); // a fresh prompt id, mapped back to the job
    QCOMPARE(queued[u"id"_s].toString(), h.queued);
    QCOMPARE(running[u"attempts"_s].toArray().size(), 2);
    QCOMPARE(outcome(running, 0), u"backend_lost"_s);
    QVERIFY2(running[u"attempts"_s][0][u"reason"_s].toString().contains(u"gpu0"_s), "the reason names the backend");
    QCOMPARE(outcome(running, 1), u"succeeded"_s);
    QCOMPARE(running[u"backend"_s].toString(), attemptBackend(running, 1));
    QCOMPARE(running[u"outputs"_s].toArray().size(), 1);
    // The outputs come from the backend that made them.
    const HttpResult file = env.call("GET", u"/api/v1/jobs/%1/outputs/0"_s.arg(h.running));
    QCOMPARE(file.status, 200);
    QVERIFY(file.body.startsWith("\x89PNG"));
    QSet<QString> elsewhere;
    for (int i = 1; i < 3; ++i)
        for (const QString &p : env.fake(i).acceptedPromptIds())
            elsewhere.insert(p);
    QVERIFY(elsewhere.contains(promptOf(queued, 1)) && elsewhere.contains(promptOf(running, 1)));

    // gpu0 comes back: what was taken from it is deleted there (so it never runs twice), and it gets work.
    env.fake(0).setRefuseConnections(false);
    QTRY_VERIFY_WITH_TIMEOUT(env.fake(0).deleteRequests().contains(h.queued), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(env.fake(0).interruptRequests().contains(h.running), 5000);
    QVERIFY(!env.fake(0).historyIds().contains(h.queued));
    QTRY_VERIFY_WITH_TIMEOUT(env.backend(u"gpu0"_s)->isConnected(), 5000);
    env.fake(0).setSteps(2);
    const QString back = env.submit({{u"backend"_s, u"gpu0"_s}});
    QVERIFY(env.waitState(back, u"succeeded"_s));
    QCOMPARE(env.job(back)[u"backend"_s].toString(), u"gpu0"_s);
}

void TstPoolFailover::runningJobFailsWhenNoAttemptIsLeft()
{
    PoolEnv env(3, [](Config &c) {
        c.backends[0].maxInFlight = 2;
        c.jobs.maxAttempts = 1;
    });
    QVERIFY(env.ok());
    const Held h = holdTwoOnGpu0(env);
    QVERIFY(!h.running.isEmpty());
    kill(env.fake(0));
    QVERIFY(env.waitState(h.running, u"failed"_s));
    const QJsonObject running = env.job(h.running);
    QVERIFY2(running[u"reason"_s].toString().contains(u"max_attempts"_s), qPrintable(running[u"reason"_s].toString()));
    QVERIFY(running[u"reason"_s].toString().contains(u"gpu0"_s));
    QCOMPARE(running[u"attempts"_s].toArray().size(), 1);
    QCOMPARE(outcome(running, 0), u"backend_lost"_s);
    // The queued one never started: taking it back does not count as a run.
    QVERIFY(env.waitState(h.queued, u"succeeded"_s));
    QCOMPARE(env.job(h.queued)[u"attempts"_s].toArray().size(), 2);
    QCOMPARE(env.fake(1).promptCount() + env.fake(2).promptCount(), 1);
}

void TstPoolFailover::restartWithJobsWaitingLosesNoneRunsNoneTwice()
{
    PoolEnv env(2);
    QVERIFY(env.ok());
    for (int i = 0; i < 2; ++i) {
        env.fake(i).setSteps(30);
        env.fake(i).setStepIntervalMs(20);
    }
    QStringList ids;
    for (int i = 0; i < 6; ++i)
        ids << env.submit({{u"priority"_s, i % 2}});
    QCOMPARE(env.service().jobs()->waitingCount(), 4);
    env.stopService(); // two handed over, four waiting in the runner's queue
    QVERIFY(env.start());
    for (const QString &id : std::as_const(ids))
        QVERIFY2(env.waitState(id, u"succeeded"_s), qPrintable(id));
    QCOMPARE(env.totalPrompts(), 6);
    QSet<QString> accepted;
    for (int i = 0; i < 2; ++i)
        for (const QString &p : env.fake(i).acceptedPromptIds())
            accepted.insert(p);
    QCOMPARE(accepted, QSet<QString>(ids.cbegin(), ids.cend()));
    for (const QString &id : std::as_const(ids))
        QCOMPARE(env.job(id)[u"attempts"_s].toArray().size(), 1);
}

void TstPoolFailover::cancelFollowsTheJob()
{
    PoolEnv env(3, [](Config &c) { c.backends[1].maxInFlight = 2; });
    QVERIFY(env.ok());
    env.fake(1).setSteps(500);
    env.fake(1).setStepIntervalMs(20);
    const QJsonObject onGpu1{{u"backend"_s, u"gpu1"_s}};
    const QString running = env.submit(onGpu1), handed = env.submit(onGpu1), waiting = env.submit(onGpu1);
    QVERIFY(env.waitRunning(1, running));
    QCOMPARE(env.fake(1).pendingPromptIds(), QStringList{handed});
    QCOMPARE(env.job(waiting)[u"queue_position"_s].toInt(), 1);

    // Waiting in the runner: cancelled at once, no ComfyUI hears of it.
    QCOMPARE(env.call("POST", u"/api/v1/jobs/%1/cancel"_s.arg(waiting)).status, 202);
    QVERIFY(env.waitState(waiting, u"cancelled"_s));
    QCOMPARE(env.job(waiting)[u"attempts"_s].toArray().size(), 0);
    // Handed over: deleted from gpu1's queue.
    QCOMPARE(env.call("POST", u"/api/v1/jobs/%1/cancel"_s.arg(handed)).status, 202);
    QVERIFY(env.waitState(handed, u"cancelled"_s));
    QVERIFY(env.fake(1).deleteRequests().contains(handed));
    QVERIFY(!env.fake(1).historyIds().contains(handed));
    // Running: a targeted interrupt at gpu1.
    QCOMPARE(env.call("POST", u"/api/v1/jobs/%1/cancel"_s.arg(running)).status, 202);
    QVERIFY(env.waitState(running, u"cancelled"_s));
    QVERIFY(env.fake(1).interruptRequests().contains(running));
    QVERIFY(!env.fake(1).interruptRequests().contains(QString())); // never a global interrupt
    for (int other : {0, 2}) {
        QVERIFY(env.fake(other).deleteRequests().isEmpty());
        QVERIFY(env.fake(other).interruptRequests().isEmpty());
        QCOMPARE(env.fake(other).promptCount(), 0);
    }
    QVERIFY(!env.fake(1).deleteRequests().contains(waiting));
    QCOMPARE(env.fake(1).promptCount(), 2); // the waiting job never reached it
}

void TstPoolFailover::readyWhileOneBackendIs()
{
    PoolEnv env;
    QVERIFY(env.ok());
    kill(env.fake(0));
    kill(env.fake(1));
    QTRY_VERIFY_WITH_TIMEOUT(!env.backend(u"gpu1"_s)->isConnected(), 5000);
    QCOMPARE(env.call("GET", u"/api/v1/ready"_s).status, 200);
    kill(env.fake(2));
    QTRY_COMPARE_WITH_TIMEOUT(env.call("GET", u"/api/v1/ready"_s).status, 503, 5000);
    HttpResult r = env.call("GET", u"/api/v1/ready"_s);
    QVERIFY2(r.body.contains("no ComfyUI backend is connected"), r.body.constData());
    // A job waits rather than failing while every backend is away, and runs when one comes back.
    const HttpResult posted = env.post({});
    QCOMPARE(posted.status, 202);
    QCOMPARE(posted.json()[u"state"_s].toString(), u"queued"_s);
    env.fake(2).setRefuseConnections(false);
    QVERIFY(env.waitState(posted.json()[u"id"_s].toString(), u"succeeded"_s));
    QCOMPARE(env.call("GET", u"/api/v1/ready"_s).status, 200);
}

// The legacy POST /interrupt cancels every job of this service, each at its own backend, never globally.
void TstPoolFailover::legacyInterruptReachesEveryBackendOfItsJobs()
{
    PoolEnv env;
    QVERIFY(env.ok());
    for (int i = 0; i < 3; ++i) {
        env.fake(i).setSteps(500);
        env.fake(i).setStepIntervalMs(20);
    }
    const QString a = env.submit({{u"backend"_s, u"gpu0"_s}}), b = env.submit({{u"backend"_s, u"gpu2"_s}});
    const QString waiting = env.submit({{u"backend"_s, u"gpu2"_s}});
    QVERIFY(env.waitRunning(0, a) && env.waitRunning(2, b));
    QCOMPARE(env.call("POST", u"/interrupt"_s).status, 200);
    for (const QString &id : {a, b, waiting})
        QVERIFY(env.waitState(id, u"cancelled"_s));
    QVERIFY(env.fake(0).interruptRequests().contains(a));
    QVERIFY(env.fake(2).interruptRequests().contains(b));
    QVERIFY(!env.fake(0).interruptRequests().contains(b) && !env.fake(2).interruptRequests().contains(a));
    QVERIFY(env.fake(1).interruptRequests().isEmpty());
    for (int i = 0; i < 3; ++i)
        QVERIFY(!env.fake(i).interruptRequests().contains(QString()));
    QCOMPARE(env.fake(2).promptCount(), 1); // the waiting one never reached it
}

// POST /api/v1/jobs waits for ComfyUI's acknowledgement; when the backend goes away before it comes (its HTTP
// stalls, then it is unreachable), the job is taken back and the submitter still gets an answer: the job,
// accepted, run elsewhere.
void TstPoolFailover::submitterIsAnsweredWhenTheBackendDropsMeanwhile()
{
    PoolEnv env;
    QVERIFY(env.ok());
    env.backend(u"gpu1"_s)->setDraining(true);
    env.backend(u"gpu2"_s)->setDraining(true);
    env.fake(0).setStallHttp(true);
    QNetworkAccessManager nam;
    QNetworkRequest req(QUrl(u"http://127.0.0.1:%1/api/v1/jobs"_s.arg(env.service().httpPort())));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("application/json"));
    QNetworkReply *reply = nam.post(req, QByteArray(R"({"workflow": "sd15"})"));
    QTRY_COMPARE_WITH_TIMEOUT(env.backend(u"gpu0"_s)->inFlight(), 1, 5000); // handed over, no answer yet
    QVERIFY(!reply->isFinished());
    kill(env.fake(0));
    env.backend(u"gpu1"_s)->setDraining(false);
    QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
    const HttpResult r = ApiTestEnv::collect(reply);
    reply->deleteLater();
    QCOMPARE(r.status, 202);
    const QString id = r.json()[u"id"_s].toString();
    QVERIFY(env.waitState(id, u"succeeded"_s));
    const QJsonObject job = env.job(id);
    QCOMPARE(outcome(job, 0), u"taken_back"_s);
    QCOMPARE(attemptBackend(job, 1), u"gpu1"_s);
    QCOMPARE(env.call("GET", u"/api/v1/jobs"_s).json()[u"total"_s].toInt(), 1);
}

// A backend that was only cut off (not dead) ran on: the prompt it was running finished there, the one queued
// there started. Both ran again elsewhere; when it comes back, both old attempts are recorded as superseded
// and the one still running there is interrupted.
void TstPoolFailover::promptsThatRanAnywayAreRecordedAsSuperseded()
{
    PoolEnv env(3, [](Config &c) { c.backends[0].maxInFlight = 2; });
    QVERIFY(env.ok());
    env.fake(0).setSteps(40);
    env.fake(0).setStepIntervalMs(20);
    env.backend(u"gpu1"_s)->setDraining(true);
    env.backend(u"gpu2"_s)->setDraining(true);
    const QString running = env.submit();
    const QString queued = env.submit({{u"inputs"_s, QJsonObject{{u"6.text"_s, u"another graph"_s}}}}); // not cached
    QVERIFY(env.waitRunning(0, running));
    env.fake(0).setSteps(500); // the queued one, once it starts there, runs long
    env.backend(u"gpu1"_s)->setDraining(false);
    env.backend(u"gpu2"_s)->setDraining(false);
    cutOff(env.fake(0));
    QVERIFY(env.waitState(running, u"succeeded"_s));
    QVERIFY(env.waitState(queued, u"succeeded"_s));
    QVERIFY(env.waitRunning(0, queued)); // cut off, gpu0 went on with its own queue
    QVERIFY(env.fake(0).historyIds().contains(running));
    QVERIFY(env.fake(0).deleteRequests().isEmpty()); // nothing reached it meanwhile
    reconnect(env.fake(0));
    QTRY_COMPARE_WITH_TIMEOUT(outcome(env.job(queued), 0), u"superseded"_s, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(outcome(env.job(running), 0), u"superseded"_s, 5000);
    QCOMPARE(outcome(env.job(queued), 1), u"succeeded"_s); // the job's result is the other backend's
    QTRY_VERIFY_WITH_TIMEOUT(env.fake(0).interruptRequests().contains(queued), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(env.fake(0).runningPromptId().isEmpty(), 5000);
    QCOMPARE(env.job(queued)[u"state"_s].toString(), u"succeeded"_s);
}

QTEST_GUILESS_MAIN(TstPoolFailover)
#include "tst_poolfailover.moc"

// A caller-supplied prompt_id that is the prompt of another job's later attempt (shown in its attempts) is
// refused like one that is another job's id: taken, it would map that prompt's events to the wrong job.
void TstPoolFailover::promptIdOfAnotherJobsAttemptIsAConflict()
{
    PoolEnv env(3, [](Config &c) { c.backends[0].maxInFlight = 2; });
    QVERIFY(env.ok());
    const Held h = holdTwoOnGpu0(env);
    QVERIFY(!h.running.isEmpty());
    kill(env.fake(0));
    QVERIFY(env.waitState(h.queued, u"succeeded"_s));
    const QString second = promptOf(env.job(h.queued), 1);
    QVERIFY(!second.isEmpty() && second != h.queued);

    const HttpResult r = env.post({{u"prompt_id"_s, second.toUpper()}});
    QCOMPARE(r.status, 409);
    QCOMPARE(r.json()[u"error"_s][u"code"_s].toString(), u"job_conflict"_s);
    QCOMPARE(env.job(h.queued)[u"state"_s].toString(), u"succeeded"_s);
}
