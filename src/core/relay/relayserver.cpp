#include "core/relay/relayserver.h"
#include "core/relay/relaylog.h"

#include "core/common/auth.h"
#include "core/config/bindhost.h"
#include "core/relay/eventhub.h"
#include "core/relay/previewfanout.h"
#include "core/relay/relayframeguard.h"
#include "core/relay/relayhandshake.h"

#include "core/common/listenerguard.h"
#include "protocol/error.h"

#include <QHostAddress>
#include <QJsonDocument>
#include <QNetworkRequest>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUrlQuery>
#include <QWebSocket>
#include <QWebSocketServer>

Q_LOGGING_CATEGORY(lcRelay, "comfyrunner.relay")

namespace cr {

using namespace Qt::StringLiterals;
using protocol::RelayCloseCode;

namespace {

// Set on a connection that sent an unmasked frame before it was accepted.
constexpr char kUnmaskedProperty[] = "cr_unmasked_frame";

template <typename Socket> // QWebSocket or QTcpSocket
QString peerOf(const Socket *socket)
{
    return peerString(socket->peerAddress(), socket->peerPort());
}

} // namespace

RelayServer::RelayServer(EventHub *hub, const RelaySettings &settings, const QString &authToken,
                         RelayServerOptions options, QObject *parent)
    : QObject(parent), m_hub(hub), m_settings(settings), m_token(authToken.toUtf8()), m_options(options),
      m_listener(new QTcpServer(this)),
      m_server(new QWebSocketServer(u"comfy_runner relay"_s, QWebSocketServer::NonSecureMode, this)),
      m_backoff(new AcceptBackoff(m_listener, lcRelay())), // out of file descriptors: pause, warn, resume
      m_previews(new PreviewFanout(
          m_options.previewBytesPerTurn, [this] { enforceBacklogBudget(); }, this))
{
    connect(m_listener, &QTcpServer::newConnection, this, &RelayServer::onTcpConnection);
    connect(m_server, &QWebSocketServer::newConnection, this, &RelayServer::onNewConnection);
    connect(m_hub, &EventHub::published, this, &RelayServer::onPublished);
    m_pingTimer.setInterval(m_options.pingIntervalMs);
    connect(&m_pingTimer, &QTimer::timeout, this, &RelayServer::onPingTick);
}

RelayServer::~RelayServer() { close(); }

bool RelayServer::listen(QString *error)
{
    const std::optional<QHostAddress> address = resolveBindHost(m_settings.host);
    if (!address) {
        if (error)
            *error = u"relay host '%1' is not an IP address"_s.arg(m_settings.host);
        return false;
    }
    if (!m_listener->listen(*address, m_settings.port)) {
        if (error)
            *error = u"cannot listen on %1:%2 for the relay: %3"_s.arg(m_settings.host)
                         .arg(m_settings.port)
                         .arg(m_listener->errorString());
        return false;
    }
    m_pingTimer.start();
    qCInfo(lcRelay).noquote() << u"relay listening on ws://%1/"_s.arg(
        hostPortString(m_listener->serverAddress(), port()));
    return true;
}

void RelayServer::close()
{
    m_pingTimer.stop();
    if (m_listener->isListening())
        m_listener->close();
    for (const QPointer<QTcpSocket> &socket : std::exchange(m_handshaking, {}))
        if (socket)
            socket->abort();
    const auto clients = m_clients;
    for (RelaySession *client : clients)
        client->closeWith(RelayCloseCode::GoingAway);
}

bool RelayServer::isListening() const { return m_listener->isListening(); }

QHostAddress RelayServer::address() const { return m_listener->serverAddress(); }

quint16 RelayServer::port() const { return m_listener->serverPort(); }

void RelayServer::onTcpConnection()
{
    while (QTcpSocket *socket = m_listener->nextPendingConnection()) {
        // Frames are written whole, as soon as they are ready: do not let Nagle hold a small one back
        // while the client's ACK of the previous one is delayed.
        if (!m_backoff->admit(socket->socketDescriptor())) { // too close to the descriptor limit
            socket->abort();
            socket->deleteLater();
            continue;
        }
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        // Unfinished handshakes count against max_clients too: over it, HTTP 503 before any upgrade.
        if (m_clients.size() + pendingHandshakes() >= m_settings.maxClients) {
            refuseOverLimit(socket);
            continue;
        }
        m_handshaking.append(socket);
        // A peer that leaves (or is dropped by the handshake timeout) before the upgrade is never wrapped in
        // a QWebSocket: nothing else would delete its socket.
        connect(socket, &QTcpSocket::disconnected, this, [this, guard = QPointer(socket)] {
            if (guard && m_handshaking.removeAll(guard) > 0)
                guard->deleteLater();
        });
        // QWebSocketServer applies its handshake timeout only to connections it accepted itself. (<= 0: none.)
        if (m_options.handshakeTimeoutMs > 0)
            QTimer::singleShot(m_options.handshakeTimeoutMs, socket, [this, guard = QPointer(socket)] {
                if (guard && m_handshaking.contains(guard)) {
                    qCInfo(lcRelay).noquote() << u"no WebSocket handshake from %1 in %2 ms; closing the connection"_s
                                                     .arg(peerOf(guard.data()))
                                                     .arg(m_options.handshakeTimeoutMs);
                    guard->abort();
                }
            });
        // A plain HTTP request or another protocol version is answered here (426); Qt would not.
        RelayHandshakeScreen::screen(
            socket, [this, socket] { m_server->handleConnection(socket); },
            [this, guard = QPointer(socket)] { onUnmaskedFrame(guard); });
    }
}

void RelayServer::onUnmaskedFrame(QTcpSocket *transport)
{
    if (!transport)
        return;
    for (RelaySession *client : std::as_const(m_clients))
        if (client->transport() == transport)
            return client->closeWith(RelayCloseCode::ProtocolError);
    transport->setProperty(kUnmaskedProperty, true); // not upgraded yet: accept() refuses it
}

void RelayServer::refuseOverLimit(QTcpSocket *socket)
{
    ++m_rejected[quint16(RelayCloseCode::TooManyClients)];
    qCInfo(lcRelay).noquote() << u"refusing %1 with HTTP 503: %2 clients and %3 handshakes, the limit is %4"_s
                                     .arg(peerOf(socket))
                                     .arg(m_clients.size())
                                     .arg(pendingHandshakes())
                                     .arg(m_settings.maxClients);
    socket->setParent(this);
    const Error e = Error::make(
        ErrorCode::TooManyConnections,
        u"the relay has %1 clients and handshakes, its limit; try again later"_s.arg(m_settings.maxClients),
        {{u"limit"_s, m_settings.maxClients}});
    refuseConnection(
        socket,
        closingHttpAnswer(503, "Service Unavailable",
                          QJsonDocument(QJsonObject{{u"error"_s, e.toJson()}}).toJson(QJsonDocument::Compact)));
}

int RelayServer::pendingHandshakes() const
{
    return int(std::count_if(m_handshaking.cbegin(), m_handshaking.cend(),
                             [](const QPointer<QTcpSocket> &socket) { return !socket.isNull(); }));
}

QTcpSocket *RelayServer::takeTransport(const QWebSocket *socket)
{
    // QWebSocket 6.4 does not expose its socket (nor parents it, nor tells which one a QWebSocketServer
    // connection came from); a TCP connection is identified by its two ends (one host may reach the relay on
    // two local addresses from the same source port). Exactly one must match. This relies on QWebSocket
    // reporting its socket's addresses; TstRelayWire::eachWebSocketGetsItsOwnTransport fails if it stops.
    m_handshaking.removeAll(nullptr);
    qsizetype found = -1;
    for (qsizetype i = 0; i < m_handshaking.size(); ++i) {
        const QTcpSocket *candidate = m_handshaking.at(i);
        if (candidate->peerPort() == socket->peerPort() && candidate->peerAddress() == socket->peerAddress()
            && candidate->localPort() == socket->localPort() && candidate->localAddress() == socket->localAddress()) {
            if (found >= 0)
                return nullptr;
            found = i;
        }
    }
    if (found < 0)
        return nullptr;
    QTcpSocket *transport = m_handshaking.takeAt(found);
    disconnect(transport, &QTcpSocket::disconnected, this, nullptr);
    return transport;
}

void RelayServer::onNewConnection()
{
    while (m_server->hasPendingConnections()) {
        QWebSocket *socket = m_server->nextPendingConnection();
        if (!socket)
            continue;
        if (QTcpSocket *transport = takeTransport(socket)) {
            accept(socket, transport);
        } else { // the peer left between its handshake and the upgrade (its socket is already forgotten)
            qCDebug(lcRelay).noquote() << u"the WebSocket from %1 has no open connection; dropping it"_s.arg(
                peerOf(socket));
            socket->abort();
            socket->deleteLater();
        }
    }
}

void RelayServer::accept(QWebSocket *socket, QTcpSocket *transport)
{
    if (RelayFrameGuard *guard = RelayFrameGuard::of(transport))
        guard->upgraded(); // Qt's WebSocket reads the socket from now on
    socket->setParent(this);
    transport->setParent(socket); // deleted with the QWebSocket, whichever way it ends
    socket->setMaxAllowedIncomingFrameSize(quint64(m_options.maxIncomingMessageBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(m_options.maxIncomingMessageBytes));
    const QUrlQuery query(socket->requestUrl());

    // Authentication first: an unauthenticated peer learns nothing else (not even capacity or parse errors).
    if (!authorized(socket, query))
        return reject(socket, RelayCloseCode::Unauthorized);
    if (transport->property(kUnmaskedProperty).toBool())
        return reject(socket, RelayCloseCode::ProtocolError);
    QString parseError;
    const auto options = protocol::parseRelayQuery(query, &parseError);
    if (!options)
        return reject(socket, RelayCloseCode::BadRequest, parseError);
    if (m_clients.size() >= m_settings.maxClients)
        return reject(socket, RelayCloseCode::TooManyClients);

    const quint64 id = m_nextId++;
    auto *client = new RelaySession(
        id, socket, transport,
        RelaySessionLimits{m_settings.softLimitBytes, m_settings.hardLimitBytes, m_options.closeGraceMs}, this);
    protocol::RelaySubscription subscription;
    options->subscription.applyTo(subscription);
    client->setSubscription(subscription);
    client->setConnectSeq(m_hub->lastSeq());
    m_clients.append(client);
    m_byId.insert(id, client);

    connect(socket, &QWebSocket::textMessageReceived, client,
            [this, client](const QString &message) { onText(client, message); });
    connect(socket, &QWebSocket::binaryMessageReceived, client, [this, client] { onBinary(client); });
    connect(socket, &QWebSocket::pong, client, [client] { client->noteActivity(); });
    connect(client, &RelaySession::closedByServer, this, &RelayServer::onClientClosed);
    connect(client, &RelaySession::finished, this, &RelayServer::onClientFinished);

    qCInfo(lcRelay).noquote()
        << u"client %1 connected from %2 (%3 clients)"_s.arg(id).arg(peerOf(socket)).arg(m_clients.size());
    emit clientConnected(id);
    if (options->since)
        replay(client, *options->since, m_hub->lastSeq(), nullptr, false);
}

void RelayServer::reject(QWebSocket *socket, RelayCloseCode code, const QString &reason)
{
    ++m_rejected[quint16(code)];
    qCInfo(lcRelay).noquote() << u"refused a connection from %1: close %2"_s.arg(peerOf(socket)).arg(quint16(code));
    connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
    QTimer::singleShot(m_options.closeGraceMs, socket, [socket] { socket->abort(); });
    emit clientRejected(quint16(code));
    const QString text = reason.isEmpty() ? protocol::relayCloseReason(code)
                                          : (protocol::relayCloseReason(code) + u": "_s + reason).left(120);
    socket->close(QWebSocketProtocol::CloseCode(quint16(code)), text);
}

void RelayServer::setToken(const QString &authToken)
{
    const QByteArray token = authToken.toUtf8();
    if (token == m_token)
        return;
    m_token = token;
    if (m_token.isEmpty())
        return; // authentication is off now: whoever is connected may stay
    const QList<RelaySession *> clients = m_clients;
    for (RelaySession *client : clients) {
        if (!client->isClosing())
            client->closeWith(RelayCloseCode::Unauthorized, u"the token changed"_s);
    }
    if (!clients.isEmpty())
        qCInfo(lcRelay).noquote() << u"the token changed: closed %1 relay client(s) with 4001"_s.arg(clients.size());
}

void RelayServer::setLimits(const RelaySettings &settings)
{
    const QString host = m_settings.host;
    const quint16 port = m_settings.port;
    m_settings = settings;
    m_settings.host = host;
    m_settings.port = port;
    enforceBacklogBudget();
}

bool RelayServer::authorized(const QWebSocket *socket, const QUrlQuery &query) const
{
    TokenCheck check;
    check.queryTokenAllowed = true;
    const QNetworkRequest request = socket->request();
    if (request.hasRawHeader("Authorization"))
        check.authorization = request.rawHeader("Authorization");
    if (query.hasQueryItem(u"token"_s))
        check.queryToken = query.queryItemValue(u"token"_s, QUrl::FullyDecoded).toUtf8();
    return tokenAccepted(m_token, check);
}

void RelayServer::onText(RelaySession *client, const QString &message)
{
    client->noteActivity();
    if (client->isClosing())
        return;
    protocol::RelayMessageError error;
    const auto msg = protocol::parseRelayClientMessage(message.toUtf8(), &error);
    if (!msg)
        return refuse(client, error);

    switch (msg->request) {
    case protocol::RelayRequest::Hello: {
        protocol::RelaySubscription subscription = client->subscription();
        msg->subscription.applyTo(subscription);
        client->setSubscription(subscription);
        if (msg->since) // events after the connection was opened were already delivered live
            replay(client, *msg->since, client->connectSeq(), "relay_welcome", true);
        else
            client->sendControl(protocol::encodeRelayWelcome(u"relay_welcome"_s, subscription, m_hub->lastSeq()));
        break;
    }
    case protocol::RelayRequest::Subscribe: {
        protocol::RelaySubscription subscription = client->subscription();
        msg->subscription.applyTo(subscription);
        client->setSubscription(subscription);
        client->sendControl(protocol::encodeRelayWelcome(u"relay_subscribed"_s, subscription, m_hub->lastSeq()));
        break;
    }
    case protocol::RelayRequest::Ping:
        client->sendControl(protocol::encodeRelayPong(msg->pingId, m_hub->lastSeq()));
        break;
    }
}

void RelayServer::onBinary(RelaySession *client)
{
    client->noteActivity();
    if (!client->isClosing())
        refuse(client,
               {QString::fromLatin1(protocol::RelayErrorCode::BinaryNotAccepted),
                u"the relay accepts JSON text messages only"_s,
                {}});
}

void RelayServer::refuse(RelaySession *client, const protocol::RelayMessageError &error)
{
    client->sendControl(protocol::encodeRelayError(error));
    if (client->noteError() > m_options.maxErrorsPerMinute)
        client->closeWith(RelayCloseCode::TooManyErrors);
}

void RelayServer::replay(RelaySession *client, qint64 since, qint64 until, const char *welcomeType, bool sendWelcome)
{
    const EventHub::Replay r = m_hub->eventsSince(since, until);
    QList<RelayEventPtr> events;
    events.reserve(r.events.size());
    for (const RelayEventPtr &e : r.events)
        if (client->subscription().acceptsJson(e->type(), e->jobId()))
            events.append(e);
    if (sendWelcome)
        client->sendControl(protocol::encodeRelayWelcome(QString::fromLatin1(welcomeType), client->subscription(),
                                                         r.lastSeq, since, events.size()));
    if (r.gap)
        client->sendControl(protocol::encodeRelayGap(since, r.firstSeq, r.lastSeq, r.gapReason));
    client->enqueueEvents(events);
}

void RelayServer::onPublished(const RelayEventPtr &event)
{
    if (event->kind() == RelayEvent::Kind::Preview) {
        m_previews->start(event, m_clients);
        return;
    }
    m_previews->deliverInOrder(event, m_clients); // copies the list: a client may leave while we deliver
    enforceBacklogBudget();
}

void RelayServer::enforceBacklogBudget()
{
    const qint64 budget = m_settings.totalBacklogBytes;
    if (budget <= 0)
        return;
    qint64 total = 0;
    for (const RelaySession *client : std::as_const(m_clients))
        total += client->isClosing() ? 0 : client->backlogBytes();
    while (total > budget) {
        RelaySession *worst = nullptr;
        qint64 worstBytes = 0;
        for (RelaySession *client : std::as_const(m_clients)) {
            const qint64 bytes = client->isClosing() ? 0 : client->backlogBytes();
            if (bytes > worstBytes)
                worst = client, worstBytes = bytes;
        }
        if (!worst)
            return;
        qCWarning(lcRelay).noquote()
            << u"relay clients are %1 bytes behind, over the total budget of %2; closing client %3 "
               u"(%4 bytes behind, the most) with 4008"_s.arg(total)
                   .arg(budget)
                   .arg(worst->id())
                   .arg(worstBytes);
        ++m_closedOverBudget;
        worst->closeWith(RelayCloseCode::TooSlow, u"too slow (relay backlog budget), resume with since="_s);
        total -= worstBytes;
    }
}

void RelayServer::onPingTick()
{
    const qint64 silentLimit = qint64(m_options.pingIntervalMs) + m_options.pongTimeoutMs;
    const QList<RelaySession *> clients = m_clients;
    for (RelaySession *client : clients) {
        if (client->isClosing())
            continue;
        if (client->msSinceActivity() > silentLimit)
            client->closeWith(RelayCloseCode::PingTimeout);
        else
            client->socket()->ping();
    }
}

void RelayServer::onClientClosed(quint64 id, quint16 code)
{
    ++m_closed[code];
    qCInfo(lcRelay).noquote() << u"closing client %1 with %2"_s.arg(id).arg(code);
    emit clientClosed(id, code);
}

void RelayServer::onClientFinished(quint64 id)
{
    RelaySession *client = m_byId.take(id);
    if (!client)
        return;
    m_clients.removeOne(client);
    const RelaySessionStats s = client->stats();
    m_finished.add(s);
    qCInfo(lcRelay).noquote()
        << u"client %1 disconnected (%2 messages, %3 previews sent, %4 dropped, %5 rate-limited)"_s.arg(id)
               .arg(s.messagesSent)
               .arg(s.previewsSent)
               .arg(s.previewsDropped)
               .arg(s.previewsRateLimited);
    client->deleteLater();
    if (s.peakBacklogBytes >= 1024 * 1024) // a backlog that large is worth giving back to the kernel
        m_trimmer.request(s.peakBacklogBytes);
    emit clientDisconnected(id);
}

} // namespace cr
