// The cluster's SQL (ClusterStore, JobStore in cluster mode) against a real PostgreSQL (tst_clusterstore_pg):
// claims are exclusive, leases end and are taken over only for reachable backends, writes are fenced to the
// owner, client_ref is unique across runners, cancel requests reach the owner, unpublished rows stay hidden.

#include "core/jobs/clusterstore.h"
#include "core/jobs/jobstore.h"
#include "tests/support/teststore.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

class TstClusterStore : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void aWaitingJobIsClaimedOnce();
    void anExpiredLeaseIsTakenOverAndTheOldOwnerFenced();
    void clientRefIsUniqueAcrossRunners();
    void cancelRequestsReachTheOwner();
    void ownersAtStartAndFencedDeletes();
    void unpublishedRowsAreHidden();

private:
    std::unique_ptr<JobStore> runner(const QString &node, int leaseMs = 60000)
    {
        auto store = m_store.open();
        store->setCluster(node, leaseMs);
        return store;
    }
    static Job job(const QString &id, const QString &node, const QString &ref = {})
    {
        Job j;
        j.id = id;
        j.node = node;
        j.clientRef = ref;
        j.workflow = QStringLiteral("sd15_txt2img");
        j.graph = QJsonObject{
            {QStringLiteral("3"), QJsonObject{{QStringLiteral("class_type"), QStringLiteral("KSampler")}}}};
        j.createdAt = QDateTime::currentDateTimeUtc();
        return j;
    }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
};

void TstClusterStore::init()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_clusterstore_pg)");
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
}

void TstClusterStore::aWaitingJobIsClaimedOnce()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    QVERIFY2(a->isOpen() && b->isOpen(), qPrintable(a->error() + b->error()));
    CR_VERIFY_OK(a->create(job(QStringLiteral("j1"), QString())));
    ClusterStore ca(a.get()), cb(b.get());
    const std::optional<Job> won = cb.claim(QStringLiteral("j1"));
    QVERIFY(won);
    QCOMPARE(won->node, QStringLiteral("b"));
    QVERIFY(!won->graph.isEmpty()); // the claimer hands it over: it needs the graph
    bool failed = true;
    QVERIFY(!ca.claim(QStringLiteral("j1"), &failed)); // already b's
    QVERIFY(!failed);
    QCOMPARE(m_store.peek(QStringLiteral("SELECT owner FROM jobs WHERE id = 'j1'")), QStringLiteral("b"));
}

void TstClusterStore::anExpiredLeaseIsTakenOverAndTheOldOwnerFenced()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    Job running = job(QStringLiteral("j2"), QStringLiteral("a"));
    running.state = JobState::Running;
    running.attempts.append({QStringLiteral("gpu"),
                             running.id,
                             running.createdAt,
                             running.createdAt,
                             {},
                             {},
                             {},
                             QStringLiteral("http://gpu-1:8188")});
    CR_VERIFY_OK(a->create(running));
    ClusterStore cb(b.get());
    QVERIFY(cb.takeOver({QStringLiteral("http://gpu-1:8188")}, 10).isEmpty()); // a's lease holds
    QVERIFY(m_store.exec({QStringLiteral("UPDATE jobs SET lease_until = now() - interval '1 second'")}));
    QVERIFY(cb.takeOver({QStringLiteral("http://gpu-2:8188")}, 10).isEmpty()); // b cannot reach its ComfyUI
    const QList<Job> taken = cb.takeOver({QStringLiteral("http://gpu-1:8188")}, 10);
    QCOMPARE(taken.size(), 1);
    QCOMPARE(taken.first().id, QStringLiteral("j2"));
    QCOMPARE(taken.first().currentAttempt()->promptId, QStringLiteral("j2"));
    // a, back from an outage, writes its view: refused, the row stays b's.
    running.state = JobState::Succeeded;
    const StoreResult fenced = a->update(running);
    QVERIFY(!fenced.ok());
    QCOMPARE(fenced.error().code, QStringLiteral("job_conflict"));
    QCOMPARE(fenced.error().details.value(QLatin1String("node")).toString(), QStringLiteral("b"));
    QCOMPARE(m_store.peek(QStringLiteral("SELECT state || ' ' || owner FROM jobs WHERE id = 'j2'")),
             QStringLiteral("running b"));
    QVERIFY(cb.renewLeases());
    QCOMPARE(m_store.peek(QStringLiteral("SELECT lease_until > now() FROM jobs WHERE id = 'j2'")),
             QStringLiteral("true"));
}

