// The relay below Qt's WebSocket layer, with raw QTcpSocket clients writing handcrafted bytes on port 0:
// plain HTTP and unsupported versions get 426 (not silence or a bare 400), an unmasked client frame closes
// with 1002 (RFC 6455 §5.1) whenever it comes (first or later, data or control, its header split across
// writes or not), a too-big frame sent in one write still gets its 1009 close frame (no reset).

#include "core/relay/relayhandshake.h"
#include "core/relay/relayserver.h"
#include "core/relay/relaysession.h"
#include "protocol/relaymessages.h"
#include "relayfixture.h"
#include "relaytestclients.h"

#include <QSet>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>
#include <QtEndian>

using namespace cr;
using namespace cr::protocol;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

// Sends `request` on a fresh connection and collects everything until the relay closes it.
struct RawExchange {
    QTcpSocket socket;
    QByteArray received;
    bool closed = false;
    RawExchange(quint16 port, const QByteArray &request)
    {
        QObject::connect(&socket, &QIODevice::readyRead, [this] { received += socket.readAll(); });
        QObject::connect(&socket, &QAbstractSocket::disconnected, [this] { closed = true; });
        QObject::connect(&socket, &QAbstractSocket::connected, [this, request] { socket.write(request); });
        socket.connectToHost(QHostAddress::LocalHost, port);
    }
    bool waitClosed()
    {
        return QTest::qWaitFor([this] { return closed; }, 10'000);
    }
};

// The relay's side of its only client connection (test code may look at the object tree).
QTcpSocket *serverTransport(const RelayFixture &relay)
{
    const QList<QTcpSocket *> sockets = relay.server->findChildren<QTcpSocket *>();
    return sockets.size() == 1 ? sockets.first() : nullptr;
}

// Writes `bytes` and waits until the relay has read them (its readyRead), so that the next write arrives as a
// batch of its own.
bool sendAndWaitRead(RawWsClient &client, QTcpSocket *transport, const QByteArray &bytes)
{
    QSignalSpy read(transport, &QIODevice::readyRead);
    client.sendRaw(bytes);
    return read.wait(10'000);
}

const QByteArray kUpgradeHead = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

} // namespace

class TstRelayWire : public QObject
{
    Q_OBJECT

private slots:
    void plainHttpGets426_data();
    void plainHttpGets426();
    void unsupportedVersionGets426();
    void judgeHead_data();
    void judgeHead();
    void unmaskedFrameCloses1002();
    void maskedFramesServed();
    void laterUnmaskedFrameCloses1002_data();
    void laterUnmaskedFrameCloses1002();
    void splitHeadersAreFollowed();
    void unmaskedFrameWithHandshakeIsRefused();
    void eachWebSocketGetsItsOwnTransport();
    void tooBigFrameInOneWriteGets1009();
};

// The relay closed its one client with 1002 (protocol error) and said so once.
static void expectServerClosed1002(RelayFixture &relay, const QSignalSpy &closed)
{
    QTRY_COMPARE(relay.server->clientCount(), 0);
    QCOMPARE(closed.count(), 1);
    QCOMPARE(closed.first().at(1).value<quint16>(), quint16(1002));
}

void TstRelayWire::plainHttpGets426_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::newRow("GET") << QByteArray("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QTest::newRow("GET /health") << QByteArray("GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    QTest::newRow("POST") << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
}

void TstRelayWire::plainHttpGets426()
{
    QFETCH(QByteArray, request);
    RelayFixture relay;
    QVERIFY(relay.listen());
    RawExchange c(relay.server->port(), request);
    QVERIFY(c.waitClosed());
    QVERIFY2(c.received.startsWith("HTTP/1.1 426 Upgrade Required\r\n"), c.received.constData());
    QVERIFY(c.received.contains("\r\nUpgrade: websocket\r\n"));
    QVERIFY(c.received.contains("Content-Type: text/plain"));
    QVERIFY(c.received.contains("WebSocket"));
    QTRY_COMPARE(relay.server->pendingHandshakes(), 0);
    QCOMPARE(relay.server->clientCount(), 0);
}

void TstRelayWire::unsupportedVersionGets426()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    RawExchange c(relay.server->port(), kUpgradeHead + "Sec-WebSocket-Version: 8\r\n\r\n");
    QVERIFY(c.waitClosed());
    QVERIFY2(c.received.startsWith("HTTP/1.1 426 Upgrade Required\r\n"), c.received.constData());
    QVERIFY(c.received.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    QVERIFY(c.received.contains("version 13"));
    // Version 13 still upgrades.
    RawWsClient ok;
    QVERIFY(ok.connectStalled(relay.server->port(), "/"));
}

void TstRelayWire::judgeHead_data()
{
    QTest::addColumn<QByteArray>("received");
    QTest::addColumn<int>("kind"); // RelayHandshakeVerdict::Kind
    QTest::addColumn<QByteArray>("status");
    using K = RelayHandshakeVerdict::Kind;
    QTest::newRow("incomplete") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n") << int(K::Incomplete) << QByteArray();
    QTest::newRow("upgrade") << kUpgradeHead + "Sec-WebSocket-Version: 13\r\n\r\n" << int(K::Pass) << QByteArray();
    QTest::newRow("upgrade, header case") << QByteArray(
        "GET / HTTP/1.1\r\nupgrade: WebSocket\r\nconnection: upgrade\r\nsec-websocket-version: 13\r\n\r\n")
                                          << int(K::Pass) << QByteArray();
    QTest::newRow("no upgrade") << QByteArray("GET / HTTP/1.1\r\n\r\n") << int(K::Refuse) << QByteArray("426");
    QTest::newRow("upgrade to h2c") << QByteArray("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n") << int(K::Refuse)
                                    << QByteArray("426");
    QTest::newRow("version 8") << kUpgradeHead + "Sec-WebSocket-Version: 8\r\n\r\n"
                               << int(K::Refuse) << QByteArray("426");
    QTest::newRow("no version") << kUpgradeHead + "\r\n" << int(K::Refuse) << QByteArray("426");
    QTest::newRow("endless head") << QByteArray("GET / HTTP/1.1\r\nX: ")
            + QByteArray(RelayHandshakeScreen::kMaxHeadBytes, 'a')
                                  << int(K::Refuse) << QByteArray("431");
}

void TstRelayWire::judgeHead()
{
    QFETCH(QByteArray, received);
    QFETCH(int, kind);
    QFETCH(QByteArray, status);
    const RelayHandshakeVerdict v = RelayHandshakeScreen::judge(received);
    QCOMPARE(int(v.kind), kind);
    if (!status.isEmpty())
        QVERIFY2(v.response.startsWith("HTTP/1.1 " + status + ' '), v.response.constData());
}

void TstRelayWire::unmaskedFrameCloses1002()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    QSignalSpy closed(relay.server.get(), &RelayServer::clientClosed);
    RawWsClient c;
    QVERIFY(c.connectStalled(relay.server->port(), "/"));
    c.resume();
    QTRY_COMPARE(relay.server->clientCount(), 1);
    c.sendFrame(0x1, R"({"type":"ping"})", /*masked=*/false);
    QVERIFY(c.waitClosed());
    QCOMPARE(c.closeCode().value_or(0), quint16(1002));
    QVERIFY(c.messages().isEmpty()); // the frame was not answered as a message
    expectServerClosed1002(relay, closed);
    if (QTest::currentTestFailed())
        return;
}

