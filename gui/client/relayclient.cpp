#include "gui/client/relayclient.h"

#include "gui/client/monitorlog.h"

#include <QDateTime>
#include <QNetworkRequest>
#include <QWebSocket>

namespace cr::monitor {

namespace {

constexpr int kMaxPingsInFlight = 16;
constexpr qint64 kMaxInboundBytes = 64ll * 1024 * 1024; // a preview or event larger than this is refused

// What the monitor subscribes to: every JSON event enveloped (seq for resume, ts for lag, job_id), previews
// as type 4 (they carry job_id), at full rate: the client keeps only the newest frame anyway.
protocol::RelaySubscription monitorSubscription()
{
    protocol::RelaySubscription s;
    s.previews = protocol::PreviewMode::Type4;
    s.envelope = true;
    return s;
}

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

} // namespace

MonitorEvent MonitorEvent::from(protocol::ComfyEvent event, const QString &jobId, qint64 seq, qint64 timestampMs)
{
    MonitorEvent ev;
    ev.seq = seq;
    ev.timestampMs = timestampMs;
    ev.jobId = jobId;
    ev.service = protocol::parseServiceEvent(event);
    ev.event = std::move(event);
    return ev;
}

QString RelayClient::stateName(State state)
{
    switch (state) {
    case State::Disconnected:
        return QStringLiteral("disconnected");
    case State::Connecting:
        return QStringLiteral("connecting");
    case State::Connected:
        return QStringLiteral("connected");
    case State::Reconnecting:
        return QStringLiteral("reconnecting");
    }
    return {};
}

RelayClient::RelayClient(RelayClientOptions options, QObject *parent)
    : QObject(parent), m_options(options),
      m_backoff(options.initialBackoffMs, options.maxBackoffMs, 2.0, options.backoffJitter)
{
    qRegisterMetaType<cr::monitor::MonitorEvent>();
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &RelayClient::connectNow);
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        if (m_state != State::Connecting)
            return;
        qCInfo(lcMonitorNet) << "relay handshake timed out";
        m_lastError = QStringLiteral("the relay did not answer within %1 s").arg(m_options.connectTimeoutMs / 1000.0);
        dropConnection();
    });
    m_pingTimer.setInterval(m_options.pingIntervalMs);
    connect(&m_pingTimer, &QTimer::timeout, this, &RelayClient::sendPing);
    m_clock.start();
}

RelayClient::~RelayClient() { close(); }

void RelayClient::setUrl(const QUrl &url)
{
    QUrl clean = url;
    clean.setQuery(QString());
    if (clean.path().isEmpty())
        clean.setPath(QStringLiteral("/"));
    if (clean != m_url)
        m_lastSeq = 0; // another relay: its seq numbers mean nothing to us
    m_url = clean;
}

void RelayClient::setToken(const QString &token) { m_token = token; }

void RelayClient::open()
{
    m_wanted = true;
    m_giveUp = false;
    m_backoff.reset();
    m_retryTimer.stop();
    if (m_socket) {
        QWebSocket *old = m_socket;
        m_socket = nullptr;
        old->disconnect(this);
        old->abort();
        old->deleteLater();
    }
    connectNow();
}

void RelayClient::close()
{
    m_wanted = false;
    m_retryTimer.stop();
    m_pingTimer.stop();
    m_connectTimer.stop();
    if (m_socket) {
        QWebSocket *old = m_socket;
        m_socket = nullptr;
        old->disconnect(this);
        old->close(QWebSocketProtocol::CloseCodeNormal);
        old->deleteLater();
    }
    setState(State::Disconnected);
}

void RelayClient::dropConnection()
{
    if (!m_socket)
        return;
    QWebSocket *old = m_socket;
    m_socket = nullptr;
    old->disconnect(this);
    old->abort();
    old->deleteLater();
    m_pingTimer.stop();
    m_connectTimer.stop();
    if (m_wanted && !m_giveUp)
        scheduleRetry();
    else
        setState(State::Disconnected);
}

int RelayClient::retryInMs() const { return m_retryTimer.isActive() ? m_retryTimer.remainingTime() : 0; }

std::optional<MonitorPreview> RelayClient::takePreview() { return std::exchange(m_preview, std::nullopt); }

void RelayClient::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    qCDebug(lcMonitorNet).noquote() << "relay state:" << stateName(state);
    emit stateChanged(state);
}

QUrl RelayClient::connectUrl() const
{
    QUrl url = m_url;
    url.setQuery(
        protocol::relayQuery(monitorSubscription(), m_lastSeq > 0 ? std::optional<qint64>(m_lastSeq) : std::nullopt));
    return url;
}

