// The monitor's RelayClient against the real RelayServer + EventHub on port 0: state changes, envelope
// seq and lag, the newest-frame slot, resume with since= after a relay restart (no event lost), the gap
// after the runner's numbering restarted, a refused token, backoff while nothing listens, and the
// handshake timeout against a server that never answers. Also RestClient::discoverRelay: the relay port
// asked from GET /api/v1/system (with the token), and the port + 1 guess when the runner cannot say.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "gui/client/relayclient.h"
#include "gui/client/restclient.h"

#include <QDateTime>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using cr::EventHub;
using cr::RelayServer;
using cr::RelaySettings;
namespace protocol = cr::protocol;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

// A hub + relay server; restartable on the same port.
struct Relay {
    std::unique_ptr<EventHub> hub = std::make_unique<EventHub>();
    std::unique_ptr<RelayServer> server;
    RelaySettings settings;
    QString token;

    explicit Relay(const QString &authToken = {}) : token(authToken)
    {
        settings.host = u"127.0.0.1"_s;
        settings.port = 0;
    }
    bool start()
    {
        server = std::make_unique<RelayServer>(hub.get(), settings, token);
        QString error;
        if (!server->listen(&error)) {
            qWarning() << error;
            return false;
        }
        settings.port = server->port(); // a restart binds the same port
        return true;
    }
    void stop() { server.reset(); }
    QUrl url() const { return QUrl(u"ws://127.0.0.1:%1/"_s.arg(settings.port)); }

    void publishProgress(const QString &job, int value, int max = 10)
    {
        const QByteArray raw
            = u"{\"type\": \"progress\", \"data\": {\"value\": %1, \"max\": %2, \"prompt_id\": \"%3\", \"node\": \"3\"}}"_s
                  .arg(value)
                  .arg(max)
                  .arg(job)
                  .toUtf8();
        hub->publishComfyEvent(protocol::parseTextFrame(raw).value(), job);
    }
    void publishPreview(const QString &job, const QByteArray &image)
    {
        protocol::PreviewFrame f;
        f.image = image;
        f.meta.promptId = job;
        f.meta.nodeId = u"3"_s;
        hub->publishPreview(f, job);
    }
};

RelayClientOptions fastOptions()
{
    RelayClientOptions o;
    o.initialBackoffMs = 20;
    o.maxBackoffMs = 200;
    o.backoffJitter = 0;
    o.connectTimeoutMs = 2000;
    return o;
}

// A one-route HTTP server on port 0: every request gets `response` (nothing at all when it is empty) and
// is recorded (request line and headers).
struct CannedHttp {
    QTcpServer server;
    QByteArray response;
    QList<QByteArray> requests;

    bool start()
    {
        QObject::connect(&server, &QTcpServer::newConnection, &server, [this] {
            while (QTcpSocket *socket = server.nextPendingConnection()) {
                socket->setParent(&server);
                QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
                    if (!socket->property("head").toByteArray().isEmpty())
                        return;
                    const QByteArray head = socket->peek(64 * 1024);
                    if (!head.contains("\r\n\r\n"))
                        return;
                    socket->setProperty("head", head);
                    requests.append(head);
                    if (response.isEmpty())
                        return; // mute
                    socket->write(response);
                    socket->disconnectFromHost();
                });
            }
        });
        return server.listen(QHostAddress::LocalHost, 0);
    }
    QUrl url() const { return QUrl(u"http://127.0.0.1:%1"_s.arg(server.serverPort())); }

    static QByteArray reply(int status, const QByteArray &body)
    {
        return "HTTP/1.1 " + QByteArray::number(status) + " X\r\nContent-Type: application/json\r\nContent-Length: "
            + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }
};

QList<qint64> seqsOf(const QSignalSpy &spy)
{
    QList<qint64> out;
    for (const QList<QVariant> &args : spy)
        out.append(args.at(0).value<MonitorEvent>().seq);
    return out;
}

} // namespace

class TstRelayClient : public QObject
{
    Q_OBJECT

private slots:
    void connectsAndReceivesEnvelopes();
    void keepsOnlyTheNewestPreview();
    void resumesAfterRelayRestart();
    void reportsGapWhenNumberingRestarts();
    void refusedTokenStopsRetrying();
    void acceptedTokenConnects();
    void retriesWithBackoffUntilTheRelayListens();
    void handshakeTimeoutRetries();
    void closeStopsEverything();
    void discoversTheRelayPort_data();
    void discoversTheRelayPort();
};

