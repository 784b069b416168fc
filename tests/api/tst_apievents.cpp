// Job event logs and Server-Sent Events against the fake ComfyUI: a run's log (ordered, complete), 404s,
// the all-events stream in order with ids, Last-Event-ID / since= resume, relay_gap when the ring no longer
// has the events, follow=true ending with the job, the relay's filters, auth, the stream limit, heartbeats,
// a stalled reader closed past the hard limit while another reader keeps everything, and a server destroyed
// with a stream, a job wait and a download open.

#include "tests/api/apitestenv.h"
#include "tests/api/sseclient.h"

#include "core/api/ssestream.h"
#include "protocol/relaymessages.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

using Headers = QList<QPair<QByteArray, QByteArray>>;

const QByteArray kRunAndWait = R"({"workflow": "sd15", "inputs": {"prompt": "a fox"}, "wait": true})";

QList<qint64> range(qint64 from, qint64 to)
{
    QList<qint64> out;
    for (qint64 i = from; i <= to; ++i)
        out.append(i);
    return out;
}

QList<qint64> seqsOf(const QList<RelayEventPtr> &events)
{
    QList<qint64> out;
    for (const RelayEventPtr &e : events)
        out.append(e->seq());
    return out;
}

// The events after `before`: a stream registered just before `before` was read may also have got one more.
QList<SseEvent> after(const QList<SseEvent> &events, qint64 before)
{
    QList<SseEvent> out;
    for (const SseEvent &e : events)
        if (e.id.isEmpty() || e.seq() > before)
            out.append(e);
    return out;
}

QList<qint64> seqsOf(const QList<SseEvent> &events)
{
    QList<qint64> out;
    for (const SseEvent &e : events)
        out.append(e.seq());
    return out;
}

QJsonObject jsonOf(const QByteArray &data)
{
    return QJsonDocument::fromJson(data).object();
}

QString runJob(ApiTestEnv &env)
{
    const HttpResult r = env.call("POST", u"/api/v1/jobs"_s, kRunAndWait);
    if (r.status != 200 || r.json()[u"state"_s].toString() != "succeeded"_L1)
        return {};
    return r.json()[u"id"_s].toString();
}

// Opens an SSE request and waits for the response head.
bool openStream(SseClient &client, ApiTestEnv &env, const QByteArray &pathAndQuery, const Headers &headers = {},
                bool stalled = false)
{
    client.open(env.port(), pathAndQuery, headers, stalled);
    return client.waitHead();
}

} // namespace

class TstApiEvents : public QObject
{
    Q_OBJECT

private slots:
    void encodeSseEvent_data();
    void encodeSseEvent();
    void jobEventLog();
    void unknownJob_data();
    void unknownJob();
    void badParameters_data();
    void badParameters();
    void allEventsStreamInOrder();
    void rawEventsWithoutEnvelope();
    void resume_data();
    void resume();
    void gapWhenTooOld_data();
    void gapWhenTooOld();
    void followEndsWithTheJob_data();
    void followEndsWithTheJob();
    void filters_data();
    void filters();
    void auth_data();
    void auth();
    void streamLimit();
    void heartbeat();
    void headRequest();
    void systemShowsRelayHubAndStreams();
    void slowReaderClosedOthersUnaffected();
    void shutdownWithOpenConnections();
};

void TstApiEvents::encodeSseEvent_data()
{
    QTest::addColumn<QString>("event");
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<qint64>("id");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("full") << u"progress"_s << QByteArray(R"({"a":1})") << qint64(12)
                          << QByteArray("id: 12\nevent: progress\ndata: {\"a\":1}\n\n");
    QTest::newRow("no id") << u"relay_gap"_s << QByteArray("{}") << qint64(0) << QByteArray("event: relay_gap\ndata: {}\n\n");
    QTest::newRow("no event") << QString() << QByteArray("x") << qint64(3) << QByteArray("id: 3\ndata: x\n\n");
    QTest::newRow("lines") << u"e"_s << QByteArray("{\n\"a\": 1\n}") << qint64(1)
                           << QByteArray("id: 1\nevent: e\ndata: {\ndata: \"a\": 1\ndata: }\n\n");
    QTest::newRow("crlf and cr") << u"e"_s << QByteArray("a\r\nb\rc") << qint64(1)
                                 << QByteArray("id: 1\nevent: e\ndata: a\ndata: b\ndata: c\n\n");
    QTest::newRow("hostile type") << u"x\r\nid: 99\n"_s << QByteArray("{}") << qint64(2)
                                  << QByteArray("id: 2\nevent: xid: 99\ndata: {}\n\n");
}