void RelayClient::connectNow()
{
    if (!m_wanted)
        return;
    if (!m_url.isValid() || (m_url.scheme() != QLatin1String("ws") && m_url.scheme() != QLatin1String("wss"))) {
        m_giveUp = true;
        fail(QStringLiteral("the relay URL must start with ws:// or wss:// (got \"%1\")").arg(m_url.toString()));
        setState(State::Disconnected);
        return;
    }
    auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    socket->setMaxAllowedIncomingMessageSize(quint64(kMaxInboundBytes));
    socket->setMaxAllowedIncomingFrameSize(quint64(kMaxInboundBytes));
    m_socket = socket;
    connect(socket, &QWebSocket::connected, this, &RelayClient::onConnected);
    connect(socket, &QWebSocket::disconnected, this, &RelayClient::onDisconnected);
    connect(socket, &QWebSocket::textMessageReceived, this, &RelayClient::onText);
    connect(socket, &QWebSocket::binaryMessageReceived, this, &RelayClient::onBinary);
    connect(socket, &QWebSocket::pong, this, [this] { m_sinceActivity.restart(); });

    QNetworkRequest request(connectUrl());
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    setState(State::Connecting);
    m_connectTimer.start(m_options.connectTimeoutMs);
    qCDebug(lcMonitorNet).noquote() << "connecting to" << request.url().toString();
    socket->open(request);
}

void RelayClient::scheduleRetry()
{
    const int delay = m_backoff.next();
    qCInfo(lcMonitorNet).noquote() << QStringLiteral("relay: next attempt in %1 ms").arg(delay);
    m_retryTimer.start(delay);
    setState(State::Reconnecting);
}

void RelayClient::onConnected()
{
    if (sender() != m_socket)
        return;
    m_connectTimer.stop();
    ++m_connections;
    m_lastError.clear();
    m_sinceActivity.start();
    m_pingTimer.start();
    qCInfo(lcMonitorNet).noquote() << "relay connected:" << m_url.toString()
                                   << (m_lastSeq > 0 ? QStringLiteral("(resuming after seq %1)").arg(m_lastSeq)
                                                     : QString());
    m_socket->sendTextMessage(QString::fromUtf8(protocol::encodeRelayHello(monitorSubscription())));
    setState(State::Connected);
    sendPing(); // a first round trip right away; then every interval
}

void RelayClient::onDisconnected()
{
    QWebSocket *socket = qobject_cast<QWebSocket *>(sender());
    if (!socket || socket != m_socket)
        return;
    const int code = int(socket->closeCode());
    const QString reason = socket->closeReason();
    const bool wasConnected = m_state == State::Connected;
    m_socket = nullptr;
    socket->disconnect(this);
    socket->deleteLater();
    m_pingTimer.stop();
    m_connectTimer.stop();

    using protocol::RelayCloseCode;
    if (wasConnected || code >= 4000) {
        qCInfo(lcMonitorNet).noquote() << QStringLiteral("relay closed the connection: %1 %2").arg(code).arg(reason);
        emit closedByRelay(code, reason);
    }
    if (code == int(RelayCloseCode::Unauthorized) || code == int(RelayCloseCode::BadRequest)) {
        m_giveUp = true;
        fail(code == int(RelayCloseCode::Unauthorized)
                 ? QStringLiteral("the relay refused the token (close %1)").arg(code)
                 : QStringLiteral("the relay refused the request: %1").arg(reason));
    } else if (!wasConnected && m_lastError.isEmpty()) {
        m_lastError = socket->errorString();
    }
    if (m_wanted && !m_giveUp)
        scheduleRetry();
    else
        setState(State::Disconnected);
}

