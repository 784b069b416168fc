// JobManager and JobStore against the fake ComfyUI: states and outputs, idempotent client refs, cancel,
// lossless storage, and a service restart in the middle of a run (the job is picked up again, or marked
// lost when ComfyUI forgot it). Runs on SQLite (tst_jobs) and on PostgreSQL (tst_jobs_pg), see TestStore.

#include "core/jobs/jobmanager.h"
#include "core/jobs/jobstore.h"
#include "sim/fakecomfy.h"
#include "tests/support/teststore.h"

#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

namespace {

QJsonObject workflow()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

} // namespace

class TstJobs : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void lifecycleAndOutputs();
    void clientRefIsIdempotent();
    void cancelQueuedAndFinished();
    void storeRoundTrip();
    void restartMidRunResumes();
    void restartAfterComfyForgotIsLost();
    void eventsBeforeTheAnswerArePublishedInOrder();
    void cancelWhileSubmitting();
    void submitTimeoutKeepsTheJob();
    void rejectedSubmissionLeavesNoTrace();
    void duplicateClientRefWaitsForTheFirstOutcome();
    void callbackDroppedWithItsContext();
    void submissionAnsweredAfterTheManagerWent();
    void maxJobTimeInterruptsAHungRun();
    void aJobTheStoreCannotKeepIsRefused();
    void databaseLostMidRun();
    void storesShareADatabase();

private:
    struct Runtime {
        std::unique_ptr<ComfyClient> comfy;
        std::unique_ptr<JobStore> store;
        std::unique_ptr<JobManager> jobs;
    };
    Runtime startRuntime(int requestTimeoutMs = 30000)
    {
        Runtime r;
        ComfySettings s;
        s.url = m_fake->httpUrl();
        s.requestTimeoutMs = requestTimeoutMs;
        s.pingIntervalMs = 100;
        s.reconnectMaxMs = 200;
        r.comfy = std::make_unique<ComfyClient>(s, QStringLiteral("jobs-test"));
        r.store = m_store.open();
        r.jobs = std::make_unique<JobManager>(r.comfy.get(), r.store.get());
        r.jobs->restore();
        r.comfy->start();
        return r;
    }
    QString submit(JobManager &jobs, const QString &ref = {})
    {
        QString id;
        jobs.submit({QStringLiteral("sd15_txt2img"), workflow(), ref},
                    [&id](Result<Job> r, bool) { id = r ? r->id : QStringLiteral("error"); });
        return QTest::qWaitFor([&id] { return !id.isEmpty(); }, 5000) ? id : QString();
    }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
    std::unique_ptr<sim::FakeComfy> m_fake;
};

void TstJobs::init()
{
    QVERIFY(m_dir.isValid());
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
    m_fake = std::make_unique<sim::FakeComfy>();
    QVERIFY(m_fake->listen());
    m_fake->setSteps(3);
    m_fake->setStepIntervalMs(5);
    m_fake->setPreviewSize(32);
}

void TstJobs::cleanup() { m_fake.reset(); }

void TstJobs::lifecycleAndOutputs()
{
    Runtime rt = startRuntime();
    QSignalSpy started(rt.jobs.get(), &JobManager::jobStarted);
    QSignalSpy finished(rt.jobs.get(), &JobManager::jobFinished);
    const QString id = submit(*rt.jobs);
    QVERIFY(!id.isEmpty() && id != QLatin1String("error"));
    QCOMPARE(rt.jobs->find(id)->state == JobState::Queued || rt.jobs->find(id)->state == JobState::Running, true);
    QVERIFY(finished.wait(10000));
    QCOMPARE(started.count(), 1);
    const Job *job = rt.jobs->find(id);
    QCOMPARE(job->state, JobState::Succeeded);
    QCOMPARE(job->outputs.size(), 1);
    QCOMPARE(job->progress.value, job->progress.max);
    QCOMPARE(job->progress.max, 3.0);
    QCOMPARE(job->progress.nodeClass, QStringLiteral("KSampler"));
    QVERIFY(job->startedAt.isValid() && job->finishedAt >= job->startedAt);
    QCOMPARE(rt.jobs->activeCount(), 0);
    const JobPage page = rt.jobs->list({JobState::Succeeded, {}, 0, 10});
    QCOMPARE(page.total, 1);
    QCOMPARE(page.jobs.first().id, id);
}

