// JobReconciler against a real comfy_runner Service and the fake ComfyUI: a list refresh asked for while one
// is in flight runs once after it (and reports whether the caller knew no jobs when it started), job record
// fetches are coalesced per job the same way, a failed fetch does not block the next one, and the re-asks
// for a record not final yet come by timer and stop after kMaxConfirmTries.

#include "gui/client/jobreconciler.h"
#include "gui/client/restclient.h"
#include "runnerenv.h"

#include <QSignalSpy>
#include <QTest>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

class TstJobReconciler : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void listRefreshIsCoalesced();
    void jobFetchIsCoalesced();
    void failedFetchDoesNotBlock();
    void confirmReasksByTimerAndStops();

private:
    QString submit(); // a job on the runner; its id

    std::unique_ptr<RunnerEnv> m_env;
    std::unique_ptr<RestClient> m_rest;
};

void TstJobReconciler::init()
{
    m_env = std::make_unique<RunnerEnv>();
    QVERIFY(m_env->start());
    m_rest = std::make_unique<RestClient>();
    m_rest->setBaseUrl(QUrl(m_env->httpUrl()));
}

void TstJobReconciler::cleanup()
{
    m_rest.reset();
    m_env.reset();
}

QString TstJobReconciler::submit()
{
    QString id;
    m_rest->createJob(u"sd15_txt2img"_s, {}, m_rest.get(), [&id](cr::Result<JobInfo> r) {
        if (r)
            id = r->id;
    });
    if (!QTest::qWaitFor([this] { return m_rest->pendingRequests() == 0; }, 10000))
        return {};
    return id; // empty when the runner did not take it (the callers check)
}

void TstJobReconciler::listRefreshIsCoalesced()
{
    const QString id = submit();
    QVERIFY(!id.isEmpty());
    bool noJobs = true;
    JobReconciler reconciler(m_rest.get(), [&noJobs] { return noJobs; });
    QSignalSpy lists(&reconciler, &JobReconciler::listFetched);

    reconciler.refreshList();
    noJobs = false; // the caller learns of jobs before the answer: the started request stays "initial"
    reconciler.refreshList();
    reconciler.refreshList(); // both coalesced into one more request after the first
    QCOMPARE(m_rest->pendingRequests(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(lists.count(), 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_rest->pendingRequests(), 0, 10000);
    QCOMPARE(lists.count(), 2);
    QCOMPARE(lists.at(0).at(1).toBool(), true);
    QCOMPARE(lists.at(1).at(1).toBool(), false);
    const auto jobs = lists.at(0).at(0).value<QList<JobInfo>>();
    QCOMPARE(jobs.size(), 1);
    QCOMPARE(jobs.at(0).id, id);
}

void TstJobReconciler::jobFetchIsCoalesced()
{
    const QString id = submit();
    QVERIFY(!id.isEmpty());
    JobReconciler reconciler(m_rest.get(), {});
    QSignalSpy fetched(&reconciler, &JobReconciler::jobFetched);

    reconciler.refreshJob(QString()); // nothing to ask for
    QCOMPARE(m_rest->pendingRequests(), 0);
    reconciler.refreshJob(id);
    reconciler.refreshJob(id);
    reconciler.refreshJob(id);
    QCOMPARE(m_rest->pendingRequests(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(fetched.count(), 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_rest->pendingRequests(), 0, 10000);
    QCOMPARE(fetched.count(), 2);
    QCOMPARE(fetched.at(0).at(0).value<JobInfo>().id, id);
}

void TstJobReconciler::failedFetchDoesNotBlock()
{
    JobReconciler reconciler(m_rest.get(), {});
    QSignalSpy fetched(&reconciler, &JobReconciler::jobFetched);
    QSignalSpy failed(m_rest.get(), &RestClient::requestFailed);

    reconciler.refreshJob(u"no-such-job"_s);
    reconciler.refreshJob(u"no-such-job"_s); // coalesced, but a failure does not ask again
    QVERIFY(failed.wait(10000));
    QTRY_COMPARE_WITH_TIMEOUT(m_rest->pendingRequests(), 0, 10000);
    QCOMPARE(failed.count(), 1);
    reconciler.refreshJob(u"no-such-job"_s); // not stuck "in flight"
    QCOMPARE(m_rest->pendingRequests(), 1);
    QVERIFY(failed.wait(10000));
    QCOMPARE(fetched.count(), 0);
}

void TstJobReconciler::confirmReasksByTimerAndStops()
{
    const QString id = submit();
    QVERIFY(!id.isEmpty());
    JobReconciler reconciler(m_rest.get(), {});
    QSignalSpy fetched(&reconciler, &JobReconciler::jobFetched);

    reconciler.confirmLater(id);
    QCOMPARE(reconciler.confirmTries(id), 1);
    QCOMPARE(m_rest->pendingRequests(), 0); // later, not now
    QVERIFY(fetched.wait(10000));
    QCOMPARE(fetched.at(0).at(0).value<JobInfo>().id, id);

    for (int i = 0; i < JobReconciler::kMaxConfirmTries + 3; ++i)
        reconciler.confirmLater(id);
    QCOMPARE(reconciler.confirmTries(id), JobReconciler::kMaxConfirmTries);
    reconciler.forget(id);
    QCOMPARE(reconciler.confirmTries(id), 0);
    reconciler.confirmLater(id); // counted afresh
    QCOMPARE(reconciler.confirmTries(id), 1);
    reconciler.clear();
    QCOMPARE(reconciler.confirmTries(id), 0);
}

QTEST_GUILESS_MAIN(TstJobReconciler)
#include "tst_jobreconciler.moc"