void TstApiEvents::encodeSseEvent()
{
    QFETCH(QString, event);
    QFETCH(QByteArray, data);
    QFETCH(qint64, id);
    QFETCH(QByteArray, expected);
    QCOMPARE(cr::encodeSseEvent(event, data, id), expected);
}

void TstApiEvents::jobEventLog()
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
    QVERIFY2(queued >= 0 && queued < types.indexOf(u"job_started"_s) && queued < finished, qPrintable(types.join(u',')));
    QVERIFY(types.contains(u"progress"_s));

    // since= leaves out what the caller has.
    const HttpResult tail = env.call("GET", u"/api/v1/jobs/%1/events?since=%2"_s.arg(id).arg(seqs.at(2)));
    QCOMPARE(tail.status, 200);
    const QJsonArray rest = tail.json()[u"events"_s].toArray();
    QCOMPARE(rest.size(), events.size() - 3);
    QCOMPARE(rest.first()[u"seq"_s].toInteger(), seqs.at(3));
}

void TstApiEvents::unknownJob_data()
{
    QTest::addColumn<QString>("path");
    QTest::newRow("log") << u"/api/v1/jobs/nope/events"_s;
    QTest::newRow("follow") << u"/api/v1/jobs/nope/events?follow=true"_s;
}

void TstApiEvents::unknownJob()
{
    QFETCH(QString, path);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", path);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), u"job_not_found"_s);
    QCOMPARE(r.json()[u"error"_s][u"details"_s][u"job_id"_s].toString(), u"nope"_s);
}

void TstApiEvents::badParameters_data()
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

void TstApiEvents::badParameters()
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

void TstApiEvents::allEventsStreamInOrder()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events"));
    QCOMPARE(sse.status(), 200);
    QCOMPARE(sse.header("Content-Type"), QByteArray("text/event-stream"));
    QCOMPARE(sse.header("Transfer-Encoding"), QByteArray("chunked"));
    const qint64 before = env.hub().lastSeq(); // the stream is registered once its head is out
    const QString id = runJob(env);
    QVERIFY(!id.isEmpty());
    const QList<RelayEventPtr> expected = env.hub().eventsSince(before).events;
    QVERIFY(!expected.isEmpty());
    QVERIFY(sse.waitUntil([&] { return after(sse.events(), before).size() >= expected.size(); }));
    const QList<SseEvent> got = after(sse.events(), before).mid(0, expected.size());
    QCOMPARE(seqsOf(got), seqsOf(expected));
    QCOMPARE(sse.retry(), QByteArray::number(env.server().sseLimits().retryMs));
    bool sawFinished = false;
    for (qsizetype i = 0; i < expected.size(); ++i) {
        const SseEvent &e = got.at(i);
        QCOMPARE(e.event, expected.at(i)->type());
        QCOMPARE(e.data, expected.at(i)->envelopeBytes());
        const auto envelope = protocol::parseRelayEnvelope(e.data);
        QVERIFY(envelope);
        QCOMPARE(envelope->seq, e.seq());
        QCOMPARE(envelope->type, e.event);
        sawFinished = sawFinished || (e.event == "job_finished"_L1 && envelope->jobId == id);
    }
    QVERIFY(sawFinished);
    QVERIFY(!sse.protocolError());
}

void TstApiEvents::rawEventsWithoutEnvelope()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events?envelope=0"));
    const qint64 before = env.hub().lastSeq();
    QVERIFY(!runJob(env).isEmpty());
    const QList<RelayEventPtr> expected = env.hub().eventsSince(before).events;
    QVERIFY(sse.waitUntil([&] { return after(sse.events(), before).size() >= expected.size(); }));
    const QList<SseEvent> got = after(sse.events(), before);
    for (qsizetype i = 0; i < expected.size(); ++i) {
        QCOMPARE(got.at(i).seq(), expected.at(i)->seq());
        QCOMPARE(got.at(i).data, expected.at(i)->raw()); // ComfyUI's bytes as received
    }
}

