// Job event logs against the fake ComfyUI: a run's log (ordered, complete) and since=, 404s for unknown jobs,
// bad parameters, and follow=true streaming the job's events and ending with the job.

#include "tests/api/apieventstesthelpers.h"

#include "protocol/relaymessages.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

class TstApiEventLogs : public QObject
{
    Q_OBJECT

private slots:
    void jobEventLog();
    void unknownJob_data();
    void unknownJob();
    void badParameters_data();
    void badParameters();
    void followEndsWithTheJob_data();
    void followEndsWithTheJob();
};

void TstApiEventLogs::jobEventLog()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString id = runJob(env);
    QVERIFY(!id.isEmpty());
    const HttpResult r = env.call("GET", u"/api/v1/jobs/%1/events"_s.arg(id));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
    QCOMPARE(r.json()[u"job_id"_s].toString(), id);
    QCOMPARE(r.json()[u"dropped"_s].toInteger(), 0);
    const QJsonArray events = r.json()[u"events"_s].toArray();
    QList<qint64> seqs;
    QStringList types;
    int executingDone = -1;
    for (const QJsonValue &v : events) {
        const QJsonObject e = v.toObject();
        QCOMPARE(e[u"job_id"_s].toString(), id);
        QCOMPARE(e[u"event"_s][u"type"_s].toString(), e[u"type"_s].toString());
        QVERIFY(e[u"ts"_s].toInteger() > 0);
        if (e[u"type"_s].toString() == "executing"_L1 && e[u"event"_s][u"data"_s][u"node"_s].isNull())
            executingDone = int(types.size());
        seqs.append(e[u"seq"_s].toInteger());
        types.append(e[u"type"_s].toString());
    }
    QCOMPARE(seqs, seqsOf(env.hub().jobEvents(id).events));
    for (qsizetype i = 1; i < seqs.size(); ++i)
        QVERIFY2(seqs.at(i) > seqs.at(i - 1), "seqs are not increasing");
    const qsizetype start = types.indexOf(u"execution_start"_s);
    const qsizetype finished = types.indexOf(u"job_finished"_s);
    QVERIFY2(start >= 0 && executingDone > start && finished > executingDone, qPrintable(types.join(u',')));
    // ComfyUI's first events may come before its answer to POST /prompt (protocol doc §5.2); the service's
    // own events keep their order: queued, started, finished.
    const qsizetype queued = types.indexOf(u"job_queued"_s);
    QVERIFY2(queued >= 0 && queued < types.indexOf(u"job_started"_s) && queued < finished,
             qPrintable(types.join(u',')));
    QVERIFY(types.contains(u"progress"_s));

    // since= leaves out what the caller has.
    const HttpResult tail = env.call("GET", u"/api/v1/jobs/%1/events?since=%2"_s.arg(id).arg(seqs.at(2)));
    QCOMPARE(tail.status, 200);
    const QJsonArray rest = tail.json()[u"events"_s].toArray();
    QCOMPARE(rest.size(), events.size() - 3);
    QCOMPARE(rest.first()[u"seq"_s].toInteger(), seqs.at(3));
}

void TstApiEventLogs::unknownJob_data()
{
    QTest::addColumn<QString>("path");
    QTest::newRow("log") << u"/api/v1/jobs/nope/events"_s;
    QTest::newRow("follow") << u"/api/v1/jobs/nope/events?follow=true"_s;
}

void TstApiEventLogs::unknownJob()
{
    QFETCH(QString, path);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", path);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), u"job_not_found"_s);
    QCOMPARE(r.json()[u"error"_s][u"details"_s][u"job_id"_s].toString(), u"nope"_s);
}

