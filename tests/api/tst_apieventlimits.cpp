// Server-Sent Events hygiene and limits: the frame encoding, auth, the stream limit, heartbeats, HEAD, /system's
// relay/hub/stream stats, a stalled reader closed past the hard limit while another reader keeps everything, and
// a server destroyed with a stream, a job wait and a download open.

#include "tests/api/apieventstesthelpers.h"

#include "core/api/ssestream.h"
#include "tests/support/authcases.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

class TstApiEventLimits : public QObject
{
    Q_OBJECT

private slots:
    void encodeSseEvent_data();
    void encodeSseEvent();
    void auth_data();
    void auth();
    void authRule_data();
    void authRule();
    void streamLimit();
    void heartbeat();
    void headRequest();
    void systemShowsRelayHubAndStreams();
    void slowReaderClosedOthersUnaffected();
    void shutdownWithOpenConnections();
};

void TstApiEventLimits::encodeSseEvent_data()
{
    QTest::addColumn<QString>("event");
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<qint64>("id");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("full") << u"progress"_s << QByteArray(R"({"a":1})") << qint64(12)
                          << QByteArray("id: 12\nevent: progress\ndata: {\"a\":1}\n\n");
    QTest::newRow("no id") << u"relay_gap"_s << QByteArray("{}") << qint64(0)
                           << QByteArray("event: relay_gap\ndata: {}\n\n");
    QTest::newRow("no event") << QString() << QByteArray("x") << qint64(3) << QByteArray("id: 3\ndata: x\n\n");
    QTest::newRow("lines") << u"e"_s << QByteArray("{\n\"a\": 1\n}") << qint64(1)
                           << QByteArray("id: 1\nevent: e\ndata: {\ndata: \"a\": 1\ndata: }\n\n");
    QTest::newRow("crlf and cr") << u"e"_s << QByteArray("a\r\nb\rc") << qint64(1)
                                 << QByteArray("id: 1\nevent: e\ndata: a\ndata: b\ndata: c\n\n");
    QTest::newRow("hostile type") << u"x\r\nid: 99\n"_s << QByteArray("{}") << qint64(2)
                                  << QByteArray("id: 2\nevent: xid: 99\ndata: {}\n\n");
}

void TstApiEventLimits::encodeSseEvent()
{
    QFETCH(QString, event);
    QFETCH(QByteArray, data);
    QFETCH(qint64, id);
    QFETCH(QByteArray, expected);
    QCOMPARE(cr::encodeSseEvent(event, data, id), expected);
}

void TstApiEventLimits::auth_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("authorization");
    QTest::addColumn<int>("status");
    QTest::newRow("job log, no token") << QByteArray("/api/v1/jobs/x/events") << QByteArray() << 401;
    QTest::newRow("job stream, no token") << QByteArray("/api/v1/jobs/x/events?follow=true") << QByteArray() << 401;
    QTest::newRow("query token elsewhere") << QByteArray("/api/v1/jobs?token=s3cret") << QByteArray() << 401;
    QTest::newRow("bearer") << QByteArray("/api/v1/events") << QByteArray("Bearer s3cret") << 200;
}

void TstApiEventLimits::auth()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, authorization);
    QFETCH(int, status);
    ApiTestEnv env(u"s3cret"_s);
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(
        openStream(sse, env, path, authorization.isEmpty() ? Headers{} : Headers{{"Authorization", authorization}}));
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

void TstApiEventLimits::authRule_data()
{
    addAuthRows(); // the shared table of core/common/auth.h's rule; event streams accept ?token=
}

// Every combination of header and ?token= on both event-stream routes.
void TstApiEventLimits::authRule()
{
    QFETCH(QString, query);
    QFETCH(QByteArray, header);
    QFETCH(bool, withQuery);
    ApiTestEnv env(kAuthToken);
    QVERIFY(env.ok());
    for (const QByteArray &path : {QByteArray("/api/v1/events"), QByteArray("/api/v1/jobs/x/events")}) {
        SseClient sse;
        const QByteArray target = query.isEmpty() ? path : path + '?' + query.toUtf8();
        QVERIFY(openStream(sse, env, target, header.isEmpty() ? Headers{} : Headers{{"Authorization", header}}));
        if (withQuery) {
            QVERIFY2(sse.status() != 401, target.constData());
        } else {
            QCOMPARE(sse.status(), 401);
            QVERIFY(sse.waitEnded());
            QCOMPARE(jsonOf(sse.body())[u"error"_s][u"code"_s].toString(), u"unauthorized"_s);
        }
    }
}

void TstApiEventLimits::streamLimit()
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

void TstApiEventLimits::heartbeat()
{
    ApiTestEnv env({}, [](Config &c) { c.http.eventHeartbeatMs = 20; }); // [http-server] event_heartbeat
    QVERIFY(env.ok());
    SseClient sse;
    QVERIFY(openStream(sse, env, "/api/v1/events?types=none_of_these"));
    QVERIFY(sse.waitForComments(2));
    QVERIFY(sse.events().isEmpty());
}

void TstApiEventLimits::headRequest()
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

void TstApiEventLimits::systemShowsRelayHubAndStreams()
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

void TstApiEventLimits::slowReaderClosedOthersUnaffected()
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
void TstApiEventLimits::shutdownWithOpenConnections()
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

QTEST_GUILESS_MAIN(TstApiEventLimits)
#include "tst_apieventlimits.moc"
