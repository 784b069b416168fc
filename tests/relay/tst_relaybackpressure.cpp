// Slow and dead clients, with a hand-made client that stops reading: it loses previews only (the newest one
// is kept), is closed with 4008 past the hard limit and resumes with since= without a gap, while a healthy
// client in the same relay receives everything; a client that never answers pings is closed with 4009.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "protocol/relaymessages.h"
#include "relayfixture.h"
#include "relaytestclients.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

#include <algorithm>
#include <memory>

using namespace cr;
using namespace cr::protocol;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kSoft = 64 * 1024;
constexpr int kEventPad = 8000; // each JSON event is a little over 8 KB

RelaySettings settings(qint64 hardLimit)
{
    RelaySettings s;
    s.host = u"127.0.0.1"_s;
    s.port = 0;
    s.softLimitBytes = kSoft;
    s.hardLimitBytes = hardLimit;
    s.replayEvents = 100'000;
    return s;
}

QList<qint64> envelopeSeqs(const QList<WsMessage> &messages, int *binaries = nullptr)
{
    QList<qint64> out;
    for (const WsMessage &m : messages) {
        if (m.binary) {
            if (binaries)
                ++*binaries;
            continue;
        }
        out.append(parseRelayEnvelope(m.data).value_or(RelayEnvelope{}).seq);
    }
    return out;
}

// Opens `probe` on the relay with the given query and waits for the connection.
bool openHealthy(WsProbe &probe, const RelayServer &server, const char *query = "")
{
    probe.open(QUrl(u"ws://127.0.0.1:%1/"_s.arg(server.port()) + QLatin1StringView(query)));
    return probe.waitConnected();
}

QList<qint64> range(qint64 from, qint64 to)
{
    QList<qint64> out;
    for (qint64 i = from; i <= to; ++i)
        out.append(i);
    return out;
}

} // namespace

// Backpressure and liveness with one stalled client next to a healthy one.
class TstRelayBackpressure final : public QObject
{
    Q_OBJECT

private slots:
    void slowClientLosesOnlyPreviews();
    void hardLimitClosesSlowClientWhichResumes();
    void silentClientClosedAfterPingTimeout();
    void largePreviewDoesNotCloseHealthyClient();
    void burstToAKeepingUpClientIsNotDropped();
    void clientCloseWhileBehindStopsWrites();

private:
    // Publishes one padded JSON event and waits until `healthy` has it: the healthy client is never behind.
    bool publishJson(EventHub &hub, WsProbe &healthy, qsizetype expected);
    // Publishes JSON events (as publishJson, counting in *published) until each client in `ids` has at least
    // `bytes` of them queued in the relay; false if that does not happen within 20 000 events.
    bool publishUntilQueued(EventHub &hub, const RelayServer &server, WsProbe &healthy, const QList<quint64> &ids,
                            qint64 bytes, qsizetype *published);
};

bool TstRelayBackpressure::publishJson(EventHub &hub, WsProbe &healthy, qsizetype expected)
{
    hub.publishServiceEvent(u"job_progress"_s, QJsonObject{{"pad"_L1, QString(kEventPad, u'x')}}, u"J"_s);
    return healthy.waitForMessages(expected);
}