void TstApiEvents::resume_data()
{
    QTest::addColumn<bool>("header");
    QTest::addColumn<QString>("query");
    QTest::newRow("Last-Event-ID") << true << QString();
    QTest::newRow("since=") << false << u"since=%1"_s;
    QTest::newRow("Last-Event-ID wins over since=") << true << u"since=0"_s;
}

void TstApiEvents::resume()
{
    QFETCH(bool, header);
    QFETCH(QString, query);
    ApiTestEnv env;
    QVERIFY(env.ok());
    QVERIFY(!runJob(env).isEmpty());
    const QList<RelayEventPtr> all = env.hub().eventsSince(0).events;
    QVERIFY(all.size() > 4);
    const qint64 last = all.at(all.size() / 2)->seq(); // what the client had processed
    QByteArray path = "/api/v1/events";
    if (!query.isEmpty())
        path += '?' + (query.contains("%1"_L1) ? query.arg(last) : query).toUtf8();
    SseClient sse;
    QVERIFY(openStream(sse, env, path, header ? Headers{{"Last-Event-ID", QByteArray::number(last)}} : Headers{}));
    const qint64 newest = env.hub().lastSeq();
    QVERIFY(sse.waitForEvents(newest - last));
    QCOMPARE(sse.seqs().mid(0, newest - last), range(last + 1, newest));
    QVERIFY(!sse.types().contains(u"relay_gap"_s));
}

void TstApiEvents::gapWhenTooOld_data()
{
    QTest::addColumn<QByteArray>("since"); // "" = one past the newest event + 99 (an id from before a restart)
    QTest::addColumn<bool>("header");      // Last-Event-ID, else ?since=
    QTest::addColumn<QString>("reason");
    QTest::newRow("evicted") << QByteArray("1") << true << u"evicted"_s;
    QTest::newRow("unknown seq (restart)") << QByteArray() << true << u"unknown_seq"_s;
    // The largest id a client can send: no `since + 1` overflow in the hub.
    QTest::newRow("INT64_MAX Last-Event-ID") << QByteArray("9223372036854775807") << true << u"unknown_seq"_s;
    QTest::newRow("INT64_MAX since=") << QByteArray("9223372036854775807") << false << u"unknown_seq"_s;
}

void TstApiEvents::gapWhenTooOld()
{
    QFETCH(QByteArray, since);
    QFETCH(bool, header);
    QFETCH(QString, reason);
    constexpr int kRing = 4;
    ApiTestEnv env({}, [](Config &c) { c.relay.replayEvents = kRing; });
    QVERIFY(env.ok());
    QVERIFY(!runJob(env).isEmpty());
    QVERIFY(env.hub().lastSeq() > kRing + 1);
    if (since.isEmpty())
        since = QByteArray::number(env.hub().lastSeq() + 100);
    SseClient sse;
    QVERIFY(openStream(sse, env, header ? "/api/v1/events" : "/api/v1/events?since=" + since,
                       header ? Headers{{"Last-Event-ID", since}} : Headers{}));
    QCOMPARE(sse.status(), 200);
    QVERIFY(sse.waitForEvents(1 + kRing));
    const SseEvent gap = sse.events().first();
    QCOMPARE(gap.event, u"relay_gap"_s);
    QVERIFY(gap.id.isEmpty()); // does not move the client's Last-Event-ID
    const QJsonObject data = jsonOf(gap.data)[u"data"_s].toObject();
    QCOMPARE(jsonOf(gap.data)[u"type"_s].toString(), u"relay_gap"_s);
    QCOMPARE(data[u"since"_s].toDouble(), double(since.toLongLong())); // a JSON number: exact up to 2^53
    QCOMPARE(data[u"reason"_s].toString(), reason);
    const qint64 first = data[u"first_seq"_s].toInteger(), last = data[u"last_seq"_s].toInteger();
    QCOMPARE(last - first + 1, kRing);
    QVERIFY(first > 1);
    QCOMPARE(sse.seqs().mid(0, kRing), range(first, last));
}