void TstRelayClient::connectsAndReceivesEnvelopes()
{
    Relay relay;
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    QSignalSpy states(&client, &RelayClient::stateChanged);
    QSignalSpy events(&client, &RelayClient::eventReceived);
    QSignalSpy welcomed(&client, &RelayClient::welcomed);
    client.setUrl(relay.url());
    client.open();
    QCOMPARE(client.state(), RelayClient::State::Connecting);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(welcomed.count(), 1, 5000);
    QCOMPARE(states.count(), 2);
    QCOMPARE(states.at(0).at(0).value<RelayClient::State>(), RelayClient::State::Connecting);
    QCOMPARE(states.at(1).at(0).value<RelayClient::State>(), RelayClient::State::Connected);

    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    relay.publishProgress(u"jobA"_s, 1);
    relay.hub->publishServiceEvent(u"job_finished"_s, QJsonObject{{"state"_L1, "succeeded"_L1}}, u"jobA"_s);
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 2, 5000);

    const MonitorEvent first = events.at(0).at(0).value<MonitorEvent>();
    QCOMPARE(first.seq, 1);
    QCOMPARE(first.jobId, u"jobA"_s);
    QCOMPARE(first.event.type, protocol::EventType::Progress);
    QCOMPARE(first.event.as<protocol::ProgressEvent>()->value, 1.0);
    QVERIFY(first.timestampMs >= before);
    const MonitorEvent second = events.at(1).at(0).value<MonitorEvent>();
    QCOMPARE(second.seq, 2);
    QCOMPARE(second.event.typeName, u"job_finished"_s);
    QCOMPARE(second.event.data.value("state"_L1).toString(), u"succeeded"_s);
    QCOMPARE(client.lastSeq(), 2);
    QVERIFY(client.lagMs() >= 0);
    QVERIFY2(client.lagMs() < 5000, qPrintable(QString::number(client.lagMs())));
    QCOMPARE(client.connections(), 1);
}

void TstRelayClient::keepsOnlyTheNewestPreview()
{
    Relay relay;
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    QSignalSpy available(&client, &RelayClient::previewAvailable);
    QSignalSpy received(&client, &RelayClient::previewReceived);
    client.setUrl(relay.url());
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);

    constexpr int kFrames = 50;
    for (int i = 1; i <= kFrames; ++i)
        relay.publishPreview(u"jobP"_s, "frame-" + QByteArray::number(i));
    QTRY_COMPARE_WITH_TIMEOUT(client.previewsReceived(), quint64(kFrames), 5000);
    QCOMPARE(received.count(), kFrames);
    // Nobody took a frame: one announcement, one frame held, the other 49 replaced.
    QCOMPARE(available.count(), 1);
    QCOMPARE(client.previewsReplaced(), quint64(kFrames - 1));
    auto frame = client.takePreview();
    QVERIFY(frame);
    QCOMPARE(frame->frame.image, QByteArray("frame-50"));
    QCOMPARE(frame->jobId, u"jobP"_s);
    QCOMPARE(frame->number, quint64(kFrames));
    QVERIFY(!client.hasPreview());
    QVERIFY(!client.takePreview());

    // Taking empties the slot; the next frame is announced again.
    relay.publishPreview(u"jobP"_s, "frame-51");
    QTRY_COMPARE_WITH_TIMEOUT(available.count(), 2, 5000);
    QCOMPARE(client.takePreview()->frame.image, QByteArray("frame-51"));
}

void TstRelayClient::resumesAfterRelayRestart()
{
    Relay relay;
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    QSignalSpy events(&client, &RelayClient::eventReceived);
    QSignalSpy gaps(&client, &RelayClient::gap);
    client.setUrl(relay.url());
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    for (int i = 1; i <= 3; ++i)
        relay.publishProgress(u"jobR"_s, i);
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 3, 5000);

    // The relay goes away (same hub: the service keeps running, its relay port restarts).
    relay.stop();
    QTRY_VERIFY_WITH_TIMEOUT(client.state() == RelayClient::State::Reconnecting, 5000);
    for (int i = 4; i <= 6; ++i) // published while the monitor is away
        relay.publishProgress(u"jobR"_s, i);
    QVERIFY(relay.start());
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    relay.publishProgress(u"jobR"_s, 7);
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 7, 5000);
    QCOMPARE(seqsOf(events), (QList<qint64>{1, 2, 3, 4, 5, 6, 7}));
    QCOMPARE(gaps.count(), 0);
    QCOMPARE(client.connections(), 2);
    QCOMPARE(client.lastSeq(), 7);
}

