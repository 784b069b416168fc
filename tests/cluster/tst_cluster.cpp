// Several comfy-runner processes sharing one PostgreSQL (tst_cluster_pg, scripts/pg-test-cluster.sh) against
// fake ComfyUIs: every job runs exactly once, waiting jobs are claimed by the runner with room, a killed
// runner's jobs are taken over after its lease and followed (not re-run), any runner answers for any job
// and cancels it, runners racing one client_ref make one job, and a database restart loses nothing.
// On SQLite (tst_cluster) the one-runner case of the same suite runs; the multi-runner cases skip.

#include "sim/fakecomfy.h"
#include "tests/support/runnerprocess.h"
#include "tests/support/teststore.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace cr;
using test::RunnerProcess;

namespace {

struct BackendSpec {
    sim::FakeComfy *fake;
    int maxInFlight = 2;
};

} // namespace

class TstCluster : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void everyJobRunsOnceAcrossRunners();
    void aWaitingJobIsClaimedByTheRunnerWithRoom();
    void killedRunnersJobsAreTakenOver();
    void anyRunnerAnswersAndCancels();
    void runnersRacingOneClientRefMakeOneJob();
    void databaseRestartMidRun();

private:
    sim::FakeComfy *newFake(int steps, int stepMs)
    {
        auto fake = std::make_unique<sim::FakeComfy>();
        if (!fake->listen())
            return nullptr;
        fake->setSteps(steps);
        fake->setStepIntervalMs(stepMs);
        fake->setPreviewsEnabled(false);
        m_fakes.push_back(std::move(fake));
        return m_fakes.back().get();
    }
    // A runner named `node` with its own data folder and `backend`; nullptr (test failed) when it did not start.
    RunnerProcess *startRunner(const QString &node, const BackendSpec &backend, int leaseS = 1)
    {
        auto r = std::make_unique<RunnerProcess>(QStringLiteral(CR_RUNNER_EXE),
                                                 m_dir.filePath(node + QStringLiteral(".toml")), m_store.password());
        const QString toml
            = QStringLiteral(
                  "[comfy]\nworkflow = \"sd15_txt2img\"\nping_interval = 0.2\nreconnect_max = 0.5\n\n"
                  "[[backends]]\nname = \"gpu\"\nurl = \"%1\"\nmax_in_flight = %2\n\n"
                  "[http-server]\nhost = \"127.0.0.1\"\nport = 0\n\n[server]\nhost = \"127.0.0.1\"\nws_port = 0\n\n"
                  "[jobs]\nkeep = 5000\n\n[paths]\nworkflows = \"%3\"\ndata = \"%4\"\n\n"
                  "[store]\nurl = \"%5\"\n\n[cluster]\nnode = \"%6\"\nlease = %7\n"
                  "[log]\nrules = \"comfyrunner.api.info=false\"\n")
                  .arg(backend.fake->httpUrl().toString())
                  .arg(backend.maxInFlight)
                  .arg(QStringLiteral(CR_SOURCE_DIR "/workflows"), m_dir.filePath(node), m_store.configUrl(), node)
                  .arg(leaseS);
        QString why;
        if (!r->start(toml, true, &why)) {
            qWarning().noquote() << "runner" << node << "did not start:" << why;
            return nullptr;
        }
        // "ready" is the service; its backend can take a job once connected with its node catalogue read.
        // Before that a job submitted here waits in the cluster's queue and another runner may claim it.
        RunnerProcess *p = r.get();
        const bool routable = QTest::qWaitFor(
            [p] {
                const QJsonObject gpu = p->call("GET", QStringLiteral("/api/v1/backends"))
                                            .json.value(QLatin1String("backends"))
                                            .toArray()
                                            .first()
                                            .toObject();
                return gpu.value(QLatin1String("connected")).toBool()
                    && gpu.value(QLatin1String("capabilities_known")).toBool();
            },
            10000);
        if (!routable) {
            qWarning().noquote() << "runner" << node << "has no routable backend:" << p->log().right(3000);
            return nullptr;
        }
        m_runners.push_back(std::move(r));
        return m_runners.back().get();
    }
    static QString jobState(RunnerProcess *r, const QString &id)
    {
        return r->call("GET", QStringLiteral("/api/v1/jobs/") + id).json.value(QLatin1String("state")).toString();
    }
    static QJsonObject workflowJob(const QString &ref = {})
    {
        QJsonObject o{{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}};
        if (!ref.isEmpty())
            o.insert(QStringLiteral("client_ref"), ref);
        return o;
    }
    static int totalIn(RunnerProcess *r, const QString &state)
    {
        return r->call("GET", QStringLiteral("/api/v1/jobs?limit=1&state=") + state)
            .json.value(QLatin1String("total"))
            .toInt(-1);
    }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
    std::vector<std::unique_ptr<sim::FakeComfy>> m_fakes;
    std::vector<std::unique_ptr<RunnerProcess>> m_runners;
};