void TstJobs::clientRefIsIdempotent()
{
    Runtime rt = startRuntime();
    const QString a = submit(*rt.jobs, QStringLiteral("order-17"));
    const QString b = submit(*rt.jobs, QStringLiteral("order-17"));
    QCOMPARE(a, b);
    QCOMPARE(m_fake->promptCount(), 1);
}

void TstJobs::cancelQueuedAndFinished()
{
    Runtime rt = startRuntime();
    QCOMPARE(rt.jobs->cancel(QStringLiteral("nope"))->code, QStringLiteral("job_not_found"));
    m_fake->setSteps(200);
    const QString running = submit(*rt.jobs);
    const QString queued = submit(*rt.jobs);
    QTRY_COMPARE_WITH_TIMEOUT(m_fake->pendingPromptIds(), QStringList{queued}, 5000);
    QVERIFY(!rt.jobs->cancel(queued));
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(queued)->state, JobState::Cancelled, 5000);
    QCOMPARE(rt.jobs->cancelAll(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(running)->state, JobState::Cancelled, 5000);
    QCOMPARE(rt.jobs->cancel(running)->code, QStringLiteral("job_conflict"));
    QCOMPARE(m_fake->interruptRequests().count(QString()), 0); // never global
}

void TstJobs::storeRoundTrip()
{
    Job job;
    job.id = QStringLiteral("abc");
    job.clientRef = QStringLiteral("ref");
    job.workflow = QStringLiteral("wf");
    job.graph = workflow();
    job.state = JobState::Failed;
    job.createdAt = QDateTime::fromString(QStringLiteral("2026-01-02T03:04:05.678Z"), Qt::ISODateWithMs);
    job.startedAt = job.createdAt.addSecs(1);
    job.finishedAt = job.createdAt.addSecs(2);
    job.progress = {QStringLiteral("3"), QStringLiteral("KSampler"), 4, 20};
    job.outputs
        = {{QStringLiteral("9"),
            {QStringLiteral("images"), QStringLiteral("a b.png"), QStringLiteral("sub"), QStringLiteral("output")}}};
    protocol::ExecutionErrorEvent err;
    err.nodeId = QStringLiteral("8");
    err.exceptionMessage = QStringLiteral("boom\n");
    err.traceback = {QStringLiteral("line 1")};
    job.comfyError = err;
    job.reason = QStringLiteral("boom");
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        QVERIFY2(store->isOpen(), qPrintable(store->error()));
        CR_VERIFY_OK(store->save(job));
        job.state = JobState::Lost; // replace
        CR_VERIFY_OK(store->save(job));
    }
    const std::unique_ptr<JobStore> again = m_store.open();
    const QList<Job> loaded = again->loadAll();
    QCOMPARE(loaded.size(), 1);
    const Job &l = loaded.first();
    QCOMPARE(l.state, JobState::Lost);
    QCOMPARE(l.graph, job.graph);
    QCOMPARE(l.createdAt, job.createdAt);
    QCOMPARE(l.outputs, job.outputs);
    QCOMPARE(l.comfyError->traceback, err.traceback);
    QCOMPARE(l.comfyError->exceptionMessage, err.exceptionMessage);
    QCOMPARE(JobStore::toJson(l), JobStore::toJson(job));

    // A store that cannot be opened says why, and every write is an error value (never a silent loss).
    StoreUrl unreachable = m_store.url();
    if (test::TestStore::isPostgres())
        unreachable.port = 1; // nothing listens there
    else
        unreachable.sqlitePath = QStringLiteral("/nonexistent-dir/x/jobs.sqlite");
    JobStore broken(unreachable, m_store.password());
    QVERIFY(!broken.isOpen());
    QVERIFY(!broken.error().isEmpty());
    const StoreResult failed = broken.create(job);
    QVERIFY(!failed);
    QCOMPARE(failed.error().code, QStringLiteral("store_unavailable"));
    QVERIFY(!broken.update(job));
    QVERIFY(!broken.remove(job.id));
    QVERIFY(!broken.prune({job.id}, {}, 10));
    if (test::TestStore::isPostgres()) {
        // A wrong password is refused, and the message never holds the password.
        const QString wrong = QStringLiteral("wrong-password-4711");
        JobStore refused(m_store.url(), wrong);
        QVERIFY(!refused.isOpen());
        QVERIFY2(refused.error().contains(QLatin1String("password")), qPrintable(refused.error()));
        QVERIFY(!refused.error().contains(wrong));
        QVERIFY(!refused.error().contains(m_store.password()));
    }
}