void TstApiEventLogs::badParameters_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QByteArray>("lastEventId");
    QTest::addColumn<QString>("parameter");
    QTest::newRow("since negative") << u"since=-1"_s << QByteArray() << u"since"_s;
    QTest::newRow("since text") << u"since=abc"_s << QByteArray() << u"since"_s;
    QTest::newRow("envelope") << u"envelope=maybe"_s << QByteArray() << u"envelope"_s;
    QTest::newRow("Last-Event-ID") << QString() << QByteArray("x7") << u"Last-Event-ID"_s;
    QTest::newRow("follow") << u"follow=maybe"_s << QByteArray() << u"follow"_s;
}

void TstApiEventLogs::badParameters()
{
    QFETCH(QString, query);
    QFETCH(QByteArray, lastEventId);
    QFETCH(QString, parameter);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString id = runJob(env);
    QVERIFY(!id.isEmpty());
    const QString path = parameter == "follow"_L1 ? u"/api/v1/jobs/%1/events"_s.arg(id) : u"/api/v1/events"_s;
    SseClient c;
    c.open(env.port(), (path + u'?' + query).toUtf8(),
           lastEventId.isEmpty() ? Headers{} : Headers{{"Last-Event-ID", lastEventId}});
    QVERIFY(c.waitHead());
    QVERIFY(c.waitEnded());
    QCOMPARE(c.status(), 400);
    const QJsonObject error = jsonOf(c.body())[u"error"_s].toObject();
    QCOMPARE(error[u"code"_s].toString(), u"invalid_request"_s);
    QCOMPARE(error[u"details"_s][u"parameter"_s].toString(), parameter);
    QCOMPARE(env.server().sseStatsJson()[u"opened"_s].toInt(), 0);
}

void TstApiEventLogs::followEndsWithTheJob_data()
{
    QTest::addColumn<bool>("live");
    QTest::newRow("opened while it runs") << true;
    QTest::newRow("opened after it ended") << false;
}

void TstApiEventLogs::followEndsWithTheJob()
{
    QFETCH(bool, live);
    ApiTestEnv env;
    QVERIFY(env.ok());
    QString id;
    if (live) {
        env.fake().setSteps(10);
        env.fake().setStepIntervalMs(40); // long enough for the stream to open before the end
        const HttpResult r = env.call("POST", u"/api/v1/jobs"_s, R"({"workflow": "sd15"})");
        QCOMPARE(r.status, 202);
        id = r.json()[u"id"_s].toString();
    } else {
        id = runJob(env);
    }
    QVERIFY(!id.isEmpty());
    SseClient sse;
    QVERIFY(openStream(sse, env, u"/api/v1/jobs/%1/events?follow=true"_s.arg(id).toUtf8()));
    QCOMPARE(sse.status(), 200);
    const qint64 openedAt = env.hub().lastSeq();
    QVERIFY(sse.waitEnded());
    QVERIFY(!sse.protocolError());
    QVERIFY(!sse.events().isEmpty());
    QCOMPARE(sse.events().last().event, u"job_finished"_s);
    for (const SseEvent &e : sse.events())
        QCOMPARE(protocol::parseRelayEnvelope(e.data).value_or(protocol::RelayEnvelope{}).jobId, id);
    // Everything of the job up to its final event, from the log and live, once each and in order.
    QList<qint64> expected;
    for (const RelayEventPtr &e : env.hub().jobEvents(id).events) {
        expected.append(e->seq());
        if (e->type() == "job_finished"_L1)
            break;
    }
    QCOMPARE(sse.seqs(), expected);
    if (live)
        QVERIFY2(sse.seqs().last() > openedAt,
                 "the job ended before the stream opened; the live path was not exercised");
    const QJsonObject stats = env.server().sseStatsJson();
    QCOMPARE(stats[u"streams"_s].toInt(), 0);
    QCOMPARE(stats[u"ended"_s][u"completed"_s].toInt(), 1);
    // The connection stays usable (keep-alive) after the stream's end: nothing broken was left on it.
    QVERIFY(!sse.isDisconnected());
}

QTEST_GUILESS_MAIN(TstApiEventLogs)
#include "tst_apieventlogs.moc"
