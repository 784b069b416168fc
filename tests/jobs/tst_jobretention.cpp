// Retention of finished jobs: the count and age bounds ([jobs] keep, keep_days), tombstones of pruned jobs
// (job_expired, client_ref retries, restart, their own bound), pruning in batches, and the job store's schema
// versions (a file made by the first release keeps working; PostgreSQL's schema_migrations; the graph is
// written once). Runs on SQLite (tst_jobretention) and on PostgreSQL (tst_jobretention_pg), see TestStore.

#include "core/jobs/jobmanager.h"
#include "core/jobs/jobstore.h"
#include "sim/fakecomfy.h"
#include "tests/support/teststore.h"

#include <QFile>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

namespace {

QJsonObject workflow()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

// A finished job as a store row would hold it.
Job finishedJob(const QString &id, const QString &ref, const QDateTime &finishedAt)
{
    Job job;
    job.id = id;
    job.clientRef = ref;
    job.workflow = QStringLiteral("sd15_txt2img");
    job.graph = workflow();
    job.state = JobState::Succeeded;
    job.createdAt = finishedAt.addSecs(-5);
    job.startedAt = finishedAt.addSecs(-4);
    job.finishedAt = finishedAt;
    return job;
}

} // namespace

class TstJobRetention : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void countBoundLeavesTombstones();
    void tombstonesSurviveRestart();
    void ageBoundPrunes();
    void pruningIsBatched();
    void tombstonesAreBounded();
    void firstReleaseStoreMigrates();
    void postgresSchemaIsVersioned();
    void graphIsWrittenOnce();

private:
    struct Runtime {
        std::unique_ptr<ComfyClient> comfy;
        std::unique_ptr<JobStore> store;
        std::unique_ptr<JobManager> jobs;
    };
    Runtime startRuntime(const JobSettings &retention)
    {
        Runtime r;
        ComfySettings s;
        s.url = m_fake->httpUrl();
        s.pingIntervalMs = 100;
        s.reconnectMaxMs = 200;
        r.comfy = std::make_unique<ComfyClient>(s, QStringLiteral("retention-test"));
        r.store = m_store.open();
        r.jobs = std::make_unique<JobManager>(r.comfy.get(), r.store.get());
        r.jobs->setRetention(retention);
        r.jobs->restore();
        r.comfy->start();
        return r;
    }
    // Submits and waits for the job's end; returns its id, or the error code.
    QString run(JobManager &jobs, const QString &ref)
    {
        QString id;
        QSignalSpy finished(&jobs, &JobManager::jobFinished);
        jobs.submit({QStringLiteral("sd15_txt2img"), workflow(), ref},
                    [&id](Result<Job> r, bool) { id = r ? r->id : r.error().code; });
        if (!QTest::qWaitFor([&id] { return !id.isEmpty(); }, 5000))
            return QString();
        if (jobs.find(id) && !jobs.find(id)->isFinished() && !finished.wait(10000))
            return QString();
        return id;
    }
    static JobSettings retention(int keep, int keepDays = 0, int keepExpired = 100)
    {
        JobSettings s;
        s.keep = keep;
        s.keepDays = keepDays;
        s.keepExpired = keepExpired;
        return s;
    }
    QString storePath() const { return m_store.sqlitePath(); }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
    std::unique_ptr<sim::FakeComfy> m_fake;
};

void TstJobRetention::init()
{
    QVERIFY(m_dir.isValid());
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
    m_fake = std::make_unique<sim::FakeComfy>();
    QVERIFY(m_fake->listen());
    m_fake->setSteps(2);
    m_fake->setStepIntervalMs(2);
    m_fake->setPreviewsEnabled(false);
}

void TstJobRetention::cleanup() { m_fake.reset(); }