void TstJobs::restartMidRunResumes()
{
    m_fake->setSteps(30);
    m_fake->setStepIntervalMs(20);
    QString id;
    {
        Runtime rt = startRuntime();
        QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
        id = submit(*rt.jobs);
        QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Running, 5000);
    } // the service stops mid-run
    Runtime rt = startRuntime();
    const Job *job = rt.jobs->find(id);
    QVERIFY(job);
    QVERIFY(!job->isFinished());
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Succeeded, 10000);
    QCOMPARE(rt.jobs->find(id)->outputs.size(), 1);
}

void TstJobs::restartAfterComfyForgotIsLost()
{
    m_fake->setSteps(500);
    QString id;
    {
        Runtime rt = startRuntime();
        id = submit(*rt.jobs);
        QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Running, 5000);
    }
    m_fake->restart(); // ComfyUI restarted too while the service was down
    Runtime rt = startRuntime();
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Lost, 10000);
    QVERIFY(!rt.jobs->find(id)->reason.isEmpty());
}

void TstJobs::eventsBeforeTheAnswerArePublishedInOrder()
{
    Runtime rt = startRuntime();
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    QStringList order;
    connect(rt.jobs.get(), &JobManager::jobQueued, this, [&order](const Job &) { order << QStringLiteral("queued"); });
    connect(rt.jobs.get(), &JobManager::jobStarted, this,
            [&order](const Job &) { order << QStringLiteral("started"); });
    connect(rt.jobs.get(), &JobManager::jobFinished, this,
            [&order](const Job &) { order << QStringLiteral("finished"); });
    // ComfyUI answers POST /prompt late: the whole run happens before the answer.
    m_fake->setResponseDelay(400);
    const QString id = submit(*rt.jobs);
    QVERIFY(!id.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(order.contains(QStringLiteral("finished")), 10000);
    QCOMPARE(order, (QStringList{QStringLiteral("queued"), QStringLiteral("started"), QStringLiteral("finished")}));
    QCOMPARE(rt.jobs->find(id)->state, JobState::Succeeded);
}

void TstJobs::cancelWhileSubmitting()
{
    Runtime rt = startRuntime();
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    m_fake->setSteps(200);
    m_fake->setResponseDelay(200);
    QString id;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), {}},
                    [&id](Result<Job> r, bool) { id = r ? r->id : QStringLiteral("error"); });
    // The job exists before ComfyUI answered; cancel it right away (by the id sent to ComfyUI: it is not
    // listed yet, as ComfyUI may still refuse it).
    QTRY_COMPARE_WITH_TIMEOUT(m_fake->promptCount(), 1, 5000);
    const QString early = m_fake->lastPromptBody().value(QStringLiteral("prompt_id")).toString();
    QVERIFY(rt.jobs->find(early));
    QCOMPARE(rt.jobs->list({}).total, 0);
    QVERIFY(!rt.jobs->cancel(early));
    QTRY_COMPARE_WITH_TIMEOUT(id, early, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Cancelled, 10000);
    QVERIFY(m_fake->deleteRequests().contains(id) || m_fake->interruptRequests().contains(id));
}

void TstJobs::submitTimeoutKeepsTheJob()
{
    Runtime rt = startRuntime(300);
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    m_fake->setResponseDelay(1000); // ComfyUI queues the prompt but answers after our timeout
    const QString id = submit(*rt.jobs);
    QVERIFY2(!id.isEmpty() && id != QLatin1String("error"), "a timed-out submission must still give a job");
    m_fake->setResponseDelay(0);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Succeeded, 15000);
    QCOMPARE(m_fake->promptCount(), 1);
}

void TstJobs::rejectedSubmissionLeavesNoTrace()
{
    Runtime rt = startRuntime();
    QJsonObject graph = workflow();
    graph.remove(QStringLiteral("4")); // dangling links: ComfyUI answers 400
    std::optional<Error> error;
    rt.jobs->submit({QStringLiteral("broken"), graph, QStringLiteral("ref-1")},
                    [&error](Result<Job> r, bool) { error = r ? Error() : r.error(); });
    QTRY_VERIFY_WITH_TIMEOUT(error.has_value(), 5000);
    QCOMPARE(error->code, QStringLiteral("comfy_validation"));
    QCOMPARE(rt.jobs->list({}).total, 0);
    QVERIFY(rt.store->loadAll().isEmpty());
    // The client_ref is free again.
    const QString id = submit(*rt.jobs, QStringLiteral("ref-1"));
    QVERIFY(!id.isEmpty() && id != QLatin1String("error"));
}

