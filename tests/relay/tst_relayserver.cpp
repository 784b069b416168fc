// RelayServer with real QWebSocket clients on port 0: legacy framing for every captured frame, each
// subscription filter (query and hello), type-4 previews, envelope, preview rate limit, replay with since=
// and the gap marker. Auth and limits are in tst_relayhygiene.cpp.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "protocol/relaymessages.h"
#include "relayfixture.h"
#include "sim/capture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

#include <memory>

using namespace cr;
using namespace cr::protocol;
using namespace cr::sim;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

QByteArray helloFromQuery(const QString &query)
{
    RelaySubscription s;
    parseRelayQuery(QUrlQuery(query)).value().subscription.applyTo(s);
    return encodeRelayHello(s);
}

} // namespace

// The WebSocket relay end to end, with real clients.
class TstRelayServer final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void legacyClientsGetComfyBytesAndType1Frames();
    void filters_data();
    void filters();
    void filtersViaHello_data();
    void filtersViaHello();
    void subscribeChangesLiveSubscription();
    void type4PreviewsCarryJobId();
    void envelopeCarriesSeqTimestampAndJob();
    void previewRateLimit();
    void replaySince_data();
    void replaySince();
    void replayViaHelloSkipsLiveEvents();

private:
    QList<Capture> m_captures;
};

void TstRelayServer::initTestCase()
{
    for (const QString &s : captureScenarios()) {
        QString error;
        auto capture = Capture::load(s, &error);
        QVERIFY2(capture, qPrintable(error));
        m_captures.append(std::move(*capture));
    }
    QVERIFY2(!m_captures.isEmpty(), qPrintable(u"no captures in "_s + capturesDir()));
}

void TstRelayServer::legacyClientsGetComfyBytesAndType1Frames()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe a, b; // two clients: frames are shared between them
    a.open(relay.url());
    b.open(relay.url());
    QVERIFY(a.waitConnected());
    QVERIFY(b.waitConnected());

    QList<WsMessage> expected;
    int previews = 0, type4 = 0;
    for (const Capture &capture : m_captures) {
        for (const CaptureRecord &r : capture.wsIn()) {
            if (r.isText()) {
                relay.hub->publishComfyEvent(parseTextFrame(r.text).value(), u"job"_s);
                expected.append({false, r.text});
            } else if (r.isBinary() && !r.binary.isEmpty()) {
                const auto frame = parseBinaryFrame(r.binary);
                QVERIFY(frame && frame->preview);
                // The exact type-1 bytes, built here from the recorded frame (not with the relay's encoder).
                const quint32 type = qFromBigEndian<quint32>(r.binary.constData());
                QByteArray want(8, '\0');
                qToBigEndian<quint32>(1, want.data());
                if (type == 1) {
                    want = r.binary;
                    relay.hub->publishPreview(*frame->preview, u"job"_s, r.binary); // as ComfyClient passes it
                } else {
                    QCOMPARE(type, 4u);
                    ++type4;
                    const qsizetype metaLen = qFromBigEndian<quint32>(r.binary.constData() + 4);
                    const QJsonObject meta = QJsonDocument::fromJson(r.binary.mid(8, metaLen)).object();
                    qToBigEndian<quint32>(meta.value("image_type"_L1).toString() == "image/png"_L1 ? 2 : 1,
                                          want.data() + 4);
                    want.append(r.binary.mid(8 + metaLen));
                    relay.hub->publishPreview(*frame->preview, u"job"_s);
                }
                expected.append({true, want});
                ++previews;
            } else {
                continue;
            }
            // A healthy client: wait for each item, so nothing is held back.
            QVERIFY(a.waitForMessages(expected.size()));
            QVERIFY(b.waitForMessages(expected.size()));
        }
    }
    relay.hub->publishBinary(encodeTextFrame(u"9"_s, u"size"_s)); // legacy clients get no type-3 frames
    QVERIFY(a.roundTrip());
    QVERIFY(b.roundTrip());
    QVERIFY(previews >= 20 && type4 >= 5);
    for (WsProbe *probe : {&a, &b}) {
        QCOMPARE(probe->messages().size(), expected.size());
        for (qsizetype i = 0; i < expected.size(); ++i) {
            QCOMPARE(probe->messages()[i].binary, expected[i].binary);
            QVERIFY2(probe->messages()[i].data == expected[i].data, qPrintable(u"message %1 differs"_s.arg(i)));
        }
    }
}

