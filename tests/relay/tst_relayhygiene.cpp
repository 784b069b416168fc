// RelayServer hygiene with real QWebSocket clients on port 0: authentication (header and query token),
// invalid query parameters, malformed and oversized client messages, max clients, shutdown and port errors.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "protocol/relaymessages.h"
#include "relayfixture.h"
#include "tests/support/authcases.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

using namespace cr;
using namespace cr::protocol;
using namespace cr::testing;
using namespace Qt::StringLiterals;

// Auth, input validation and limits of the relay.
class TstRelayHygiene final : public QObject
{
    Q_OBJECT

private slots:
    void auth_data();
    void auth();
    void badQueryParameter();
    void malformedMessagesAnswered_data();
    void malformedMessagesAnswered();
    void repeatedErrorsClose();
    void oversizeInboundMessage();
    void maxClients();
    void handshakesCountAgainstMaxClients();
    void unfinishedHandshakesAreDropped();
    void closeSendsGoingAway();
    void listenFailsOnUsedPort();
};

void TstRelayHygiene::auth_data()
{
    addAuthRows(); // the shared table of core/common/auth.h's rule; the relay accepts ?token=
}

void TstRelayHygiene::auth()
{
    QFETCH(QString, query);
    QFETCH(QByteArray, header);
    QFETCH(bool, withQuery);
    const bool accepted = withQuery;
    RelayFixture relay(relayTestSettings(), kAuthToken);
    QVERIFY(relay.listen());
    relay.hub->publishServiceEvent(u"before"_s, {}, u"J"_s);
    QSignalSpy rejected(relay.server.get(), &RelayServer::clientRejected);

    WsProbe probe;
    probe.open(relay.url(query + u"&since=0"_s), header);
    if (accepted) {
        QVERIFY(probe.waitConnected());
        relay.hub->publishServiceEvent(u"after"_s, {}, u"J"_s);
        QVERIFY(probe.roundTrip());
        QCOMPARE(probe.texts().size(), 2);
        QCOMPARE(rejected.count(), 0);
        return;
    }
    QVERIFY(probe.waitDisconnected());
    QCOMPARE(probe.closeCode(), quint16(RelayCloseCode::Unauthorized));
    QCOMPARE(probe.closeReason(), u"unauthorized"_s);
    QVERIFY(probe.messages().isEmpty()); // not even the replay it asked for
    QCOMPARE(rejected.count(), 1);
    QCOMPARE(relay.server->clientCount(), 0);
    QCOMPARE(relay.server->statsJson().value("rejected"_L1).toObject().value("unauthorized"_L1).toInt(), 1);
}

void TstRelayHygiene::badQueryParameter()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url(u"previews=bogus"_s));
    QVERIFY(probe.waitDisconnected());
    QCOMPARE(probe.closeCode(), quint16(RelayCloseCode::BadRequest));
    QVERIFY2(probe.closeReason().contains(u"'previews'"_s), qPrintable(probe.closeReason()));
}

void TstRelayHygiene::malformedMessagesAnswered_data()
{
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<bool>("binary");
    QTest::addColumn<QString>("code");
    QTest::newRow("not json") << QByteArray("hello relay") << false << u"invalid_json"_s;
    QTest::newRow("not an object") << QByteArray("[1]") << false << u"invalid_message"_s;
    QTest::newRow("legacy op") << QByteArray(R"({"op":"subscribe_to_prompt","data":{}})") << false
                               << u"invalid_message"_s;
    QTest::newRow("unknown type") << QByteArray(R"({"type":"feature_flags","data":{}})") << false << u"unknown_type"_s;
    QTest::newRow("protocol 2") << QByteArray(R"({"type":"hello","data":{"protocol":2}})") << false
                                << u"unsupported_protocol"_s;
    QTest::newRow("bad field") << QByteArray(R"({"type":"subscribe","data":{"jobs":7}})") << false
                               << u"invalid_message"_s;
    QTest::newRow("binary") << QByteArray("\x00\x00\x00\x01", 4) << true << u"binary_not_accepted"_s;
}