void RelayClient::onText(const QString &text)
{
    if (sender() != m_socket)
        return;
    m_sinceActivity.restart();
    const QByteArray bytes = text.toUtf8();
    if (bytes.startsWith("{\"seq\":")) {
        if (auto env = protocol::parseRelayEnvelope(bytes)) {
            auto parsed = protocol::parseEventObject(env->event); // parsed once, with the envelope
            if (!parsed)
                return;
            if (parsed->promptId.isEmpty())
                parsed->promptId = env->promptId;
            const MonitorEvent ev = MonitorEvent::from(std::move(*parsed), env->jobId, env->seq, env->timestampMs);
            m_lastSeq = env->seq;
            ++m_eventsReceived;
            noteLag(env->timestampMs);
            emit eventReceived(ev);
            return;
        }
    }
    QString error;
    auto parsed = protocol::parseTextFrame(bytes, &error);
    if (!parsed) {
        qCWarning(lcMonitorNet).noquote() << "relay sent an unreadable message:" << error;
        return;
    }
    if (auto control = protocol::parseRelayControl(parsed->typeName, parsed->data)) {
        onControl(*control);
        return;
    }
    if (parsed->typeName.startsWith(QLatin1String("relay_")))
        return; // a control message this version does not know
    // An event without envelope (a relay that ignores envelope=1).
    MonitorEvent ev = MonitorEvent::from(std::move(*parsed));
    ev.jobId = ev.service ? ev.service->jobId() : QString();
    ++m_eventsReceived;
    emit eventReceived(ev);
}

void RelayClient::onControl(const protocol::RelayControlMessage &message)
{
    if (const auto *w = std::get_if<protocol::RelayWelcome>(&message)) {
        if (w->type != QLatin1String("relay_welcome"))
            return;        // relay_subscribed: the monitor never sends subscribe
        m_backoff.reset(); // accepted (not just a handshake the relay closes at once, e.g. 4003)
        emit welcomed(w->lastSeq, w->replayCount);
    } else if (const auto *g = std::get_if<protocol::RelayGap>(&message)) {
        ++m_gaps;
        // Replayed events (if any) follow and move lastSeq on; after a restart the relay's numbering starts
        // again, so its newest seq is the new resume point.
        m_lastSeq = g->lastSeq;
        qCInfo(lcMonitorNet).noquote()
            << QStringLiteral("relay gap after seq %1 (%2); next seq %3").arg(g->since).arg(g->reason).arg(g->firstSeq);
        emit gap(g->since, g->firstSeq, g->reason);
    } else if (const auto *p = std::get_if<protocol::RelayPong>(&message)) {
        const qint64 id = qint64(p->id.toDouble());
        if (m_pingsSent.contains(id)) {
            m_roundTripMs = m_clock.elapsed() - m_pingsSent.take(id);
            emit roundTripChanged(m_roundTripMs);
        }
    } else if (const auto *e = std::get_if<protocol::RelayMessageError>(&message)) {
        qCWarning(lcMonitorNet).noquote() << "relay error:" << e->code << e->message;
        emit errorOccurred(QStringLiteral("relay: %1").arg(e->message));
    }
}

void RelayClient::onBinary(const QByteArray &frame)
{
    if (sender() != m_socket)
        return;
    m_sinceActivity.restart();
    auto preview = protocol::parseRelayPreview(frame);
    if (!preview)
        return; // not a preview (the monitor does not ask for other binary frames)
    ++m_previewsReceived;
    const bool wasEmpty = !m_preview.has_value();
    if (!wasEmpty)
        ++m_previewsReplaced;
    m_preview = MonitorPreview{std::move(preview->frame), preview->jobId, QString(), m_previewsReceived, nowMs()};
    const QString jobId = m_preview->jobId;
    emit previewReceived(jobId);
    if (wasEmpty)
        emit previewAvailable();
}

void RelayClient::sendPing()
{
    if (!m_socket || m_state != State::Connected)
        return;
    if (m_sinceActivity.elapsed() > m_options.silenceTimeoutMs) {
        qCInfo(lcMonitorNet) << "relay silent for" << m_sinceActivity.elapsed() << "ms; reconnecting";
        m_lastError = QStringLiteral("the relay stopped answering");
        dropConnection();
        return;
    }
    if (m_pingsSent.size() >= kMaxPingsInFlight)
        m_pingsSent.clear();
    const qint64 id = ++m_pingCounter;
    m_pingsSent.insert(id, m_clock.elapsed());
    m_socket->sendTextMessage(QString::fromUtf8(protocol::encodeRelayPing(id)));
    m_socket->ping(); // WebSocket-level too: some proxies only keep a link alive with real traffic
}

void RelayClient::noteLag(qint64 timestampMs)
{
    m_lagMs = qMax<qint64>(0, nowMs() - timestampMs);
    if (!m_lagSignalClock.isValid() || m_lagSignalClock.elapsed() >= m_options.lagSignalIntervalMs) {
        m_lagSignalClock.start();
        emit lagChanged(m_lagMs);
    }
}

void RelayClient::fail(const QString &message)
{
    m_lastError = message;
    qCWarning(lcMonitorNet).noquote() << message;
    emit errorOccurred(message);
}

} // namespace cr::monitor