void TstRelayWire::maskedFramesServed()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    RawWsClient c;
    QVERIFY(c.connectStalled(relay.server->port(), "/"));
    c.resume();
    c.sendFrame(0x1, R"({"type":"ping","data":{"id":"a"}})");
    QVERIFY(c.waitForMessages(1));
    QVERIFY(c.messages().first().data.contains("relay_pong"));
    c.sendFrame(0x1, "42"); // valid JSON, not an object
    QVERIFY(c.waitForMessages(2));
    QVERIFY2(c.messages().at(1).data.contains("invalid_message"), c.messages().at(1).data.constData());
    QVERIFY(!c.isDisconnected());
}

void TstRelayWire::laterUnmaskedFrameCloses1002_data()
{
    QTest::addColumn<QByteArray>("bytes"); // written after a masked ping was answered
    using C = RawWsClient;
    QTest::newRow("text") << C::clientFrame(0x1, R"({"type":"ping"})", false);
    QTest::newRow("ping (control)") << C::clientFrame(0x9, "hi", false);
    QTest::newRow("close (control)") << C::clientFrame(0x8, "\x03\xe8", false);
    QTest::newRow("continuation") << C::clientFrame(0x1, R"({"type":)", true, false)
            + C::clientFrame(0x0, R"("ping"})", false);
    QTest::newRow("16-bit length") << C::clientFrame(0x1, QByteArray(300, ' '), false);
    QTest::newRow("after a masked one, same write")
        << C::clientFrame(0x1, R"({"type":"ping"})") + C::clientFrame(0x1, "{}", false);
}