void TstRelayServer::filters_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QStringList>("expected");

    const QStringList legacy = {u"status@-"_s,   u"job_queued@A"_s,  u"progress@A"_s,     u"preview1:imgA"_s,
                                u"progress@B"_s, u"preview1:imgB"_s, u"job_finished@A"_s, u"executed@B"_s};
    QTest::newRow("legacy") << u""_s << legacy;
    QTest::newRow("job A") << u"jobs=A"_s
                           << QStringList{u"job_queued@A"_s, u"progress@A"_s, u"preview1:imgA"_s, u"job_finished@A"_s};
    QTest::newRow("jobs A,B") << u"jobs=A,B"_s << legacy.mid(1);
    QTest::newRow("type progress") << u"types=progress"_s
                                   << QStringList{u"progress@A"_s, u"preview1:imgA"_s, u"progress@B"_s,
                                                  u"preview1:imgB"_s};
    QTest::newRow("types, previews off") << u"types=status,executed&previews=off"_s
                                         << QStringList{u"status@-"_s, u"executed@B"_s};
    QTest::newRow("previews off") << u"previews=off"_s
                                  << QStringList{u"status@-"_s,   u"job_queued@A"_s,   u"progress@A"_s,
                                                 u"progress@B"_s, u"job_finished@A"_s, u"executed@B"_s};
    QStringList type4 = legacy;
    type4.replace(3, u"preview4@A"_s);
    type4.replace(5, u"preview4@B"_s);
    QTest::newRow("type4") << u"previews=type4"_s << type4;
    QStringList binary = legacy;
    binary.insert(7, u"binary:textA"_s);
    QTest::newRow("binary") << u"binary=1"_s << binary;
    QTest::newRow("job B, type4, binary")
        << u"jobs=B&previews=type4&binary=1"_s << QStringList{u"progress@B"_s, u"preview4@B"_s, u"executed@B"_s};
    QTest::newRow("envelope, job A") << u"envelope=1&jobs=A"_s
                                     << QStringList{u"env:job_queued@A"_s, u"env:progress@A"_s, u"preview1:imgA"_s,
                                                    u"env:job_finished@A"_s};
}

void TstRelayServer::filters()
{
    QFETCH(QString, query);
    QFETCH(QStringList, expected);
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url(query));
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);
    publishScript(*relay.hub);
    QVERIFY(probe.roundTrip());
    QCOMPARE(describeMessages(probe.messages()), expected);
}

void TstRelayServer::filtersViaHello_data() { filters_data(); }

void TstRelayServer::filtersViaHello()
{
    QFETCH(QString, query);
    QFETCH(QStringList, expected);
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    const auto welcome = probe.request(helloFromQuery(query), u"relay_welcome"_s);
    QVERIFY(welcome);
    QCOMPARE(welcome->value("protocol"_L1).toInt(), kRelayProtocolVersion);
    RelaySubscription want;
    parseRelayQuery(QUrlQuery(query)).value().subscription.applyTo(want);
    QCOMPARE(welcome->value("subscription"_L1).toObject(), want.toJson());
    QVERIFY(probe.messages().isEmpty());

    publishScript(*relay.hub);
    QVERIFY(probe.roundTrip());
    QCOMPARE(describeMessages(probe.messages()), expected);
}

void TstRelayServer::subscribeChangesLiveSubscription()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    publishScript(*relay.hub);
    QVERIFY(probe.roundTrip());
    QCOMPARE(probe.messages().size(), 8);
    probe.clear();

    const auto reply = probe.request(R"({"type":"subscribe","data":{"previews":"off","types":["progress"]}})",
                                     u"relay_subscribed"_s);
    QVERIFY(reply);
    QCOMPARE(reply->value("subscription"_L1).toObject().value("previews"_L1).toString(), u"off"_s);
    QCOMPARE(reply->value("last_seq"_L1).toInteger(), relay.hub->lastSeq());
    publishScript(*relay.hub);
    QVERIFY(probe.roundTrip());
    QCOMPARE(describeMessages(probe.messages()), (QStringList{u"progress@A"_s, u"progress@B"_s}));
}