void TstRelayClient::reportsGapWhenNumberingRestarts()
{
    Relay relay;
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    QSignalSpy events(&client, &RelayClient::eventReceived);
    QSignalSpy gaps(&client, &RelayClient::gap);
    client.setUrl(relay.url());
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    for (int i = 1; i <= 5; ++i)
        relay.publishProgress(u"old"_s, i);
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 5, 5000);

    // The whole runner restarts: a new hub, numbering from 1 again.
    relay.stop();
    relay.hub = std::make_unique<EventHub>();
    relay.publishProgress(u"new"_s, 1);
    QVERIFY(relay.start());
    QTRY_COMPARE_WITH_TIMEOUT(gaps.count(), 1, 5000);
    QCOMPARE(gaps.at(0).at(0).toLongLong(), 5); // since
    QCOMPARE(gaps.at(0).at(2).toString(), u"unknown_seq"_s);
    QCOMPARE(client.lastSeq(), 1); // the new relay's newest: the next resume point

    // Everything the new relay kept is new to us and is replayed after the gap marker.
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 6, 5000);
    const MonitorEvent replayed = events.last().at(0).value<MonitorEvent>();
    QCOMPARE(replayed.seq, 1);
    QCOMPARE(replayed.jobId, u"new"_s);
    relay.publishProgress(u"new"_s, 2);
    QTRY_COMPARE_WITH_TIMEOUT(events.count(), 7, 5000);
    const MonitorEvent last = events.last().at(0).value<MonitorEvent>();
    QCOMPARE(last.seq, 2);
    QCOMPARE(last.jobId, u"new"_s);
    QCOMPARE(client.lastSeq(), 2);
}

void TstRelayClient::refusedTokenStopsRetrying()
{
    Relay relay(u"s3cret"_s);
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    QSignalSpy errors(&client, &RelayClient::errorOccurred);
    QSignalSpy rejected(relay.server.get(), &RelayServer::clientRejected);
    client.setUrl(relay.url());
    client.setToken(u"wrong"_s);
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Disconnected, 5000);
    QCOMPARE(rejected.count(), 1);
    QCOMPARE(rejected.at(0).at(0).toUInt(), 4001u);
    QVERIFY(!errors.isEmpty());
    QVERIFY2(client.lastError().contains(u"token"_s), qPrintable(client.lastError()));
    // No retry follows: a second rejection would show up within a few backoff periods.
    QVERIFY(!rejected.wait(500));
    QCOMPARE(client.state(), RelayClient::State::Disconnected);
}

void TstRelayClient::acceptedTokenConnects()
{
    Relay relay(u"s3cret"_s);
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    client.setUrl(relay.url());
    client.setToken(u"s3cret"_s);
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    QCOMPARE(relay.server->clientCount(), 1);
}

void TstRelayClient::retriesWithBackoffUntilTheRelayListens()
{
    // A port nothing listens on for the whole test: bound, never listening (no other socket gets it).
    QTcpSocket holder;
    QVERIFY(holder.bind(QHostAddress::LocalHost, 0, QAbstractSocket::DontShareAddress));
    const quint16 port = holder.localPort();
    RelayClient client(fastOptions());
    QSignalSpy states(&client, &RelayClient::stateChanged);
    client.setUrl(QUrl(u"ws://127.0.0.1:%1/"_s.arg(port)));
    client.open();
    // Several failed attempts: Connecting and Reconnecting alternate.
    QTRY_VERIFY_WITH_TIMEOUT(states.count() >= 6, 5000);
    QCOMPARE(client.connections(), 0);

    Relay relay;
    relay.settings.port = port;
    holder.close(); // the port is the relay's now
    QVERIFY(relay.start());
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    QCOMPARE(client.connections(), 1);
}

void TstRelayClient::handshakeTimeoutRetries()
{
    // Accepts TCP, never answers the WebSocket handshake.
    QTcpServer mute;
    QVERIFY(mute.listen(QHostAddress::LocalHost, 0));
    QList<QTcpSocket *> accepted;
    connect(&mute, &QTcpServer::newConnection, this, [&] {
        while (QTcpSocket *s = mute.nextPendingConnection())
            accepted.append(s);
    });
    RelayClientOptions options = fastOptions();
    options.connectTimeoutMs = 150;
    RelayClient client(options);
    client.setUrl(QUrl(u"ws://127.0.0.1:%1/"_s.arg(mute.serverPort())));
    client.open();
    // The first attempt times out and a second one reaches the server.
    QTRY_VERIFY_WITH_TIMEOUT(accepted.size() >= 2, 5000);
    QVERIFY(client.state() != RelayClient::State::Connected);
    QVERIFY2(client.lastError().contains(u"did not answer"_s), qPrintable(client.lastError()));
    client.close();
    QCOMPARE(client.state(), RelayClient::State::Disconnected);
}

