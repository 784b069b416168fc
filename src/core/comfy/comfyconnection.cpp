#include "core/comfy/comfyconnection.h"

#include "core/comfy/comfyurl.h"

#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QWebSocket>

Q_LOGGING_CATEGORY(lcComfyWs, "comfyrunner.comfy.ws")

namespace cr {

namespace {
constexpr qint64 kMaxInboundBytes = 256ll * 1024 * 1024; // full-size PNGs from SaveImageWebsocket can be large
constexpr qint64 kStableConnectionMs = 5000;
} // namespace

QString connectionStateName(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Disconnected:
        return QStringLiteral("disconnected");
    case ConnectionState::Connecting:
        return QStringLiteral("connecting");
    case ConnectionState::Connected:
        return QStringLiteral("connected");
    }
    return {};
}

ComfyConnection::ComfyConnection(ConnectionSettings settings, QObject *parent)
    : QObject(parent), m_settings(std::move(settings)), m_baseClientId(m_settings.clientId), m_clientId(m_baseClientId)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &ComfyConnection::open);
    m_pingTimer.setInterval(m_settings.pingIntervalMs);
    connect(&m_pingTimer, &QTimer::timeout, this, &ComfyConnection::onPingTick);
}

ComfyConnection::~ComfyConnection() { stop(); }

void ComfyConnection::start()
{
    if (m_running)
        return;
    m_running = true;
    m_backoffMs = 0;
    open();
}

void ComfyConnection::stop()
{
    m_running = false;
    ++m_epoch;
    m_reconnectTimer.stop();
    m_pingTimer.stop();
    if (m_socket) {
        QWebSocket *s = std::exchange(m_socket, nullptr);
        s->disconnect(this);
        s->close();
        s->deleteLater();
    }
    setState(ConnectionState::Disconnected);
}

void ComfyConnection::open()
{
    if (!m_running || m_socket)
        return;
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this); // no Origin header
    m_socket->setMaxAllowedIncomingMessageSize(kMaxInboundBytes);
    m_socket->setMaxAllowedIncomingFrameSize(kMaxInboundBytes);
    connect(m_socket, &QWebSocket::connected, this, &ComfyConnection::onConnected);
    connect(m_socket, &QWebSocket::disconnected, this, &ComfyConnection::onDisconnected);
    connect(m_socket, &QWebSocket::textMessageReceived, this, &ComfyConnection::onText);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &ComfyConnection::onBinary);
    // A transport error (reset, peer gone without a close frame) means ComfyUI may still hold the old socket.
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) { m_transportError = true; });
    connect(m_socket, &QWebSocket::pong, this, [this](quint64 elapsedMs) {
        m_lastRttMs = qint64(elapsedMs);
        m_sinceLastFrame.start();
    });

    QUrl url = comfyEndpoint(m_settings.httpUrl, QStringLiteral("/ws"));
    url.setScheme(url.scheme() == QLatin1String("https") ? QStringLiteral("wss") : QStringLiteral("ws"));
    // Percent-encode everything: aiohttp would read a literal '+' as a space and route to another id.
    url.setQuery(QStringLiteral("clientId=") + QString::fromLatin1(QUrl::toPercentEncoding(m_clientId)),
                 QUrl::StrictMode);
    setState(ConnectionState::Connecting);
    qCDebug(lcComfyWs) << "connecting to" << url.toString();
    m_transportError = false;
    m_socket->open(url);
    m_sinceLastFrame.start();
    // A handshake that never completes (stalled server) counts as a dead connection too.
    m_pingTimer.start();
}

void ComfyConnection::onConnected()
{
    m_metadataNegotiated = false;
    m_sinceLastFrame.start();
    // The first text frame is the one ComfyUI examines for feature flags (protocol doc §3.2).
    m_socket->sendTextMessage(
        QStringLiteral(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})"));
    m_connectedFor.start();
    ++m_epoch;
    setState(ConnectionState::Connected);
    qCInfo(lcComfyWs).noquote() << "connected to ComfyUI at" << m_settings.httpUrl.toString() << "as client"
                                << m_clientId;
    emit connected(!std::exchange(m_lastDropUnclean, false));
}