void TstRelayServer::type4PreviewsCarryJobId()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url(u"previews=type4"_s));
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);

    QList<PreviewFrame> sent;
    for (const Capture &capture : m_captures) {
        for (const CaptureRecord &r : capture.wsIn()) {
            if (!r.isBinary() || r.binary.isEmpty() || qFromBigEndian<quint32>(r.binary.constData()) != 4)
                continue;
            const auto frame = parseBinaryFrame(r.binary);
            QVERIFY(frame && frame->preview);
            relay.hub->publishPreview(*frame->preview, u"job-%1"_s.arg(sent.size()));
            sent.append(*frame->preview);
            QVERIFY(probe.waitForMessages(sent.size()));
        }
    }
    QVERIFY(sent.size() >= 5);
    QCOMPARE(probe.messages().size(), sent.size());
    for (qsizetype i = 0; i < sent.size(); ++i) {
        const auto got = parseRelayPreview(probe.messages()[i].data);
        QVERIFY(got);
        QCOMPARE(got->jobId, u"job-%1"_s.arg(i));
        QCOMPARE(got->frame.meta.promptId, sent[i].meta.promptId);
        QCOMPARE(got->frame.meta.nodeId, sent[i].meta.nodeId);
        QCOMPARE(got->frame.format, sent[i].format);
        QVERIFY(got->frame.image == sent[i].image);
    }
}

void TstRelayServer::envelopeCarriesSeqTimestampAndJob()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url(u"envelope=1"_s));
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);

    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    QList<QByteArray> raws;
    for (const CaptureRecord &r : m_captures.first().wsIn()) {
        if (!r.isText())
            continue;
        relay.hub->publishComfyEvent(parseTextFrame(r.text).value(), u"job-A"_s);
        raws.append(r.text);
    }
    relay.hub->publishServiceEvent(u"job_finished"_s, QJsonObject{{"outputs"_L1, QJsonArray{"/view?x"}}}, u"job-A"_s);
    raws.append(relay.hub->eventsSince(relay.hub->lastSeq() - 1).events.first()->raw());
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(probe.roundTrip());

    const QList<QByteArray> texts = probe.texts();
    QCOMPARE(texts.size(), raws.size());
    for (qsizetype i = 0; i < texts.size(); ++i) {
        const auto env = parseRelayEnvelope(texts[i]);
        QVERIFY(env);
        QCOMPARE(env->seq, i + 1);
        QVERIFY(env->timestampMs >= before && env->timestampMs <= after);
        QCOMPARE(env->jobId, u"job-A"_s);
        QVERIFY(texts[i].endsWith("\"event\":" + raws[i] + "}")); // the event's bytes, unchanged
    }
}

void TstRelayServer::previewRateLimit()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe limited, free;
    limited.open(relay.url(u"preview_fps=1"_s));
    free.open(relay.url());
    QVERIFY(limited.waitConnected());
    QVERIFY(free.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 2);

    for (int i = 0; i < 5; ++i) // well within one second
        relay.hub->publishPreview(previewFrame("img" + QByteArray::number(i), u"p"_s), u"A"_s);
    QVERIFY(limited.roundTrip());
    QVERIFY(free.roundTrip());
    QCOMPARE(describeMessages(limited.messages()), QStringList{u"preview1:img0"_s});
    QCOMPARE(free.binaries().size(), 5);

    bool seen = false;
    for (const RelaySessionStats &s : relay.server->clientStats()) {
        if (s.subscription.previewMaxFps == 1) {
            QCOMPARE(s.previewsSent, 1u);
            QCOMPARE(s.previewsRateLimited, 4u);
            QCOMPARE(s.previewsDropped, 0u);
            seen = true;
        } else {
            QCOMPARE(s.previewsSent, 5u);
        }
    }
    QVERIFY(seen);
    const QJsonArray perClient = relay.server->statsJson().value("per_client"_L1).toArray();
    QCOMPARE(perClient.size(), 2);
    QVERIFY(perClient.at(0).toObject().contains("previews_rate_limited"_L1));
}