void TstCluster::init()
{
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
}

void TstCluster::cleanup()
{
    m_runners.clear();
    m_fakes.clear();
}

// 600 jobs submitted round-robin to 3 runners (1 on SQLite), each with a zero-time ComfyUI of its own: every
// job succeeds exactly once, every runner reports all 600, and the ComfyUIs saw 600 prompts, each job's once.
void TstCluster::everyJobRunsOnceAcrossRunners()
{
    const int runnerCount = test::TestStore::isPostgres() ? 3 : 1;
    const int jobCount = 600;
    QList<RunnerProcess *> runners;
    for (int i = 0; i < runnerCount; ++i) {
        sim::FakeComfy *fake = newFake(1, 0);
        QVERIFY(fake);
        RunnerProcess *r = startRunner(QStringLiteral("r%1").arg(i), {fake, 2});
        QVERIFY(r);
        runners << r;
    }
    // Every submission in flight at once (QNetworkAccessManager keeps 6 connections per runner).
    QNetworkAccessManager nam;
    QSet<QString> ids;
    int answered = 0;
    for (int i = 0; i < jobCount; ++i) {
        QNetworkRequest req(
            QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/jobs").arg(runners.at(i % runnerCount)->httpPort())));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        QNetworkReply *reply = nam.post(req, QJsonDocument(workflowJob(QStringLiteral("ref-%1").arg(i))).toJson());
        connect(reply, &QNetworkReply::finished, this, [reply, &ids, &answered] {
            ++answered;
            const QString id = QJsonDocument::fromJson(reply->readAll()).object().value(QLatin1String("id")).toString();
            if (!id.isEmpty())
                ids.insert(id);
            reply->deleteLater();
        });
    }
    QTRY_COMPARE_WITH_TIMEOUT(answered, jobCount, 60000);
    QCOMPARE(int(ids.size()), jobCount);
    for (RunnerProcess *r : std::as_const(runners)) {
        const bool all = QTest::qWaitFor([&] { return totalIn(r, QStringLiteral("succeeded")) == jobCount; }, 60000);
        QVERIFY2(all, r->log().right(3000).constData());
    }
    int prompts = 0;
    QSet<QString> ran;
    for (const auto &fake : m_fakes) {
        prompts += fake->promptCount();
        for (const QString &p : fake->acceptedPromptIds())
            ran.insert(p);
    }
    QCOMPARE(prompts, jobCount);
    QCOMPARE(ran, ids); // attempt 1's prompt id is the job id: each job ran, once
}

// A job whose runner cannot run it now (its backend is draining) waits in the cluster's queue, and the other
// runner, whose backend has room, claims and runs it; the job names the runner that owns it.
void TstCluster::aWaitingJobIsClaimedByTheRunnerWithRoom()
{
    if (!test::TestStore::isPostgres())
        QSKIP("several runners: PostgreSQL only (tst_cluster_pg)");
    sim::FakeComfy *fa = newFake(1, 0), *fb = newFake(1, 0);
    RunnerProcess *a = startRunner(QStringLiteral("a"), {fa, 2});
    RunnerProcess *b = startRunner(QStringLiteral("b"), {fb, 2});
    QVERIFY(a && b);
    QCOMPARE(a->call("POST", QStringLiteral("/api/v1/backends/gpu/drain")).status, 200);
    const test::RunnerReply queued = a->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob());
    QCOMPARE(queued.status, 202);
    const QString id = queued.json.value(QLatin1String("id")).toString();
    QTRY_COMPARE_WITH_TIMEOUT(jobState(a, id), QStringLiteral("succeeded"), 15000);
    const QJsonObject done = a->call("GET", QStringLiteral("/api/v1/jobs/") + id).json;
    QCOMPARE(done.value(QLatin1String("node")).toString(), QStringLiteral("b"));
    QCOMPARE(done.value(QLatin1String("live_url")).toString(),
             QStringLiteral("ws://%1:%2/").arg(QSysInfo::machineHostName()).arg(b->relayPort()));
    QCOMPARE(fa->promptCount(), 0);
    QCOMPARE(fb->acceptedPromptIds(), QStringList{id});
}