void TstApiEvents::followEndsWithTheJob_data()
{
    QTest::addColumn<bool>("live");
    QTest::newRow("opened while it runs") << true;
    QTest::newRow("opened after it ended") << false;
}

void TstApiEvents::followEndsWithTheJob()
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
        QVERIFY2(sse.seqs().last() > openedAt, "the job ended before the stream opened; the live path was not exercised");
    const QJsonObject stats = env.server().sseStatsJson();
    QCOMPARE(stats[u"streams"_s].toInt(), 0);
    QCOMPARE(stats[u"ended"_s][u"completed"_s].toInt(), 1);
    // The connection stays usable (keep-alive) after the stream's end: nothing broken was left on it.
    QVERIFY(!sse.isDisconnected());
}

void TstApiEvents::filters_data()
{
    QTest::addColumn<QString>("query"); // %1 = the first job's id
    QTest::addColumn<QStringList>("types"); // empty = every type
    QTest::addColumn<bool>("firstJobOnly");
    const QStringList ends{u"job_queued"_s, u"job_finished"_s};
    QTest::newRow("types list") << u"types=job_queued,job_finished"_s << ends << false;
    QTest::newRow("type repeated") << u"type=job_queued&type=job_finished"_s << ends << false;
    QTest::newRow("jobs") << u"jobs=%1"_s << QStringList() << true;
    QTest::newRow("jobs and types") << u"jobs=%1&types=progress,job_finished"_s
                                    << QStringList{u"progress"_s, u"job_finished"_s} << true;
}

void TstApiEvents::filters()
{
    QFETCH(QString, query);
    QFETCH(QStringList, types);
    QFETCH(bool, firstJobOnly);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString first = runJob(env);
    QVERIFY(!first.isEmpty());
    QVERIFY(!runJob(env).isEmpty());
    // Replay from 0 with the filter, then a sentinel that passes it: whatever came before the sentinel is
    // exactly what the filter let through.
    SseClient sse;
    const QString q = query.contains("%1"_L1) ? query.arg(first) : query;
    QVERIFY(openStream(sse, env, ("/api/v1/events?since=0&" + q).toUtf8()));
    const RelayEventPtr sentinel = env.hub().publishServiceEvent(u"job_finished"_s, {{u"sentinel"_s, true}}, first);
    QList<qint64> expected;
    for (const RelayEventPtr &e : env.hub().eventsSince(0).events) {
        if ((types.isEmpty() || types.contains(e->type())) && (!firstJobOnly || e->jobId() == first))
            expected.append(e->seq());
    }
    QCOMPARE(expected.last(), sentinel->seq());
    QVERIFY(sse.waitForEvents(expected.size()));
    QCOMPARE(sse.seqs(), expected);
    QVERIFY(expected.size() > 2);
}

void TstApiEvents::auth_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("authorization");
    QTest::addColumn<int>("status");
    QTest::newRow("no token") << QByteArray("/api/v1/events") << QByteArray() << 401;
    QTest::newRow("wrong bearer") << QByteArray("/api/v1/events") << QByteArray("Bearer nope") << 401;
    QTest::newRow("wrong query token") << QByteArray("/api/v1/events?token=nope") << QByteArray() << 401;
    QTest::newRow("job log, no token") << QByteArray("/api/v1/jobs/x/events") << QByteArray() << 401;
    QTest::newRow("job stream, no token") << QByteArray("/api/v1/jobs/x/events?follow=true") << QByteArray() << 401;
    QTest::newRow("bearer") << QByteArray("/api/v1/events") << QByteArray("Bearer s3cret") << 200;
    QTest::newRow("query token (EventSource)") << QByteArray("/api/v1/events?token=s3cret") << QByteArray() << 200;
    QTest::newRow("query token elsewhere") << QByteArray("/api/v1/jobs?token=s3cret") << QByteArray() << 401;
}