void TstRelayHygiene::malformedMessagesAnswered()
{
    QFETCH(QByteArray, message);
    QFETCH(bool, binary);
    QFETCH(QString, code);
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    if (binary)
        probe.socket().sendBinaryMessage(message);
    else
        probe.socket().sendTextMessage(QString::fromUtf8(message));
    QVERIFY(probe.waitForMessages(1));
    const QJsonObject reply = QJsonDocument::fromJson(probe.messages().first().data).object();
    QCOMPARE(reply.value("type"_L1).toString(), u"relay_error"_s);
    QCOMPARE(reply.value("data"_L1).toObject().value("code"_L1).toString(), code);
    QVERIFY(probe.roundTrip()); // still connected and served
    QVERIFY(probe.isConnected());
    // The subscription did not change.
    publishScript(*relay.hub);
    QVERIFY(probe.roundTrip());
    QCOMPARE(probe.messages().size(), 1 + 8);
}

void TstRelayHygiene::repeatedErrorsClose()
{
    RelayServerOptions options;
    options.maxErrorsPerMinute = 3;
    RelayFixture relay(relayTestSettings(), {}, options);
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    for (int i = 0; i < 3; ++i)
        probe.socket().sendTextMessage(u"nope"_s);
    QVERIFY(probe.waitForMessages(3));
    QVERIFY(probe.isConnected());
    probe.socket().sendTextMessage(u"nope"_s);
    QVERIFY(probe.waitDisconnected());
    QCOMPARE(probe.closeCode(), quint16(RelayCloseCode::TooManyErrors));
}

void TstRelayHygiene::oversizeInboundMessage()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    // Just under the 64 KiB limit: read, parsed, answered.
    probe.socket().sendTextMessage(QString(60 * 1024, u'x'));
    QVERIFY(probe.waitForMessages(1));
    QVERIFY(probe.texts().first().contains("invalid_json"));
    // Over it: closed by the WebSocket layer with 1009 before the message is buffered.
    probe.socket().sendTextMessage(QString(100 * 1024, u'x'));
    QVERIFY(probe.waitDisconnected());
    QCOMPARE(probe.closeCode(), quint16(RelayCloseCode::MessageTooBig));
    QTRY_COMPARE(relay.server->clientCount(), 0);
}

void TstRelayHygiene::maxClients()
{
    RelaySettings settings = relayTestSettings();
    settings.maxClients = 2;
    RelayFixture relay(settings);
    QVERIFY(relay.listen());
    WsProbe a, b, c, d;
    a.open(relay.url());
    b.open(relay.url());
    QVERIFY(a.waitConnected());
    QVERIFY(b.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 2);
    c.open(relay.url());
    QVERIFY(c.waitDisconnected()); // refused with HTTP 503 before the upgrade (handshakesCountAgainstMaxClients)
    QVERIFY(!c.isConnected());
    QCOMPARE(relay.server->clientCount(), 2);

    a.socket().close();
    QTRY_COMPARE(relay.server->clientCount(), 1);
    d.open(relay.url());
    QVERIFY(d.waitConnected());
    relay.hub->publishServiceEvent(u"hi"_s, {}, {});
    QVERIFY(d.roundTrip());
    QCOMPARE(d.texts().size(), 1);
    QCOMPARE(relay.server->clientCount(), 2);
}