// A duplicate client_ref that arrives before ComfyUI answered the first submission gets the same outcome: the
// same error when ComfyUI refuses it (never a job id that is then dropped), the same job when it accepts it.
void TstJobs::duplicateClientRefWaitsForTheFirstOutcome()
{
    Runtime rt = startRuntime();
    QJsonObject broken = workflow();
    broken.remove(QStringLiteral("4")); // dangling links: ComfyUI answers 400
    QList<Result<Job>> answers;
    QList<bool> created;
    const auto collect = [&answers, &created](Result<Job> r, bool c) {
        answers.append(r);
        created.append(c);
    };
    rt.jobs->submit({QStringLiteral("broken"), broken, QStringLiteral("dup-1")}, collect);
    rt.jobs->submit({QStringLiteral("broken"), broken, QStringLiteral("dup-1")}, collect);
    QTRY_COMPARE_WITH_TIMEOUT(answers.size(), 2, 5000);
    for (const Result<Job> &r : answers) {
        QVERIFY2(!r, "a duplicate of a refused submission must not get a job");
        QCOMPARE(r.error().code, QStringLiteral("comfy_validation"));
    }
    QCOMPARE(m_fake->promptCount(), 1);
    QCOMPARE(rt.jobs->list({}).total, 0);

    answers.clear();
    created.clear();
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), QStringLiteral("dup-2")}, collect);
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), QStringLiteral("dup-2")}, collect);
    QTRY_COMPARE_WITH_TIMEOUT(answers.size(), 2, 5000);
    QVERIFY(answers.at(0) && answers.at(1));
    QCOMPARE(answers.at(1)->id, answers.at(0)->id);
    QCOMPARE(created, (QList<bool>{true, false}));
    QCOMPARE(m_fake->promptCount(), 2);
    QVERIFY(rt.jobs->find(answers.at(1)->id));
}

// A callback whose context is gone when ComfyUI answers is not called (the job itself is kept).
// ComfyUI's answer to a submission reaches the client's ComfyHttp, which outlives a JobManager built around a
// client it does not own: the answer must find nothing of the manager (under ASan: heap-use-after-free).
void TstJobs::submissionAnsweredAfterTheManagerWent()
{
    Runtime rt = startRuntime();
    QVERIFY(QTest::qWaitFor([&] { return rt.comfy->state() == ConnectionState::Connected; }, 5000));
    bool called = false;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), {}}, [&called](Result<Job>, bool) { called = true; });
    rt.jobs.reset();   // the POST /prompt is on the wire
    rt.comfy->start(); // the manager's pool stopped it
    QVERIFY(QTest::qWaitFor([&] { return m_fake->promptCount() == 1; }, 5000));
    // A later round trip on the same client: the submission's answer was read before this one's.
    bool answered = false;
    rt.comfy->http()->queue([&answered](Result<QueueSnapshot>) { answered = true; });
    QVERIFY(QTest::qWaitFor([&] { return answered; }, 5000));
    QVERIFY(!called); // dropped with the manager
}

void TstJobs::callbackDroppedWithItsContext()
{
    Runtime rt = startRuntime();
    QSignalSpy queued(rt.jobs.get(), &JobManager::jobQueued);
    auto context = std::make_unique<QObject>();
    bool called = false;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), {}}, context.get(),
                    [&called](Result<Job>, bool) { called = true; });
    context.reset();
    QVERIFY(queued.wait(5000));
    QVERIFY(!called);
}

void TstJobs::maxJobTimeInterruptsAHungRun()
{
    Runtime rt = startRuntime();
    rt.jobs->setMaxRunTime(300);
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    m_fake->setSteps(1000); // 1000 steps of 5 ms: far longer than the limit
    const QString id = submit(*rt.jobs);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(id)->state, JobState::Failed, 10000);
    QVERIFY2(rt.jobs->find(id)->reason.contains(QStringLiteral("maximum job time")),
             qPrintable(rt.jobs->find(id)->reason));
    QCOMPARE(m_fake->interruptRequests(), QStringList{id}); // targeted, never global
    // A job within the limit is untouched.
    m_fake->setSteps(2);
    const QString quick = submit(*rt.jobs);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(quick)->state, JobState::Succeeded, 10000);
}