void TstJobRetention::countBoundLeavesTombstones()
{
    Runtime rt = startRuntime(retention(2));
    QSignalSpy pruned(rt.jobs.get(), &JobManager::jobsPruned);
    const QString first = run(*rt.jobs, QStringLiteral("ref-1"));
    const QString second = run(*rt.jobs, QStringLiteral("ref-2"));
    QVERIFY(!first.isEmpty() && !second.isEmpty());
    QCOMPARE(pruned.count(), 0);
    const QString third = run(*rt.jobs, QStringLiteral("ref-3"));
    QVERIFY(rt.jobs->find(third));
    QCOMPARE(pruned.count(), 1);
    QCOMPARE(pruned.first().first().toStringList(), QStringList{first});
    QVERIFY(!rt.jobs->find(first));
    QVERIFY(rt.jobs->find(second));
    QCOMPARE(rt.store->loadAll().size(), 2);

    // A pruned id is recognised; an id that never existed is not.
    const Error expired = rt.jobs->missingJob(first);
    QCOMPARE(expired.code, QStringLiteral("job_expired"));
    QCOMPARE(expired.details.value(QStringLiteral("job_id")).toString(), first);
    QVERIFY(expired.details.contains(QStringLiteral("expired_at")));
    QCOMPARE(rt.jobs->missingJob(QStringLiteral("never-existed")).code, QStringLiteral("job_not_found"));
    QCOMPARE(rt.jobs->cancel(first)->code, QStringLiteral("job_expired"));

    // A retry with the pruned job's client_ref names the old job instead of running it again.
    const int prompts = m_fake->promptCount();
    std::optional<Error> retry;
    rt.jobs->submit({QStringLiteral("sd15_txt2img"), workflow(), QStringLiteral("ref-1")},
                    [&retry](Result<Job> r, bool) { retry = r ? Error() : r.error(); });
    QVERIFY(retry.has_value()); // answered at once, nothing sent to ComfyUI
    QCOMPARE(retry->code, QStringLiteral("job_expired"));
    QCOMPARE(retry->details.value(QStringLiteral("job_id")).toString(), first);
    QCOMPARE(m_fake->promptCount(), prompts);
    // Kept jobs' client_refs still answer with their job.
    QCOMPARE(run(*rt.jobs, QStringLiteral("ref-3")), third);
}

void TstJobRetention::tombstonesSurviveRestart()
{
    QString first;
    {
        Runtime rt = startRuntime(retention(1));
        first = run(*rt.jobs, QStringLiteral("ref-a"));
        QVERIFY(!run(*rt.jobs, QStringLiteral("ref-b")).isEmpty());
        QVERIFY(!rt.jobs->find(first));
    }
    Runtime rt = startRuntime(retention(1));
    QCOMPARE(rt.jobs->missingJob(first).code, QStringLiteral("job_expired"));
    QCOMPARE(run(*rt.jobs, QStringLiteral("ref-a")), QStringLiteral("job_expired"));
}

void TstJobRetention::ageBoundPrunes()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        CR_VERIFY_OK(store->save(finishedJob(QStringLiteral("old"), QStringLiteral("ref-old"), now.addDays(-40))));
        CR_VERIFY_OK(store->save(finishedJob(QStringLiteral("recent"), {}, now.addDays(-2))));
    }
    Runtime rt = startRuntime(retention(1000, 30));
    QVERIFY(!rt.jobs->find(QStringLiteral("old")));
    QVERIFY(rt.jobs->find(QStringLiteral("recent")));
    QCOMPARE(rt.jobs->missingJob(QStringLiteral("old")).code, QStringLiteral("job_expired"));
    QCOMPARE(rt.store->loadAll().size(), 1);
}