// Runner a is killed (SIGKILL) while its ComfyUI runs one of its jobs and holds another: after a's lease
// ends, runner b (same ComfyUI URL) takes both over and follows them by prompt id; the job that waited in
// the cluster's queue is claimed by b. Every job succeeds and ComfyUI ran each once.
void TstCluster::killedRunnersJobsAreTakenOver()
{
    if (!test::TestStore::isPostgres())
        QSKIP("several runners: PostgreSQL only (tst_cluster_pg); a restarted runner: tst_standby");
    sim::FakeComfy *fake = newFake(40, 25);
    RunnerProcess *a = startRunner(QStringLiteral("a"), {fake, 2});
    RunnerProcess *b = startRunner(QStringLiteral("b"), {fake, 2});
    QVERIFY(a && b);
    QCOMPARE(b->call("POST", QStringLiteral("/api/v1/backends/gpu/drain")).status, 200);
    QStringList ids;
    for (int i = 0; i < 3; ++i) {
        const test::RunnerReply r = a->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob());
        QVERIFY2(r.status == 202, QJsonDocument(r.json).toJson().constData());
        ids << r.json.value(QLatin1String("id")).toString();
    }
    QTRY_COMPARE_WITH_TIMEOUT(fake->runningPromptId(), ids.at(0), 10000);
    QCOMPARE(fake->acceptedPromptIds(), ids.mid(0, 2)); // a holds two; the third waits in the cluster
    a->kill();
    QCOMPARE(b->call("POST", QStringLiteral("/api/v1/backends/gpu/resume")).status, 200);
    for (const QString &id : std::as_const(ids))
        QTRY_COMPARE_WITH_TIMEOUT(jobState(b, id), QStringLiteral("succeeded"), 30000);
    QCOMPARE(fake->promptCount(), 3); // followed, not sent again
    for (const QString &id : std::as_const(ids))
        QCOMPARE(b->call("GET", QStringLiteral("/api/v1/jobs/") + id).json.value(QLatin1String("node")).toString(),
                 QStringLiteral("b"));
    QVERIFY2(b->log().contains("took over job " + ids.at(0).toUtf8()), b->log().constData());
}

// A job owned by runner a is visible on runner b at once (GET, the list, a waiting client_ref duplicate
// with "wait"), and b cancels it: the cancel reaches a through the database and ComfyUI interrupts it.
void TstCluster::anyRunnerAnswersAndCancels()
{
    if (!test::TestStore::isPostgres())
        QSKIP("several runners: PostgreSQL only (tst_cluster_pg)");
    sim::FakeComfy *fa = newFake(400, 25), *fb = newFake(1, 0);
    RunnerProcess *a = startRunner(QStringLiteral("a"), {fa, 1}, 5);
    RunnerProcess *b = startRunner(QStringLiteral("b"), {fb, 1}, 5);
    QVERIFY(a && b);
    const test::RunnerReply created
        = a->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob(QStringLiteral("order-1")));
    QCOMPARE(created.status, 202);
    const QString id = created.json.value(QLatin1String("id")).toString();
    QTRY_COMPARE_WITH_TIMEOUT(jobState(b, id), QStringLiteral("running"), 10000);
    const QJsonObject seen = b->call("GET", QStringLiteral("/api/v1/jobs/") + id).json;
    QCOMPARE(seen.value(QLatin1String("node")).toString(), QStringLiteral("a"));
    QCOMPARE(totalIn(b, QStringLiteral("running")), 1);
    // The same client_ref through b: the existing job, nothing submitted.
    const test::RunnerReply again
        = b->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob(QStringLiteral("order-1")));
    QCOMPARE(again.json.value(QLatin1String("id")).toString(), id);
    QCOMPARE(fb->promptCount(), 0);

    const test::RunnerReply cancel = b->call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(id));
    QVERIFY2(cancel.status == 202, QJsonDocument(cancel.json).toJson().constData());
    QCOMPARE(cancel.json.value(QLatin1String("cancel_requested")).toBool(), true);
    QTRY_COMPARE_WITH_TIMEOUT(jobState(b, id), QStringLiteral("cancelled"), 10000);
    QCOMPARE(jobState(a, id), QStringLiteral("cancelled"));
    QVERIFY(fa->interruptRequests().contains(id) || fa->deleteRequests().contains(id));
}