// The store fails after ComfyUI accepted the prompt: the submitter gets store_unavailable (503), no job is
// left, and the prompt is taken back from ComfyUI rather than run unrecorded.
void TstJobs::aJobTheStoreCannotKeepIsRefused()
{
    m_fake->setSteps(200);
    Runtime rt = startRuntime();
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    QString why;
    QVERIFY2(m_store.exec({QStringLiteral("DROP TABLE jobs")}, &why), qPrintable(why));
    std::optional<Result<Job>> answer;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), QStringLiteral("ref-1")},
                    [&answer](Result<Job> r, bool) { answer = r; });
    QTRY_VERIFY_WITH_TIMEOUT(answer.has_value(), 5000);
    QVERIFY(!answer->ok());
    QCOMPARE(answer->error().code, QStringLiteral("store_unavailable"));
    QCOMPARE(rt.jobs->list({}).total, 0);
    QCOMPARE(rt.jobs->activeCount(), 0);
    QCOMPARE(m_fake->acceptedPromptIds().size(), 1);
    const QString prompt = m_fake->acceptedPromptIds().first();
    QTRY_VERIFY_WITH_TIMEOUT(m_fake->deleteRequests().contains(prompt) || m_fake->interruptRequests().contains(prompt),
                             5000);
    QTRY_COMPARE_WITH_TIMEOUT(m_fake->runningPromptId(), QString(), 5000);
    QVERIFY(m_fake->pendingPromptIds().isEmpty());
}

// PostgreSQL goes away while a job runs: the job goes on and ends, new jobs are refused with
// store_unavailable (nothing reaches ComfyUI), storeProblem() says why; once the database is back the store
// reconnects by itself and the job's end, which happened meanwhile, is written.
void TstJobs::databaseLostMidRun()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_jobs_pg): an SQLite file has no connection to lose");
    const QString restart = qEnvironmentVariable("CR_TEST_PG_RESTART");
    QVERIFY2(!restart.isEmpty(), "CR_TEST_PG_RESTART (scripts/pg-test-cluster.sh)");
    m_fake->setSteps(40);
    m_fake->setStepIntervalMs(10);
    Runtime rt = startRuntime();
    QTRY_COMPARE_WITH_TIMEOUT(rt.comfy->state(), ConnectionState::Connected, 5000);
    const QString running = submit(*rt.jobs);
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(running)->state, JobState::Running, 5000);
    QCOMPARE(QProcess::execute(restart, {QStringLiteral("stop")}), 0);

    // The job's end is not lost with the database; the store notices on the first write that fails.
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(running)->state, JobState::Succeeded, 10000);
    QVERIFY2(!rt.jobs->storeProblem().isEmpty(), "the lost connection is noticed");
    QVERIFY(rt.jobs->storeProblem().contains(QLatin1String("lost"))
            || rt.jobs->storeProblem().contains(QLatin1String("connect")));
    const int promptsBefore = int(m_fake->acceptedPromptIds().size());
    std::optional<Result<Job>> refused;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), {}}, [&refused](Result<Job> r, bool) { refused = r; });
    QTRY_VERIFY_WITH_TIMEOUT(refused.has_value(), 5000);
    QVERIFY(!refused->ok());
    QCOMPARE(refused->error().code, QStringLiteral("store_unavailable"));
    QCOMPARE(int(m_fake->acceptedPromptIds().size()), promptsBefore); // nothing ran unrecorded

    QCOMPARE(QProcess::execute(restart, {QStringLiteral("start")}), 0);
    QTRY_VERIFY_WITH_TIMEOUT(rt.jobs->storeProblem().isEmpty(), 20000);
    QTRY_COMPARE_WITH_TIMEOUT(m_store.peek(QStringLiteral("SELECT state FROM jobs WHERE id = '%1'").arg(running)),
                              QStringLiteral("succeeded"), 10000);
    const QString after = submit(*rt.jobs);
    QVERIFY(!after.isEmpty() && after != QLatin1String("error"));
    QTRY_COMPARE_WITH_TIMEOUT(rt.jobs->find(after)->state, JobState::Succeeded, 10000);
}

// Several runners share one PostgreSQL database (docs/cluster.md): a second store opens beside the first.
void TstJobs::storesShareADatabase()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_jobs_pg)");
    auto first = m_store.open();
    QVERIFY2(first->isOpen(), qPrintable(first->error()));
    const auto second = m_store.open();
    QVERIFY2(second->isOpen(), qPrintable(second->error()));
    QCOMPARE(second->schemaVersion(), JobStore::kPostgresSchemaVersion);
}

QTEST_GUILESS_MAIN(TstJobs)
#include "tst_jobs.moc"