void TstJobRetention::pruningIsBatched()
{
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-3600);
    const int stored = 450;
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        for (int i = 0; i < stored; ++i)
            CR_VERIFY_OK(store->save(
                finishedJob(QStringLiteral("job-%1").arg(i, 3, 10, QLatin1Char('0')), {}, start.addSecs(i))));
    }
    ComfySettings s;
    s.url = m_fake->httpUrl();
    ComfyClient comfy(s, QStringLiteral("retention-test"));
    const std::unique_ptr<JobStore> opened = m_store.open();
    JobStore &store = *opened;
    JobManager jobs(&comfy, &store);
    jobs.setRetention(retention(10, 0, 1000));
    QSignalSpy pruned(&jobs, &JobManager::jobsPruned);
    QCOMPARE(jobs.restore(), stored);
    // One bounded batch at once; the rest in later passes of the event loop.
    QCOMPARE(pruned.count(), 1);
    QVERIFY(jobs.list({}).total > 10);
    QTRY_COMPARE(jobs.list({}).total, 10);
    QVERIFY(pruned.count() >= 3);
    QCOMPARE(jobs.list({}).jobs.last().id, QStringLiteral("job-440")); // the newest ten are kept
    QCOMPARE(jobs.missingJob(QStringLiteral("job-000")).code, QStringLiteral("job_expired"));
    QCOMPARE(store.loadAll().size(), 10);
    QCOMPARE(store.loadExpired().size(), stored - 10);
}

void TstJobRetention::tombstonesAreBounded()
{
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-3600);
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        for (int i = 1; i <= 6; ++i)
            CR_VERIFY_OK(store->save(
                finishedJob(QStringLiteral("job-%1").arg(i), QStringLiteral("ref-%1").arg(i), start.addSecs(i))));
    }
    Runtime rt = startRuntime(retention(1, 0, 3));
    QVERIFY(rt.jobs->find(QStringLiteral("job-6")));
    QCOMPARE(rt.store->loadExpired().size(), 3);
    QCOMPARE(rt.jobs->missingJob(QStringLiteral("job-5")).code, QStringLiteral("job_expired"));
    QCOMPARE(rt.jobs->missingJob(QStringLiteral("job-3")).code, QStringLiteral("job_expired"));
    QCOMPARE(rt.jobs->missingJob(QStringLiteral("job-2")).code, QStringLiteral("job_not_found")); // forgotten
    // A forgotten tombstone frees its client_ref.
    const QString again = run(*rt.jobs, QStringLiteral("ref-1"));
    QVERIFY(!again.isEmpty() && again != QLatin1String("job_expired"));
}

