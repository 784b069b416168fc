// The all-events Server-Sent Events stream: in order with ids, raw (no envelope), Last-Event-ID / since= resume,
// relay_gap when the ring no longer has the events, and the relay's type and job filters.

#include "tests/api/apieventstesthelpers.h"

#include "protocol/relaymessages.h"

#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

class TstApiEventStreams : public QObject
{
    Q_OBJECT

private slots:
    void allEventsStreamInOrder();
    void rawEventsWithoutEnvelope();
    void resume_data();
    void resume();
    void gapWhenTooOld_data();
    void gapWhenTooOld();
    void filters_data();
    void filters();
};

void TstApiEventStreams::allEventsStreamInOrder()
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

void TstApiEventStreams::rawEventsWithoutEnvelope()
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

void TstApiEventStreams::resume_data()
{
    QTest::addColumn<bool>("header");
    QTest::addColumn<QString>("query");
    QTest::newRow("Last-Event-ID") << true << QString();
    QTest::newRow("since=") << false << u"since=%1"_s;
    QTest::newRow("Last-Event-ID wins over since=") << true << u"since=0"_s;
}

void TstApiEventStreams::resume()
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

void TstApiEventStreams::gapWhenTooOld_data()
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

void TstApiEventStreams::gapWhenTooOld()
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

void TstApiEventStreams::filters_data()
{
    QTest::addColumn<QString>("query");     // %1 = the first job's id
    QTest::addColumn<QStringList>("types"); // empty = every type
    QTest::addColumn<bool>("firstJobOnly");
    const QStringList ends{u"job_queued"_s, u"job_finished"_s};
    QTest::newRow("types list") << u"types=job_queued,job_finished"_s << ends << false;
    QTest::newRow("type repeated") << u"type=job_queued&type=job_finished"_s << ends << false;
    QTest::newRow("jobs") << u"jobs=%1"_s << QStringList() << true;
    QTest::newRow("jobs and types") << u"jobs=%1&types=progress,job_finished"_s
                                    << QStringList{u"progress"_s, u"job_finished"_s} << true;
}

void TstApiEventStreams::filters()
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

QTEST_GUILESS_MAIN(TstApiEventStreams)
#include "tst_apieventstreams.moc"