// Unfinished handshakes count against max_clients: over it, a connection gets an HTTP 503 (JSON error
// too_many_connections) before any upgrade, instead of piling up in the handshake list.
void TstRelayHygiene::handshakesCountAgainstMaxClients()
{
    RelaySettings settings = relayTestSettings();
    settings.maxClients = 2;
    RelayFixture relay(settings);
    QVERIFY(relay.listen());
    WsProbe a;
    a.open(relay.url());
    QVERIFY(a.waitConnected());
    QTcpSocket silent; // connected, never sends its handshake
    silent.connectToHost(QHostAddress::LocalHost, relay.server->port());
    QVERIFY(silent.waitForConnected(5000));
    QTRY_COMPARE(relay.server->pendingHandshakes(), 1);

    QTcpSocket over;
    QByteArray answer;
    connect(&over, &QIODevice::readyRead, &over, [&] { answer += over.readAll(); });
    QSignalSpy overClosed(&over, &QTcpSocket::disconnected);
    over.connectToHost(QHostAddress::LocalHost, relay.server->port());
    QVERIFY(over.waitForConnected(5000));
    over.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QTRY_VERIFY(overClosed.count() == 1);
    QVERIFY2(answer.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), answer.constData());
    QVERIFY(answer.contains("\"code\":\"too_many_connections\""));
    QVERIFY(answer.contains("\"limit\":2"));
    QCOMPARE(relay.server->pendingHandshakes(), 1);
    QCOMPARE(relay.server->clientCount(), 1);
    QCOMPARE(relay.server->statsJson().value("rejected"_L1).toObject().value("too_many_clients"_L1).toInt(), 1);

    silent.disconnectFromHost(); // its place is free again
    QTRY_COMPARE(relay.server->pendingHandshakes(), 0);
    WsProbe b;
    b.open(relay.url());
    QVERIFY(b.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 2);
}

// Connections are accepted by the relay's own TCP listener and handed to QWebSocketServer for the
// handshake: one that never finishes it is closed after the handshake timeout, one that leaves halfway is
// forgotten, and neither leaves anything behind or gets in the way of a real client.
void TstRelayHygiene::unfinishedHandshakesAreDropped()
{
    RelayServerOptions options;
    options.handshakeTimeoutMs = 1000;
    RelayFixture relay(relayTestSettings(), {}, options);
    QVERIFY(relay.listen());
    auto sockets = [&relay] { return relay.server->findChildren<QTcpSocket *>().size(); };

    QTcpSocket silent, quitter, plainHttp;
    QSignalSpy silentClosed(&silent, &QTcpSocket::disconnected);
    QSignalSpy httpClosed(&plainHttp, &QTcpSocket::disconnected);
    for (QTcpSocket *s : {&silent, &quitter, &plainHttp}) {
        s->connectToHost(QHostAddress::LocalHost, relay.server->port());
        QVERIFY(s->waitForConnected(5000));
    }
    silent.write("GET / HTTP/1.1\r\nHost: x\r\n");        // never finished
    plainHttp.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); // complete, but no upgrade: Qt closes it
    QTRY_VERIFY(httpClosed.count() == 1);
    QTRY_COMPARE(relay.server->pendingHandshakes(), 2);
    QCOMPARE(relay.server->statsJson().value("handshaking"_L1).toInt(), 2);

    quitter.disconnectFromHost();
    QTRY_COMPARE(relay.server->pendingHandshakes(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(silentClosed.count() == 1, 10'000); // the handshake timeout
    QTRY_COMPARE(relay.server->pendingHandshakes(), 0);
    QTRY_COMPARE(sockets(), 0); // all three deleted, not just forgotten
    QCOMPARE(relay.server->clientCount(), 0);

    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);
    QCOMPARE(relay.server->pendingHandshakes(), 0);
    relay.hub->publishServiceEvent(u"after"_s, {}, u"J"_s);
    QVERIFY(probe.roundTrip());
    QCOMPARE(probe.texts().size(), 1);
}

void TstRelayHygiene::closeSendsGoingAway()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    WsProbe probe;
    probe.open(relay.url());
    QVERIFY(probe.waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), 1);
    relay.server->close();
    QVERIFY(!relay.server->isListening());
    QVERIFY(probe.waitDisconnected());
    QCOMPARE(probe.closeCode(), quint16(RelayCloseCode::GoingAway));
}

void TstRelayHygiene::listenFailsOnUsedPort()
{
    RelayFixture first;
    QVERIFY(first.listen());
    RelaySettings settings = relayTestSettings();
    settings.port = first.server->port();
    RelayFixture second(settings);
    QString error;
    QVERIFY(!second.server->listen(&error));
    QVERIFY2(error.contains(QString::number(settings.port)), qPrintable(error));
}

QTEST_GUILESS_MAIN(TstRelayHygiene)
#include "tst_relayhygiene.moc"