void TstJobRetention::firstReleaseStoreMigrates()
{
    if (test::TestStore::isPostgres())
        QSKIP("the first release's SQLite file; PostgreSQL's schema: postgresSchemaIsVersioned");
    const Job job = finishedJob(QStringLiteral("from-v0"), QStringLiteral("ref-v0"),
                                QDateTime::currentDateTimeUtc().addSecs(-60));
    {
        // The schema and row format of the first release, written without JobStore.
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("v0"));
        db.setDatabaseName(storePath());
        QVERIFY(db.open());
        QSqlQuery q(db);
        QVERIFY(q.exec(QStringLiteral("CREATE TABLE jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                                      "state TEXT NOT NULL, data TEXT NOT NULL)")));
        QVERIFY(q.prepare(QStringLiteral("INSERT INTO jobs (id, created_at, state, data) VALUES (?, ?, ?, ?)")));
        q.addBindValue(job.id);
        q.addBindValue(job.createdAt.toString(Qt::ISODateWithMs));
        q.addBindValue(QStringLiteral("succeeded"));
        q.addBindValue(QString::fromUtf8(QJsonDocument(JobStore::toJson(job)).toJson(QJsonDocument::Compact)));
        QVERIFY(q.exec());
        q.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("v0"));

    {
        JobStore store(storePath());
        QVERIFY2(store.isOpen(), qPrintable(store.error()));
        QCOMPARE(store.schemaVersion(), JobStore::kSchemaVersion);
        const QList<Job> loaded = store.loadAll();
        QCOMPARE(loaded.size(), 1);
        QCOMPARE(JobStore::toJson(loaded.first()), JobStore::toJson(job));
        // The graph moved from the data column to its own (schema version 2).
        const QString sql = QStringLiteral("SELECT %1 FROM jobs WHERE id = 'from-v0'");
        QCOMPARE(QJsonDocument::fromJson(m_store.peek(sql.arg(QLatin1String("graph"))).toUtf8()).object(), job.graph);
        QVERIFY(!m_store.peek(sql.arg(QLatin1String("data"))).contains(QLatin1String("\"graph\"")));
        CR_VERIFY_OK(store.prune({job.id}, {{job.id, job.clientRef, QDateTime::currentDateTimeUtc()}}, 10));
        QCOMPARE(store.loadAll().size(), 0);
        QCOMPARE(store.loadExpired().size(), 1);
    }
    JobStore reopened(storePath()); // already current: nothing to migrate, nothing lost
    QVERIFY(reopened.isOpen());
    QCOMPARE(reopened.loadExpired().first().clientRef, job.clientRef);
}

void TstJobRetention::graphIsWrittenOnce()
{
    Job job = finishedJob(QStringLiteral("once"), {}, QDateTime::currentDateTimeUtc());
    job.state = JobState::Queued;
    const QJsonObject graph = job.graph;
    const std::unique_ptr<JobStore> opened = m_store.open();
    JobStore &store = *opened;
    CR_VERIFY_OK(store.create(job));
    job.state = JobState::Succeeded;
    job.graph = QJsonObject{{QStringLiteral("not"), QStringLiteral("written")}}; // updates never write the graph
    CR_VERIFY_OK(store.update(job));
    const QList<Job> loaded = store.loadAll();
    QCOMPARE(loaded.size(), 1);
    QCOMPARE(loaded.first().state, JobState::Succeeded);
    QCOMPARE(loaded.first().graph, graph);
    QVERIFY(
        !m_store.peek(QStringLiteral("SELECT data FROM jobs WHERE id = 'once'")).contains(QLatin1String("\"graph\"")));
    QVERIFY(
        m_store.peek(QStringLiteral("SELECT graph FROM jobs WHERE id = 'once'")).contains(QLatin1String("KSampler")));
    // An update of a job the store does not have yet creates it.
    CR_VERIFY_OK(store.update(finishedJob(QStringLiteral("late"), {}, QDateTime::currentDateTimeUtc())));
    QCOMPARE(store.loadAll().size(), 2);
    QCOMPARE(store.loadAll().last().graph, workflow());
}

// PostgreSQL: schema_migrations records each applied version once; a database of a newer build is refused.
void TstJobRetention::postgresSchemaIsVersioned()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_jobretention_pg); SQLite's versions: firstReleaseStoreMigrates");
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        QVERIFY2(store->isOpen(), qPrintable(store->error()));
        QCOMPARE(store->schemaVersion(), JobStore::kPostgresSchemaVersion);
        CR_VERIFY_OK(
            store->save(finishedJob(QStringLiteral("kept"), QStringLiteral("ref"), QDateTime::currentDateTimeUtc())));
    }
    const QString applied = QStringLiteral("SELECT count(*) FROM schema_migrations");
    QCOMPARE(m_store.peek(applied), QString::number(JobStore::kPostgresSchemaVersion));
    {
        const std::unique_ptr<JobStore> reopened = m_store.open(); // current: nothing runs again, nothing lost
        QVERIFY(reopened->isOpen());
        QCOMPARE(reopened->loadAll().size(), 1);
        QCOMPARE(m_store.peek(applied), QString::number(JobStore::kPostgresSchemaVersion));
    }
    QString why;
    QVERIFY2(m_store.exec({QStringLiteral("INSERT INTO schema_migrations (version) VALUES (%1)")
                               .arg(JobStore::kPostgresSchemaVersion + 1)},
                          &why),
             qPrintable(why));
    const std::unique_ptr<JobStore> newer = m_store.open();
    QVERIFY(!newer->isOpen());
    QVERIFY2(newer->error().contains(QLatin1String("newer than this build")), qPrintable(newer->error()));
}

QTEST_GUILESS_MAIN(TstJobRetention)
#include "tst_jobretention.moc"