void TstRelayClient::closeStopsEverything()
{
    Relay relay;
    QVERIFY(relay.start());
    RelayClient client(fastOptions());
    client.setUrl(relay.url());
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), RelayClient::State::Connected, 5000);
    QSignalSpy connected(relay.server.get(), &RelayServer::clientConnected);
    client.close();
    QCOMPARE(client.state(), RelayClient::State::Disconnected);
    QTRY_COMPARE_WITH_TIMEOUT(relay.server->clientCount(), 0, 5000);
    QVERIFY(!connected.wait(300)); // no reconnect after close()
    QCOMPARE(client.state(), RelayClient::State::Disconnected);
}

void TstRelayClient::discoversTheRelayPort_data()
{
    QTest::addColumn<QByteArray>("response"); // "refused": nothing listens; empty: accepts, never answers
    QTest::addColumn<int>("relayPort");       // the port in the answer; 0: the guess (http port + 1) is expected
    QTest::addColumn<QString>("reason");      // part of the fallback reason
    const QByteArray reported = R"({"service": {"name": "comfy_runner", "relay_port": 41234}, "comfyui": {}})";
    QTest::newRow("reported") << CannedHttp::reply(200, reported) << 41234 << QString();
    QTest::newRow("null: no relay") << CannedHttp::reply(200, R"({"service": {"relay_port": null}})") << 0
                                    << u"does not name"_s;
    QTest::newRow("older runner") << CannedHttp::reply(200, R"({"service": {"name": "comfy_runner"}})") << 0
                                  << u"does not name"_s;
    QTest::newRow("not JSON") << CannedHttp::reply(200, "hello") << 0 << u"does not name"_s;
    QTest::newRow("error") << CannedHttp::reply(404, R"({"error": {"code": "not_found", "message": "no such route"}})")
                           << 0 << u"no such route"_s;
    QTest::newRow("no answer") << QByteArray() << 0 << u"/api/v1/system"_s;
    QTest::newRow("refused") << QByteArray("refused") << 0 << u"/api/v1/system"_s;
}

void TstRelayClient::discoversTheRelayPort()
{
    QFETCH(QByteArray, response);
    QFETCH(int, relayPort);
    QFETCH(QString, reason);
    CannedHttp http;
    QVERIFY(http.start());
    const QUrl runner = http.url();
    if (response == "refused")
        http.server.close();
    else
        http.response = response;

    RestClient rest;
    rest.setBaseUrl(runner);
    rest.setToken(u"s3cret"_s);
    rest.setDiscoveryTimeoutMs(300);
    QSignalSpy failed(&rest, &RestClient::requestFailed);
    std::optional<RelayEndpoint> endpoint;
    rest.discoverRelay(this, [&](RelayEndpoint e) { endpoint = std::move(e); });
    QVERIFY(!endpoint); // asynchronous
    QTRY_VERIFY_WITH_TIMEOUT(endpoint.has_value(), 5000);

    const int expectedPort = relayPort != 0 ? relayPort : runner.port() + 1;
    QCOMPARE(endpoint->url, QUrl(u"ws://127.0.0.1:%1/"_s.arg(expectedPort)));
    QCOMPARE(endpoint->reported, relayPort != 0);
    QVERIFY2(endpoint->fallbackReason.contains(reason), qPrintable(endpoint->fallbackReason));
    QCOMPARE(endpoint->fallbackReason.isEmpty(), relayPort != 0);
    QCOMPARE(failed.count(), 0); // the caller reports the fallback, not the REST error log
    if (response != "refused") {
        QCOMPARE(http.requests.size(), 1);
        QVERIFY2(http.requests.at(0).startsWith("GET /api/v1/system HTTP/1.1\r\n"), http.requests.at(0).constData());
        QVERIFY2(http.requests.at(0).contains("\r\nAuthorization: Bearer s3cret\r\n"), http.requests.at(0).constData());
    }
}

QTEST_GUILESS_MAIN(TstRelayClient)
#include "tst_relayclient.moc"