void TstRelayServer::replaySince_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QString>("gap"); // the expected relay_gap reason; empty: none
    QTest::addColumn<QList<qint64>>("seqs");

    // Ring of 4 after 10 events (odd seqs job J, even K): 7..10 kept; one live event (11, job J) follows.
    QTest::newRow("since 0") << u"since=0"_s << u"evicted"_s << QList<qint64>{7, 8, 9, 10, 11};
    QTest::newRow("since 6") << u"since=6"_s << u""_s << QList<qint64>{7, 8, 9, 10, 11};
    QTest::newRow("since 8") << u"since=8"_s << u""_s << QList<qint64>{9, 10, 11};
    QTest::newRow("since 10") << u"since=10"_s << u""_s << QList<qint64>{11};
    QTest::newRow("since 99") << u"since=99"_s << u"unknown_seq"_s << QList<qint64>{7, 8, 9, 10, 11};
    QTest::newRow("job J since 6") << u"since=6&jobs=J"_s << u""_s << QList<qint64>{7, 9, 11};
}

void TstRelayServer::replaySince()
{
    QFETCH(QString, query);
    QFETCH(QString, gap);
    QFETCH(QList<qint64>, seqs);
    RelayFixture relay(relayTestSettings(), {}, {}, EventHubLimits{4, 100, 10});
    QVERIFY(relay.listen());
    for (int i = 1; i <= 10; ++i)
        relay.hub->publishServiceEvent(u"e%1"_s.arg(i), {}, i % 2 ? u"J"_s : u"K"_s);

    WsProbe probe;
    probe.open(relay.url(query + u"&envelope=1"_s));
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);
    relay.hub->publishServiceEvent(u"e11"_s, {}, u"J"_s);
    QVERIFY(probe.roundTrip());

    QList<WsMessage> messages = probe.messages();
    if (!gap.isEmpty()) {
        QVERIFY(!messages.isEmpty());
        const QJsonObject marker = QJsonDocument::fromJson(messages.takeFirst().data).object();
        QCOMPARE(marker.value("type"_L1).toString(), u"relay_gap"_s);
        const QJsonObject d = marker.value("data"_L1).toObject();
        QCOMPARE(d.value("reason"_L1).toString(), gap);
        QCOMPARE(d.value("first_seq"_L1).toInteger(), 7);
        QCOMPARE(d.value("last_seq"_L1).toInteger(), 10);
    }
    QList<qint64> got;
    for (const WsMessage &m : messages) {
        const auto env = parseRelayEnvelope(m.data);
        QVERIFY2(env, m.data.constData());
        QCOMPARE(env->type, u"e%1"_s.arg(env->seq));
        got.append(env->seq);
    }
    QCOMPARE(got, seqs);
}

void TstRelayServer::replayViaHelloSkipsLiveEvents()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    for (int i = 1; i <= 10; ++i)
        relay.hub->publishServiceEvent(u"e%1"_s.arg(i), {}, u"J"_s);
    WsProbe probe;
    probe.open(relay.url(u"envelope=1"_s));
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);
    relay.hub->publishServiceEvent(u"e11"_s, {}, u"J"_s); // delivered live, before the hello
    relay.hub->publishServiceEvent(u"e12"_s, {}, u"J"_s);
    QVERIFY(probe.waitForMessages(2));

    RelaySubscription s;
    s.envelope = true;
    const auto welcome = probe.request(encodeRelayHello(s, 8), u"relay_welcome"_s);
    QVERIFY(welcome);
    QCOMPARE(welcome->value("last_seq"_L1).toInteger(), 12);
    QCOMPARE(welcome->value("replay"_L1).toObject().value("count"_L1).toInt(), 2);
    QVERIFY(probe.roundTrip());
    QList<qint64> got;
    for (const QByteArray &t : probe.texts())
        got.append(parseRelayEnvelope(t).value().seq);
    QCOMPARE(got, (QList<qint64>{11, 12, 9, 10}));
}

QTEST_GUILESS_MAIN(TstRelayServer)
#include "tst_relayserver.moc"