void TstRelayWire::laterUnmaskedFrameCloses1002()
{
    QFETCH(QByteArray, bytes);
    RelayFixture relay;
    QVERIFY(relay.listen());
    QSignalSpy closed(relay.server.get(), &RelayServer::clientClosed);
    RawWsClient c;
    QVERIFY(c.connectStalled(relay.server->port(), "/"));
    c.resume();
    c.sendFrame(0x1, R"({"type":"ping","data":{"id":1}})");
    QVERIFY(c.waitForMessages(1)); // the masked frame was served
    c.sendRaw(bytes);
    QVERIFY(c.waitClosed());
    QCOMPARE(c.closeCode().value_or(0), quint16(1002));
    expectServerClosed1002(relay, closed);
    if (QTest::currentTestFailed())
        return;
}

void TstRelayWire::splitHeadersAreFollowed()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    RawWsClient c;
    QVERIFY(c.connectStalled(relay.server->port(), "/"));
    c.resume();
    QTRY_COMPARE(relay.server->clientCount(), 1);
    QTcpSocket *transport = serverTransport(relay);
    QVERIFY(transport);
    // A masked ping with a 16-bit length, its header in three writes and its payload in two: answered.
    const QByteArray ping
        = RawWsClient::clientFrame(0x1, R"({"type":"ping","data":{"id":")" + QByteArray(200, 'x') + R"("}})");
    for (const auto &[from, to] : {std::pair{0, 1}, {1, 3}, {3, 6}, {6, 100}})
        QVERIFY(sendAndWaitRead(c, transport, ping.mid(from, to - from)));
    c.sendRaw(ping.mid(100));
    QVERIFY(c.waitForMessages(1));
    QVERIFY(c.messages().first().data.contains("relay_pong"));
    // Masked frames of every length encoding, then a ping, in one write: all served.
    c.sendRaw(RawWsClient::clientFrame(0x1, "{}") + RawWsClient::clientFrame(0x1, QByteArray(40'000, ' '))
              + RawWsClient::clientFrame(0x9, "p")
              + RawWsClient::clientFrame(0x1, R"({"type":"ping","data":{"id":2}})"));
    QVERIFY(c.waitForMessages(4));
    QVERIFY(c.messages().at(3).data.contains("relay_pong"));
    QVERIFY(!c.isDisconnected() && !c.closeCode());
    // An unmasked frame whose header is split after its first byte: 1002.
    const QByteArray unmasked = RawWsClient::clientFrame(0x1, R"({"type":"ping"})", false);
    QVERIFY(sendAndWaitRead(c, transport, unmasked.left(1)));
    c.sendRaw(unmasked.mid(1));
    QVERIFY(c.waitClosed());
    QCOMPARE(c.closeCode().value_or(0), quint16(1002));
    QCOMPARE(c.messages().size(), 4); // the unmasked ping was not answered
}

void TstRelayWire::unmaskedFrameWithHandshakeIsRefused()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    QSignalSpy rejected(relay.server.get(), &RelayServer::clientRejected);
    // The head, a masked frame and an unmasked one in one write: refused before it is accepted.
    RawExchange c(relay.server->port(),
                  kUpgradeHead + "Sec-WebSocket-Version: 13\r\n\r\n"
                      + RawWsClient::clientFrame(0x1, R"({"type":"ping"})")
                      + RawWsClient::clientFrame(0x1, R"({"type":"ping"})", false));
    QVERIFY(c.waitClosed());
    QVERIFY2(c.received.startsWith("HTTP/1.1 101"), c.received.constData());
    const QByteArray frames = c.received.mid(c.received.indexOf("\r\n\r\n") + 4);
    QVERIFY(frames.size() >= 4);
    QCOMPARE(uchar(frames.at(0)), uchar(0x88)); // the first frame is the close frame
    QCOMPARE(qFromBigEndian<quint16>(frames.constData() + 2), quint16(1002));
    QCOMPARE(rejected.count(), 1);
    QCOMPARE(rejected.first().at(0).value<quint16>(), quint16(1002));
    QCOMPARE(relay.server->clientCount(), 0);
}

