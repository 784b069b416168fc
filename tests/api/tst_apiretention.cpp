// Retention through the API: a pruned job answers 410 job_expired on every route that takes its id (404 stays
// for ids that never existed), its event log is pruned with it, and a retry with its client_ref gets 410
// naming the old job instead of a duplicate run.

#include "tests/api/apitestenv.h"

#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

class TstApiRetention : public QObject
{
    Q_OBJECT

private slots:
    void prunedJobIsExpired();
};

void TstApiRetention::prunedJobIsExpired()
{
    ApiTestEnv env({}, [](Config &c) { c.jobs.keep = 1; });
    QVERIFY(env.ok());
    auto runWithRef = [&env](const char *ref) {
        const HttpResult r
            = env.call("POST", u"/api/v1/jobs"_s,
                       QByteArray(R"({"workflow": "sd15", "wait": true, "client_ref": ")") + ref + "\"}");
        return r.status == 200 ? r.json()[u"id"_s].toString() : QString();
    };
    const QString first = runWithRef("order-1");
    QVERIFY(!first.isEmpty());
    QVERIFY(env.hub().jobEvents(first).known);
    const QString second = runWithRef("order-2");
    QVERIFY(!second.isEmpty());
    QTRY_VERIFY(!env.jobs().find(first));       // keep = 1: the first job is pruned once the second finished
    QVERIFY(!env.hub().jobEvents(first).known); // its event log went with it
    QVERIFY(env.hub().jobEvents(second).known);

    for (const QString &path : {u"/api/v1/jobs/%1"_s, u"/api/v1/jobs/%1/events"_s, u"/api/v1/jobs/%1/outputs/0"_s}) {
        const HttpResult r = env.call("GET", path.arg(first));
        QCOMPARE(r.status, 410);
        QCOMPARE(r.errorCode(), u"job_expired"_s);
        QCOMPARE(r.json()[u"error"_s][u"details"_s][u"job_id"_s].toString(), first);
        QCOMPARE(env.call("GET", path.arg(u"never-existed"_s)).status, 404);
    }
    const HttpResult cancel = env.call("POST", u"/api/v1/jobs/%1/cancel"_s.arg(first));
    QCOMPARE(cancel.status, 410);
    QCOMPARE(cancel.errorCode(), u"job_expired"_s);

    const int prompts = env.fake().promptCount();
    const HttpResult retry = env.call("POST", u"/api/v1/jobs"_s, R"({"workflow": "sd15", "client_ref": "order-1"})");
    QCOMPARE(retry.status, 410);
    QCOMPARE(retry.errorCode(), u"job_expired"_s);
    QCOMPARE(retry.json()[u"error"_s][u"details"_s][u"job_id"_s].toString(), first);
    QCOMPARE(retry.json()[u"error"_s][u"details"_s][u"client_ref"_s].toString(), u"order-1"_s);
    QCOMPARE(env.fake().promptCount(), prompts); // nothing ran again
}

QTEST_GUILESS_MAIN(TstApiRetention)
#include "tst_apiretention.moc"