void TstClusterStore::clientRefIsUniqueAcrossRunners()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    CR_VERIFY_OK(a->create(job(QStringLiteral("j3"), QStringLiteral("a"), QStringLiteral("order-1"))));
    const StoreResult second = b->create(job(QStringLiteral("j4"), QStringLiteral("b"), QStringLiteral("order-1")));
    QVERIFY(!second.ok());
    QCOMPARE(second.error().code, QStringLiteral("job_conflict"));
    ClusterStore cb(b.get());
    const std::optional<Job> existing = cb.findByClientRef(QStringLiteral("order-1"));
    QVERIFY(existing);
    QCOMPARE(existing->id, QStringLiteral("j3"));
    CR_VERIFY_OK(b->create(job(QStringLiteral("j5"), QStringLiteral("b")))); // no client_ref: no conflict
    CR_VERIFY_OK(b->create(job(QStringLiteral("j6"), QStringLiteral("b"))));
}

void TstClusterStore::cancelRequestsReachTheOwner()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    Job j = job(QStringLiteral("j7"), QStringLiteral("a"));
    j.state = JobState::Running;
    CR_VERIFY_OK(a->create(j));
    ClusterStore ca(a.get()), cb(b.get());
    QVERIFY(cb.requestCancel(QStringLiteral("j7")));
    QVERIFY(cb.takeCancels().isEmpty()); // not b's
    QCOMPARE(ca.takeCancels(), QStringList{QStringLiteral("j7")});
    QVERIFY(ca.takeCancels().isEmpty()); // taken once
}

// A store written before clusters: a handed-over job without an owner becomes the first runner's to ask;
// a runner's unpublished rows are published when it starts again; deletes never touch another runner's row
// or an unfinished one.
void TstClusterStore::ownersAtStartAndFencedDeletes()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    CR_VERIFY_OK(a->create(job(QStringLiteral("old"), QString())));
    ClusterStore ca(a.get()), cb(b.get());
    QVERIFY(cb.adoptUnowned(QStringLiteral("old")));
    QVERIFY(!ca.adoptUnowned(QStringLiteral("old")));
    QCOMPARE(m_store.peek(QStringLiteral("SELECT owner FROM jobs WHERE id = 'old'")), QStringLiteral("b"));

    CR_VERIFY_OK(a->create(job(QStringLiteral("hidden"), QStringLiteral("a")), false));
    QVERIFY(ca.publishOwn());
    QCOMPARE(m_store.peek(QStringLiteral("SELECT published FROM jobs WHERE id = 'hidden'")), QStringLiteral("true"));

    CR_VERIFY_OK(a->remove(QStringLiteral("old"))); // b's: untouched
    QCOMPARE(m_store.peek(QStringLiteral("SELECT count(*) FROM jobs WHERE id = 'old'")), QStringLiteral("1"));
    CR_VERIFY_OK(a->prune({QStringLiteral("hidden")}, {}, 100)); // still queued: untouched
    QCOMPARE(m_store.peek(QStringLiteral("SELECT count(*) FROM jobs WHERE id = 'hidden'")), QStringLiteral("1"));
    CR_VERIFY_OK(a->remove(QStringLiteral("hidden")));
    QCOMPARE(m_store.peek(QStringLiteral("SELECT count(*) FROM jobs WHERE id = 'hidden'")), QStringLiteral("0"));
}

void TstClusterStore::unpublishedRowsAreHidden()
{
    auto a = runner(QStringLiteral("a")), b = runner(QStringLiteral("b"));
    CR_VERIFY_OK(a->create(job(QStringLiteral("j8"), QStringLiteral("a")), false));
    ClusterStore cb(b.get());
    bool ok = false;
    const QList<ClusterStore::Row> rows = cb.fetch({QStringLiteral("j8")}, &ok);
    QVERIFY(ok);
    QCOMPARE(rows.size(), 1);
    QVERIFY(!rows.first().published);
    QVERIFY(!cb.unfinished(&ok).contains(QStringLiteral("j8")));
    CR_VERIFY_OK(a->create(job(QStringLiteral("j8"), QStringLiteral("a")), true));
    QVERIFY(cb.unfinished(&ok).contains(QStringLiteral("j8")));
}

QTEST_GUILESS_MAIN(TstClusterStore)
#include "tst_clusterstore.moc"