void TstRelayWire::eachWebSocketGetsItsOwnTransport()
{
    // RelayServer::takeTransport finds a QWebSocket's TCP socket by its two addresses (Qt 6.4 gives no other
    // way): with handshakes of several clients under way at once, each must get its own.
    RelayFixture relay;
    QVERIFY(relay.listen());
    constexpr int kClients = 6;
    std::vector<std::unique_ptr<WsProbe>> probes;
    for (int i = 0; i < kClients; ++i) {
        probes.push_back(std::make_unique<WsProbe>());
        probes.back()->open(relay.url());
    }
    for (const auto &probe : probes)
        QVERIFY(probe->waitConnected());
    QTRY_COMPARE(relay.server->clientCount(), kClients);
    const char *const why = "a QWebSocket and its TCP socket disagree: RelayServer::takeTransport needs a look";
    QSet<const QTcpSocket *> transports;
    for (const RelaySession *client : relay.server->findChildren<RelaySession *>()) {
        const QTcpSocket *t = client->transport();
        QVERIFY2(t, why);
        QVERIFY2(t->peerPort() == client->socket()->peerPort() && t->peerAddress() == client->socket()->peerAddress(),
                 why);
        QVERIFY2(t->localPort() == client->socket()->localPort()
                     && t->localAddress() == client->socket()->localAddress(),
                 why);
        transports.insert(t);
    }
    QCOMPARE(transports.size(), kClients);
    for (const auto &probe : probes)
        QVERIFY(probe->roundTrip()); // the relay writes each client's answer to the right connection
}

void TstRelayWire::tooBigFrameInOneWriteGets1009()
{
    RelayFixture relay;
    QVERIFY(relay.listen());
    RawWsClient c;
    QVERIFY(c.connectStalled(relay.server->port(), "/"));
    c.resume();
    QTRY_COMPARE(relay.server->clientCount(), 1);
    c.sendFrame(0x1, QByteArray(4 * 1024 * 1024, 'x')); // far over the 64 KiB limit, in one write
    QVERIFY(c.waitClosed());
    QVERIFY(QTest::qWaitFor([&c] { return c.closeCode().has_value() || c.isDisconnected(); }));
    QCOMPARE(c.closeCode().value_or(0), quint16(RelayCloseCode::MessageTooBig));
    QTRY_COMPARE(relay.server->clientCount(), 0);
}

QTEST_GUILESS_MAIN(TstRelayWire)
#include "tst_relaywire.moc"