void ComfyConnection::onDisconnected()
{
    if (!m_socket)
        return;
    const bool wasConnected = m_state == ConnectionState::Connected;
    ++m_epoch;
    QWebSocket *s = std::exchange(m_socket, nullptr);
    if (wasConnected) {
        qCWarning(lcComfyWs).noquote() << "connection to ComfyUI lost:" << s->errorString();
        // The backoff starts over only after a connection that lasted: a server that accepts and drops at
        // once is not hammered.
        if (m_connectedFor.isValid() && m_connectedFor.elapsed() > kStableConnectionMs)
            m_backoffMs = 0;
        if (m_transportError && !m_lastDropUnclean) {
            // ComfyUI's same-id cleanup bug (protocol doc §3.1): after an unclean drop use a fresh id.
            m_lastDropUnclean = true;
            m_clientId = m_baseClientId + QStringLiteral("-r") + QString::number(++m_generation);
        }
    }
    s->disconnect(this);
    s->deleteLater();
    m_pingTimer.stop();
    setState(ConnectionState::Disconnected);
    scheduleReconnect();
}

void ComfyConnection::dropUnclean(const QString &why)
{
    qCWarning(lcComfyWs).noquote() << why << "- reconnecting with a new client id";
    // ComfyUI still holds the old socket under our id; reusing it would let its cleanup unregister the new one.
    if (m_state == ConnectionState::Connected) {
        m_lastDropUnclean = true;
        m_clientId = m_baseClientId + QStringLiteral("-r") + QString::number(++m_generation);
    }
    if (m_socket)
        m_socket->abort(); // emits disconnected -> reconnect
}

void ComfyConnection::scheduleReconnect()
{
    if (!m_running)
        return;
    m_backoffMs = m_backoffMs == 0 ? m_settings.reconnectMinMs : qMin(m_backoffMs * 2, m_settings.reconnectMaxMs);
    const int jitter = int(QRandomGenerator::global()->bounded(m_backoffMs / 4 + 1));
    m_reconnectTimer.start(m_backoffMs + jitter);
}

void ComfyConnection::onPingTick()
{
    if (!m_socket)
        return;
    if (m_sinceLastFrame.elapsed() > m_settings.pingTimeoutMs) {
        dropUnclean(
            QStringLiteral("ComfyUI sent nothing for %1 ms (half-open connection?)").arg(m_sinceLastFrame.elapsed()));
        return;
    }
    if (m_state == ConnectionState::Connected)
        m_socket->ping();
}

void ComfyConnection::onText(const QString &text)
{
    m_sinceLastFrame.start();
    QString error;
    std::optional<protocol::ComfyEvent> ev = protocol::parseTextFrame(text.toUtf8(), &error);
    if (!ev) {
        ++m_epoch; // a frame is gone: what it said can only be read back through /history
        ++m_malformedFrames;
        if (!m_lastMalformedWarning.isValid() || m_lastMalformedWarning.elapsed() > 10000) {
            qCWarning(lcComfyWs).noquote()
                << "dropped a malformed text frame:" << error << "(" << m_malformedFrames << "so far)";
            m_lastMalformedWarning.start();
        }
        return;
    }
    if (ev->type == protocol::EventType::FeatureFlags) {
        if (const auto *flags = ev->as<protocol::FeatureFlagsEvent>())
            m_metadataNegotiated = flags->supportsPreviewMetadata;
    }
    emit eventReceived(*ev);
}

void ComfyConnection::onBinary(const QByteArray &frame)
{
    m_sinceLastFrame.start();
    protocol::FrameError err = protocol::FrameError::None;
    std::optional<protocol::BinaryFrame> parsed = protocol::parseBinaryFrame(frame, &err);
    if (parsed && parsed->preview) {
        emit previewReceived(*parsed->preview, frame);
        return;
    }
    if (parsed || err == protocol::FrameError::UnknownType) {
        emit otherBinaryReceived(frame);
        return;
    }
    ++m_malformedFrames; // a preview, not an event: the prompt's outcome does not depend on it
    if (!m_lastMalformedWarning.isValid() || m_lastMalformedWarning.elapsed() > 10000) {
        qCWarning(lcComfyWs).noquote() << "dropped a malformed binary frame of" << frame.size()
                                       << "bytes:" << protocol::frameErrorString(err) << "(" << m_malformedFrames
                                       << "so far)";
        m_lastMalformedWarning.start();
    }
}

void ComfyConnection::setState(ConnectionState state)
{
    if (m_state == state)
        return;
    m_state = state;
    emit stateChanged(state);
}

} // namespace cr