// Two runners get the same client_ref at the same moment: one job (the unique index decides), both answers
// name it, and one prompt reached a ComfyUI.
void TstCluster::runnersRacingOneClientRefMakeOneJob()
{
    if (!test::TestStore::isPostgres())
        QSKIP("several runners: PostgreSQL only (tst_cluster_pg)");
    sim::FakeComfy *fa = newFake(1, 0), *fb = newFake(1, 0);
    RunnerProcess *a = startRunner(QStringLiteral("a"), {fa, 2});
    RunnerProcess *b = startRunner(QStringLiteral("b"), {fb, 2});
    QVERIFY(a && b);
    QNetworkAccessManager nam;
    for (int round = 0; round < 20; ++round) {
        const QString ref = QStringLiteral("race-%1").arg(round);
        QStringList answers;
        for (RunnerProcess *r : {a, b}) {
            QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/jobs").arg(r->httpPort())));
            req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
            QNetworkReply *reply = nam.post(req, QJsonDocument(workflowJob(ref)).toJson());
            connect(reply, &QNetworkReply::finished, this, [reply, &answers] {
                answers << QJsonDocument::fromJson(reply->readAll()).object().value(QLatin1String("id")).toString();
                reply->deleteLater();
            });
        }
        QTRY_COMPARE_WITH_TIMEOUT(answers.size(), 2, 10000);
        QVERIFY2(!answers.at(0).isEmpty() && answers.at(0) == answers.at(1), qPrintable(answers.join(u' ')));
    }
    QTRY_COMPARE_WITH_TIMEOUT(totalIn(a, QStringLiteral("succeeded")), 20, 10000);
    QCOMPARE(fa->promptCount() + fb->promptCount(), 20);
}

// PostgreSQL restarts while runner a's job runs: the job goes on and ends; a writes it once the database is
// back, b learns it, and both take new jobs again. Nothing ran twice.
void TstCluster::databaseRestartMidRun()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_cluster_pg): an SQLite file does not restart");
    const QString restart = qEnvironmentVariable("CR_TEST_PG_RESTART");
    QVERIFY2(!restart.isEmpty(), "CR_TEST_PG_RESTART (scripts/pg-test-cluster.sh)");
    sim::FakeComfy *fa = newFake(40, 20), *fb = newFake(1, 0);
    RunnerProcess *a = startRunner(QStringLiteral("a"), {fa, 2}, 30);
    RunnerProcess *b = startRunner(QStringLiteral("b"), {fb, 2}, 30);
    QVERIFY(a && b);
    const test::RunnerReply created = a->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob());
    const QString id = created.json.value(QLatin1String("id")).toString();
    QTRY_COMPARE_WITH_TIMEOUT(fa->runningPromptId(), id, 10000);
    QCOMPARE(QProcess::execute(restart, {QStringLiteral("stop")}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(jobState(a, id), QStringLiteral("succeeded"), 15000);
    QCOMPARE(a->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob()).status, 503); // store_unavailable
    QCOMPARE(QProcess::execute(restart, {QStringLiteral("start")}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(jobState(b, id), QStringLiteral("succeeded"), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(a->call("GET", QStringLiteral("/api/v1/ready")).status, 200, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(b->call("GET", QStringLiteral("/api/v1/ready")).status, 200, 30000);
    const test::RunnerReply later = b->call("POST", QStringLiteral("/api/v1/jobs"), workflowJob());
    QVERIFY2(later.status == 202 || later.status == 200, QJsonDocument(later.json).toJson().constData());
    const QString next = later.json.value(QLatin1String("id")).toString();
    QTRY_COMPARE_WITH_TIMEOUT(jobState(a, next), QStringLiteral("succeeded"), 15000);
    QCOMPARE(fa->promptCount(), 1);
}

QTEST_GUILESS_MAIN(TstCluster)
#include "tst_cluster.moc"