void TstApiEvents::auth()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, authorization);
    QFETCH(int, status);
    ApiTestEnv env(u"s3cret"_s);
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(openStream(sse, env, path, authorization.isEmpty() ? Headers{} : Headers{{"Authorization", authorization}}));
    QCOMPARE(sse.status(), status);
    if (status == 401) {
        QVERIFY(sse.waitEnded());
        QCOMPARE(jsonOf(sse.body())[u"error"_s][u"code"_s].toString(), u"unauthorized"_s);
        QCOMPARE(env.server().sseStatsJson()[u"opened"_s].toInt(), 0);
    } else {
        QCOMPARE(sse.header("Content-Type"), QByteArray("text/event-stream"));
        QCOMPARE(env.server().sseStatsJson()[u"streams"_s].toInt(), 1);
    }
}

void TstApiEvents::streamLimit()
{
    ApiTestEnv env({}, [](Config &c) { c.http.maxEventStreams = 2; }); // [http-server] max_event_streams
    QVERIFY(env.ok());
    QCOMPARE(env.server().sseLimits().maxStreams, 2);
    SseClient a, b, c;
    QVERIFY(openStream(a, env, "/api/v1/events"));
    QVERIFY(openStream(b, env, "/api/v1/events?types=progress"));
    QCOMPARE(a.status(), 200);
    QCOMPARE(b.status(), 200);
    QVERIFY(openStream(c, env, "/api/v1/events"));
    QCOMPARE(c.status(), 503);
    QVERIFY(c.waitEnded());
    QCOMPARE(jsonOf(c.body())[u"error"_s][u"code"_s].toString(), u"too_many_streams"_s);
    QCOMPARE(c.header("Retry-After"), QByteArray("5"));
    QCOMPARE(env.server().sseStatsJson()[u"rejected"_s].toInt(), 1);
    // A stream that ends frees its place.
    a.close();
    QTRY_COMPARE_WITH_TIMEOUT(env.server().sseStatsJson()[u"streams"_s].toInt(), 1, 5000);
    SseClient d;
    QVERIFY(openStream(d, env, "/api/v1/events"));
    QCOMPARE(d.status(), 200);
    QCOMPARE(env.server().sseStatsJson()[u"ended"_s][u"client_left"_s].toInt(), 1);
}

void TstApiEvents::heartbeat()
{
    ApiTestEnv env({}, [](Config &c) { c.http.eventHeartbeatMs = 20; }); // [http-server] event_heartbeat
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events?types=none_of_these"));
    QVERIFY(sse.waitForComments(2));
    QVERIFY(sse.events().isEmpty());
}

void TstApiEvents::headRequest()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    SseClient sse;
    sse.open(env.port(), "/api/v1/events", {}, false, "HEAD");
    QVERIFY(sse.waitHead());
    QCOMPARE(sse.status(), 200);
    QCOMPARE(sse.header("Content-Type"), QByteArray("text/event-stream"));
    QCOMPARE(env.server().sseStatsJson()[u"streams"_s].toInt(), 0);
    // The connection is free for the next request: a HEAD answer has no body.
    const HttpResult r = env.call("GET", u"/api/v1/health"_s);
    QCOMPARE(r.status, 200);
}

void TstApiEvents::systemShowsRelayHubAndStreams()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QVERIFY(!runJob(env).isEmpty());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events"));
    const HttpResult r = env.call("GET", u"/api/v1/system"_s);
    QCOMPARE(r.status, 200);
    const QJsonObject body = r.json();
    QCOMPARE(body[u"relay"_s][u"listening"_s].toBool(), true);
    QCOMPARE(body[u"relay"_s][u"clients"_s].toInt(), 0);
    QCOMPARE(body[u"event_hub"_s][u"last_seq"_s].toInteger(), env.hub().lastSeq());
    QCOMPARE(body[u"sse"_s][u"streams"_s].toInt(), 1);
    QCOMPARE(body[u"sse"_s][u"max_streams"_s].toInt(), env.server().sseLimits().maxStreams);
    QCOMPARE(body[u"sse"_s][u"per_stream"_s].toArray().size(), 1);
    QVERIFY(body.contains(u"comfyui"_s));
}

