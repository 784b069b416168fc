// WorkflowCache against a real comfy_runner Service and the fake ComfyUI: a workflow is fetched once however
// often it is asked for (concurrent asks coalesced, a loaded one served from the cache), an unknown one is
// not cached and is asked for again next time, and clear() forgets what was loaded.

#include "gui/client/restclient.h"
#include "gui/client/workflowcache.h"
#include "runnerenv.h"

#include <QSignalSpy>
#include <QTest>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

class TstWorkflowCache : public QObject
{
    Q_OBJECT

private slots:
    void fetchesOnceAndCaches();
    void unknownIsAskedAgain();
    void clearForgets();
};

void TstWorkflowCache::fetchesOnceAndCaches()
{
    RunnerEnv env;
    QVERIFY(env.start());
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));
    WorkflowCache cache(&rest);
    QSignalSpy loaded(&cache, &WorkflowCache::loaded);

    cache.request(QString()); // nothing to ask for
    QCOMPARE(rest.pendingRequests(), 0);
    cache.request(u"sd15_txt2img"_s);
    cache.request(u"sd15_txt2img"_s); // in flight: coalesced
    QCOMPARE(rest.pendingRequests(), 1);
    QVERIFY(cache.isPending(u"sd15_txt2img"_s));
    QVERIFY(!cache.find(u"sd15_txt2img"_s));

    QVERIFY(loaded.wait(10000));
    QCOMPARE(loaded.count(), 1);
    QCOMPARE(loaded.at(0).at(1).toString(), u"sd15_txt2img"_s);
    QVERIFY(!cache.isPending(u"sd15_txt2img"_s));
    const WorkflowInfo *info = cache.find(u"sd15_txt2img"_s);
    QVERIFY(info);
    QCOMPARE(info->name, u"sd15_txt2img"_s);
    QVERIFY(!info->parameters.isEmpty());
    QVERIFY(!info->nodes.isEmpty());

    cache.request(u"sd15_txt2img"_s); // loaded: served from the cache
    QCOMPARE(rest.pendingRequests(), 0);
    QCOMPARE(loaded.count(), 1);
}

void TstWorkflowCache::unknownIsAskedAgain()
{
    RunnerEnv env;
    QVERIFY(env.start());
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));
    WorkflowCache cache(&rest);
    QSignalSpy loaded(&cache, &WorkflowCache::loaded);
    QSignalSpy failed(&rest, &RestClient::requestFailed);

    cache.request(u"no_such_workflow"_s);
    QVERIFY(failed.wait(10000));
    QVERIFY(!cache.isPending(u"no_such_workflow"_s));
    QVERIFY(!cache.find(u"no_such_workflow"_s));
    // Not remembered as failed: the next ask goes to the runner again.
    cache.request(u"no_such_workflow"_s);
    QCOMPARE(rest.pendingRequests(), 1);
    QVERIFY(failed.wait(10000));
    QCOMPARE(failed.count(), 2);
    QCOMPARE(loaded.count(), 0);
}

void TstWorkflowCache::clearForgets()
{
    RunnerEnv env;
    QVERIFY(env.start());
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));
    WorkflowCache cache(&rest);
    QSignalSpy loaded(&cache, &WorkflowCache::loaded);

    cache.request(u"sd15_txt2img"_s);
    QVERIFY(loaded.wait(10000));
    cache.clear();
    QVERIFY(!cache.find(u"sd15_txt2img"_s));
    cache.request(u"sd15_txt2img"_s); // another runner: fetched again
    QCOMPARE(rest.pendingRequests(), 1);
    QVERIFY(loaded.wait(10000));
    QCOMPARE(loaded.count(), 2);
    QVERIFY(cache.find(u"sd15_txt2img"_s));
}

QTEST_GUILESS_MAIN(TstWorkflowCache)
#include "tst_workflowcache.moc"