bool TstRelayBackpressure::publishUntilQueued(EventHub &hub, const RelayServer &server, WsProbe &healthy,
                                              const QList<quint64> &ids, qint64 bytes, qsizetype *published)
{
    auto behind = [&] {
        return std::all_of(ids.cbegin(), ids.cend(), [&](quint64 id) {
            const auto s = statsOf(server, id);
            return s && s->queuedBytes >= bytes;
        });
    };
    while (!behind()) {
        if (*published >= 20'000 || !publishJson(hub, healthy, ++*published))
            return false;
    }
    return true;
}

void TstRelayBackpressure::slowClientLosesOnlyPreviews()
{
    EventHub hub;
    RelayServer server(&hub, settings(256ll * 1024 * 1024), {});
    QVERIFY(server.listen());
    QSignalSpy connected(&server, &RelayServer::clientConnected);
    RawWsClient slow;
    QVERIFY(slow.connectStalled(server.port(), "/?envelope=1"));
    QTRY_COMPARE(connected.count(), 1);
    const quint64 slowId = connected.at(0).at(0).toULongLong();
    WsProbe healthy;
    QVERIFY(openHealthy(healthy, server, "?envelope=1"));
    QTRY_COMPARE(connected.count(), 2);

    // Fill the stalled client's socket and kernel buffers until JSON events queue up in the relay.
    qsizetype published = 0;
    QVERIFY2(publishUntilQueued(hub, server, healthy, {slowId}, 8 * kSoft, &published),
             "the stalled client never fell behind");

    // Previews while it is behind: held back, each replaced by the next; the healthy client gets them all.
    constexpr int kPreviews = 10;
    QList<QByteArray> type1;
    for (int i = 0; i < kPreviews; ++i) {
        PreviewFrame frame;
        frame.image = "preview-" + QByteArray::number(i) + QByteArray(2000, 'p');
        type1.append(hub.publishPreview(frame, u"J"_s)->type1Frame());
        QVERIFY(healthy.waitForMessages(published + i + 1));
    }
    const RelaySessionStats behind = statsOf(server, slowId).value();
    QCOMPARE(behind.previewsSent, 0u);
    QCOMPARE(behind.previewsDropped, quint64(kPreviews - 1));
    QVERIFY(behind.bytesToWrite > kSoft);
    const qsizetype jsonBefore = published;
    for (int i = 0; i < 3; ++i) // JSON published after the previews still comes first
        QVERIFY(publishJson(hub, healthy, kPreviews + ++published));

    QCOMPARE(healthy.binaries(), type1);
    QCOMPARE(envelopeSeqs(healthy.messages()), range(1, published));

    // It reads again: every JSON event in order, then only the newest preview.
    slow.resume();
    QVERIFY2(slow.waitForMessages(published + 1, 30000),
             qPrintable(u"got %1 of %2"_s.arg(slow.messages().size()).arg(published + 1)));
    int binaries = 0;
    QCOMPARE(envelopeSeqs(slow.messages(), &binaries), range(1, published));
    QCOMPARE(binaries, 1);
    QVERIFY(slow.messages().last().binary);
    QCOMPARE(slow.messages().last().data, type1.last());
    QVERIFY(jsonBefore > 0);
    const RelaySessionStats after = statsOf(server, slowId).value();
    QCOMPARE(after.previewsSent, 1u);
    QCOMPARE(after.previewsDropped, quint64(kPreviews - 1));
    QCOMPARE(after.queuedMessages, 0);
    const quint64 healthyId = connected.at(1).at(0).toULongLong();
    QCOMPARE(statsOf(server, healthyId).value().previewsDropped, 0u);
    QCOMPARE(statsOf(server, healthyId).value().previewsSent, quint64(kPreviews));
}

void TstRelayBackpressure::hardLimitClosesSlowClientWhichResumes()
{
    constexpr qint64 kHard = 1024 * 1024;
    EventHub hub(EventHubLimits{100'000, 10, 10});
    RelayServerOptions options;
    options.closeGraceMs = 60'000; // keep the connection so the stalled client can still read the close frame
    RelayServer server(&hub, settings(kHard), {}, options);
    QVERIFY(server.listen());
    QSignalSpy connected(&server, &RelayServer::clientConnected);
    QSignalSpy closed(&server, &RelayServer::clientClosed);
    RawWsClient slow;
    QVERIFY(slow.connectStalled(server.port(), "/?envelope=1"));
    QTRY_COMPARE(connected.count(), 1);
    const quint64 slowId = connected.at(0).at(0).toULongLong();
    WsProbe healthy;
    QVERIFY(openHealthy(healthy, server, "?envelope=1"));
    QTRY_COMPARE(server.clientCount(), 2);

    qsizetype published = 0;
    qint64 peak = 0;
    while (closed.isEmpty()) {
        QVERIFY2(published < 20'000, "the stalled client was never closed");
        if (const auto s = statsOf(server, slowId))
            peak = std::max(peak, s->peakBacklogBytes);
        QVERIFY(publishJson(hub, healthy, ++published));
    }
    QCOMPARE(closed.count(), 1);
    QCOMPARE(closed.at(0).at(0).toULongLong(), slowId);
    QCOMPARE(closed.at(0).at(1).value<quint16>(), quint16(RelayCloseCode::TooSlow));
    QVERIFY2(peak <= kHard + 2 * kEventPad, qPrintable(QString::number(peak))); // memory stays bounded
    for (int i = 0; i < 5; ++i)                                                 // the others keep going
        QVERIFY(publishJson(hub, healthy, ++published));
    QCOMPARE(envelopeSeqs(healthy.messages()), range(1, published));
    QCOMPARE(server.statsJson().value("closed"_L1).toObject().value("too_slow"_L1).toInt(), 1);

    // The stalled client reads what was already on its socket, then the close frame with 4008.
    slow.resume();
    QVERIFY(slow.waitClosed(30'000));
    QCOMPARE(slow.closeCode().value_or(0), quint16(RelayCloseCode::TooSlow));
    const QList<qint64> got = envelopeSeqs(slow.messages());
    QVERIFY(!got.isEmpty());
    QCOMPARE(got, range(1, got.last()));
    QVERIFY(got.last() < published);

    // It resumes with since= and gets exactly the rest.
    WsProbe resumed;
    resumed.open(QUrl(u"ws://127.0.0.1:%1/?envelope=1&since=%2"_s.arg(server.port()).arg(got.last())));
    QVERIFY(resumed.waitConnected());
    QVERIFY(resumed.waitForMessages(published - got.last()));
    QVERIFY(resumed.roundTrip());
    QCOMPARE(envelopeSeqs(resumed.messages()), range(got.last() + 1, published));
}

void TstRelayBackpressure::silentClientClosedAfterPingTimeout()
{
    EventHub hub;
    RelayServerOptions options;
    options.pingIntervalMs = 50;
    options.pongTimeoutMs = 250;
    RelayServer server(&hub, settings(16 * 1024 * 1024), {}, options);
    QVERIFY(server.listen());
    QSignalSpy connected(&server, &RelayServer::clientConnected);
    QSignalSpy closed(&server, &RelayServer::clientClosed);

    WsProbe healthy; // connected first: if pongs did not count, it would be closed first
    QVERIFY(openHealthy(healthy, server));
    QTRY_COMPARE(connected.count(), 1);
    RawWsClient silent;
    QVERIFY(silent.connectStalled(server.port(), "/"));
    QTRY_COMPARE(connected.count(), 2);
    const quint64 silentId = connected.at(1).at(0).toULongLong();

    QVERIFY(closed.wait(10'000));
    QCOMPARE(closed.count(), 1);
    QCOMPARE(closed.at(0).at(0).toULongLong(), silentId);
    QCOMPARE(closed.at(0).at(1).value<quint16>(), quint16(RelayCloseCode::PingTimeout));
    QVERIFY(healthy.isConnected());
    QVERIFY(healthy.roundTrip());
    silent.resume();
    QVERIFY(silent.waitClosed());
    QCOMPARE(silent.closeCode().value_or(0), quint16(RelayCloseCode::PingTimeout));
    QTRY_COMPARE(server.clientCount(), 1);
}

void TstRelayBackpressure::largePreviewDoesNotCloseHealthyClient()
{
    // A full-size PNG bigger than the hard limit, followed at once by JSON events: the image sits in the
    // socket buffer, the events queue behind it, and the client is not "too slow".
    EventHub hub;
    RelayServer server(&hub, settings(256 * 1024), {});
    QVERIFY(server.listen());
    QSignalSpy closed(&server, &RelayServer::clientClosed);
    WsProbe healthy;
    QVERIFY(openHealthy(healthy, server, "?envelope=1"));
    QTRY_COMPARE(server.clientCount(), 1);

    PreviewFrame png;
    png.format = ImageFormat::Png;
    png.image = QByteArray(4 * 1024 * 1024, 'i');
    const QByteArray frame = hub.publishPreview(png, u"J"_s)->type1Frame();
    for (int i = 0; i < 3; ++i)
        hub.publishServiceEvent(u"job_progress"_s, QJsonObject{{"pad"_L1, QString(kEventPad, u'x')}}, u"J"_s);
    QVERIFY(healthy.waitForMessages(4, 30'000));
    QVERIFY(healthy.roundTrip());
    QCOMPARE(closed.count(), 0);
    QCOMPARE(healthy.binaries(), QList<QByteArray>{frame});
    QCOMPARE(envelopeSeqs(healthy.messages()), range(1, 3));
}

void TstRelayBackpressure::burstToAKeepingUpClientIsNotDropped()
{
    // ComfyUI's frames often arrive several at once, and are published in one go, before this thread's event
    // loop runs again. The backlog that decides about dropping must be what the client has not accepted, not
    // what the relay has not flushed yet: frames are handed to the kernel as they are written. Six 20 KB
    // previews (120 KB, twice the 64 KB soft limit) fit in a fresh loopback connection's kernel buffers.
    EventHub hub;
    RelayServer server(&hub, settings(16 * 1024 * 1024), {});
    QVERIFY(server.listen());
    QSignalSpy connected(&server, &RelayServer::clientConnected);
    WsProbe healthy;
    QVERIFY(openHealthy(healthy, server));
    QTRY_COMPARE(connected.count(), 1);
    QVERIFY(healthy.roundTrip());
    const quint64 id = connected.at(0).at(0).toULongLong();

    QList<QByteArray> sent;
    for (int i = 0; i < 6; ++i) {
        PreviewFrame frame;
        frame.image = "burst-" + QByteArray::number(i) + QByteArray(20 * 1024, char('a' + i));
        sent.append(hub.publishPreview(frame, u"J"_s)->type1Frame());
    }
    const RelaySessionStats s = statsOf(server, id).value(); // no event loop has run since the first publish
    QCOMPARE(s.previewsDropped, 0u);
    QCOMPARE(s.previewsSent, 6u);
    QCOMPARE(s.bytesToWrite, 0);
    QVERIFY(healthy.waitForMessages(6));
    QCOMPARE(healthy.binaries(), sent);
}

void TstRelayBackpressure::clientCloseWhileBehindStopsWrites()
{
    // A client that is behind (JSON queued, a preview held back) sends a close frame. QWebSocket answers with
    // its own; after it the relay must write nothing (RFC 6455 §5.5.1): no queued event, no held preview, no
    // later event, and no write to the closed socket (Qt warns "device not open"). The client is not "too
    // slow", and one that never reads again is let go after the grace period.
    QTest::failOnWarning(QRegularExpression(u"not open"_s));
    EventHub hub;
    RelayServerOptions options;
    options.closeGraceMs = 1500;
    RelayServer server(&hub, settings(256ll * 1024 * 1024), {}, options);
    QVERIFY(server.listen());
    QSignalSpy connected(&server, &RelayServer::clientConnected);
    QSignalSpy closedByRelay(&server, &RelayServer::clientClosed);
    RawWsClient reader, quitter; // both close while behind; the reader then reads, the quitter never does
    QVERIFY(reader.connectStalled(server.port(), "/?envelope=1"));
    QVERIFY(quitter.connectStalled(server.port(), "/?envelope=1"));
    WsProbe healthy;
    QVERIFY(openHealthy(healthy, server, "?envelope=1"));
    QTRY_COMPARE(connected.count(), 3);
    const quint64 readerId = connected.at(0).at(0).toULongLong();
    const quint64 quitterId = connected.at(1).at(0).toULongLong();

    qsizetype published = 0;
    QVERIFY2(publishUntilQueued(hub, server, healthy, {readerId, quitterId}, 4 * kSoft, &published),
             "the stalled clients never fell behind");
    PreviewFrame frame;
    frame.image = QByteArray(3000, 'h');
    hub.publishPreview(frame, u"J"_s);
    QVERIFY(healthy.waitForMessages(published + 1));
    const RelaySessionStats before = statsOf(server, readerId).value();
    QCOMPARE(before.previewsSent, 0u); // held back
    QVERIFY(before.queuedMessages > 0);

    reader.sendClose(1000);
    quitter.sendClose(1001);
    // Qt may drop the unsent backlog and disconnect at once, or wait: either way the client stops getting data.
    auto closingOrGone = [&server](quint64 id) {
        const auto s = statsOf(server, id);
        return !s || s->closing;
    };
    QTRY_VERIFY(closingOrGone(readerId));
    QTRY_VERIFY(closingOrGone(quitterId));
    for (int i = 0; i < 3; ++i) // later events go to the healthy client only (it also has the preview)
        QVERIFY(publishJson(hub, healthy, ++published + 1));
    hub.publishPreview(frame, u"J"_s);
    QVERIFY(healthy.roundTrip());
    if (const auto after = statsOf(server, readerId)) {
        QCOMPARE(after->messagesSent, before.messagesSent);
        QCOMPARE(after->previewsSent, 0u);
        QCOMPARE(after->queuedMessages, 0);
    }

    reader.resume();
    QTRY_VERIFY_WITH_TIMEOUT(reader.isDisconnected(), 30'000);
    QCOMPARE(reader.framesAfterClose(), 0);
    if (reader.closeCode())
        QCOMPARE(*reader.closeCode(), quint16(1000)); // the relay's answer to its close
    const QList<qint64> got = envelopeSeqs(reader.messages());
    QCOMPARE(got, range(1, got.size()));
    QVERIFY(quint64(got.size()) <= before.messagesSent);

    QTRY_COMPARE_WITH_TIMEOUT(server.clientCount(), 1, 10'000); // the quitter: aborted after the grace period
    QVERIFY(!statsOf(server, quitterId));
    QCOMPARE(closedByRelay.count(), 0);
    QCOMPARE(server.statsJson().value("closed"_L1).toObject().value("too_slow"_L1).toInt(), 0);
}

QTEST_GUILESS_MAIN(TstRelayBackpressure)
#include "tst_relaybackpressure.moc"