void TstApiEvents::slowReaderClosedOthersUnaffected()
{
    constexpr qint64 kSoft = 16 * 1024, kHard = 128 * 1024;
    constexpr int kPad = 8000;
    ApiTestEnv env({}, [](Config &c) {
        c.relay.softLimitBytes = kSoft;
        c.relay.hardLimitBytes = kHard;
        c.relay.replayEvents = 100'000;
    });
    QVERIFY(env.ok());
    SseClient slow, healthy;
    QVERIFY(openStream(slow, env, "/api/v1/events", {}, true));
    QVERIFY(openStream(healthy, env, "/api/v1/events"));
    const qint64 before = env.hub().lastSeq();

    // Publish until the stalled stream is dropped; the healthy one gets each event before the next.
    qsizetype published = 0;
    while (env.server().sseStatsJson()[u"ended"_s][u"too_slow"_s].toInt() == 0) {
        QVERIFY2(published < 20'000, "the stalled stream was never closed");
        env.hub().publishServiceEvent(u"job_progress"_s, {{u"pad"_s, QString(kPad, u'x')}}, u"J"_s);
        ++published;
        QVERIFY(healthy.waitUntil([&] { return after(healthy.events(), before).size() >= published; }));
        // The budget holds: what a stream keeps never goes beyond the hard limit plus one event.
        for (const QJsonValue &s : env.server().sseStatsJson()[u"per_stream"_s].toArray())
            QVERIFY(s[u"queued_bytes"_s].toInteger() + s[u"bytes_to_write"_s].toInteger() <= kHard + 2 * kPad);
    }
    QCOMPARE(env.server().sseStatsJson()[u"streams"_s].toInt(), 1);
    QCOMPARE(seqsOf(after(healthy.events(), before)), range(before + 1, env.hub().lastSeq()));
    QVERIFY(!healthy.isDisconnected());

    // The dropped reader finds its stream closed and resumes with Last-Event-ID: exactly the missed events.
    slow.resume();
    QVERIFY(slow.waitDisconnected());
    const QList<qint64> got = seqsOf(after(slow.events(), before));
    QVERIFY(got.size() < published);
    if (!got.isEmpty())
        QCOMPARE(got, range(before + 1, got.last()));
    const qint64 last = got.isEmpty() ? before : got.last();
    SseClient again;
    QVERIFY(openStream(again, env, "/api/v1/events", {{"Last-Event-ID", QByteArray::number(last)}}));
    QVERIFY(again.waitForEvents(env.hub().lastSeq() - last));
    QCOMPARE(again.seqs(), range(last + 1, env.hub().lastSeq()));
    QVERIFY(!again.types().contains(u"relay_gap"_s));
}

// The server destroyed with an event stream, a job wait and an output download open: every client's connection
// is closed and every client gets an end (the ASan/UBSan build also checks that no socket signals into a
// half-destroyed object on the way).
void TstApiEvents::shutdownWithOpenConnections()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString done = runJob(env);
    QVERIFY(!done.isEmpty());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events"));
    QCOMPARE(sse.status(), 200);
    env.fake().setStepIntervalMs(600'000); // the next job (new inputs: nothing cached) stays running
    QNetworkReply *waiting = env.send("POST", u"/api/v1/jobs"_s,
                                      R"({"workflow": "sd15", "inputs": {"prompt": "a slow fox"}, "wait": true})");
    QTRY_COMPARE_WITH_TIMEOUT(env.server().waitingCount(), 1, 5000);
    env.fake().setStallHttp(true); // the download's /view request is never answered
    QNetworkReply *download = env.send("GET", u"/api/v1/jobs/%1/outputs/0"_s.arg(done));
    QTRY_COMPARE_WITH_TIMEOUT(env.server().downloadCount(), 1, 5000);
    QCOMPARE(env.server().sseStatsJson()[u"streams"_s].toInt(), 1);
    QVERIFY2(!waiting->isFinished(), waiting->readAll().constData());
    QVERIFY2(!download->isFinished(), download->readAll().constData());

    env.stopServer();
    QVERIFY(sse.waitDisconnected(5000));
    QVERIFY(!sse.isEnded()); // cut off, not completed
    QTRY_VERIFY_WITH_TIMEOUT(waiting->isFinished() && download->isFinished(), 5000);
    QVERIFY(waiting->error() != QNetworkReply::NoError);
    QVERIFY(download->error() != QNetworkReply::NoError);
    delete waiting;
    delete download;
}

QTEST_GUILESS_MAIN(TstApiEvents)
#include "tst_apievents.moc"
