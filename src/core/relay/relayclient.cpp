#include "core/relay/relayclient.h"

#include <QDateTime>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>

Q_LOGGING_CATEGORY(lcRelayClient, "comfyrunner.relay.client")

namespace cr {

using namespace Qt::StringLiterals;
using protocol::PreviewMode;
using protocol::RelayCloseCode;

QJsonObject RelayClientStats::toJson() const
{
    return QJsonObject{
        {"id"_L1, double(id)},
        {"peer"_L1, peer},
        {"connected_at"_L1, QDateTime::fromMSecsSinceEpoch(connectedAtMs, Qt::UTC).toString(Qt::ISODateWithMs)},
        {"subscription"_L1, subscription.toJson()},
        {"messages_sent"_L1, double(messagesSent)},
        {"previews_sent"_L1, double(previewsSent)},
        {"binary_sent"_L1, double(binarySent)},
        {"bytes_sent"_L1, double(bytesSent)},
        {"previews_dropped"_L1, double(previewsDropped)},
        {"previews_rate_limited"_L1, double(previewsRateLimited)},
        {"bytes_to_write"_L1, double(bytesToWrite)},
        {"queued_messages"_L1, double(queuedMessages)},
        {"queued_bytes"_L1, double(queuedBytes)},
        {"peak_backlog_bytes"_L1, double(peakBacklogBytes)},
    };
}

RelayClient::RelayClient(quint64 id, QWebSocket *socket, const RelayClientLimits &limits, QObject *parent)
    : QObject(parent), m_id(id), m_socket(socket), m_limits(limits)
{
    m_socket->setParent(this);
    m_stats.id = id;
    m_stats.peer = u"%1:%2"_s.arg(socket->peerAddress().toString()).arg(socket->peerPort());
    m_stats.connectedAtMs = QDateTime::currentMSecsSinceEpoch();
    m_lastActivity.start();
    connect(m_socket, &QWebSocket::bytesWritten, this, &RelayClient::pump);
    connect(m_socket, &QWebSocket::disconnected, this, &RelayClient::onDisconnected);
}

RelayClient::~RelayClient() = default;

void RelayClient::setSubscription(const protocol::RelaySubscription &subscription)
{
    m_subscription = subscription;
    m_stats.subscription = subscription;
    m_previewIntervalNs = subscription.previewMaxFps > 0 ? qint64(1e9 / subscription.previewMaxFps) : 0;
    if (m_heldPreview && !subscription.acceptsPreview(m_heldPreview->jobId()))
        m_heldPreview.reset();
}

bool RelayClient::canWrite() const
{
    return m_socket->bytesToWrite() <= m_limits.softLimitBytes;
}

void RelayClient::deliver(const RelayEventPtr &event)
{
    if (isClosing())
        return;
    switch (event->kind()) {
    case RelayEvent::Kind::Json:
        if (m_subscription.acceptsJson(event->type(), event->jobId()))
            queue(Pending{event, {}, m_subscription.envelope ? event->envelopeBytes().size() : event->raw().size()});
        return;
    case RelayEvent::Kind::Binary:
        if (m_subscription.acceptsBinary(event->jobId()))
            queue(Pending{event, {}, event->raw().size()});
        return;
    case RelayEvent::Kind::Preview:
        break;
    }
    if (!m_subscription.acceptsPreview(event->jobId()))
        return;
    if (m_previewIntervalNs > 0 && m_lastPreview.isValid() && m_lastPreview.nsecsElapsed() < m_previewIntervalNs) {
        ++m_stats.previewsRateLimited;
        return;
    }
    m_lastPreview.start();
    if (m_queue.empty() && canWrite()) {
        writePreview(event);
        return;
    }
    if (m_heldPreview)
        ++m_stats.previewsDropped; // the older held-back preview is never sent
    m_heldPreview = event;
}

void RelayClient::enqueueEvents(const QList<RelayEventPtr> &events)
{
    for (const RelayEventPtr &event : events) {
        if (isClosing())
            return;
        queue(Pending{event, {}, m_subscription.envelope ? event->envelopeBytes().size() : event->raw().size()});
    }
}

void RelayClient::sendControl(const QByteArray &json)
{
    if (!isClosing())
        queue(Pending{{}, json, json.size()});
}

void RelayClient::queue(Pending item)
{
    if (m_queue.empty() && canWrite()) {
        writeText(item);
        return;
    }
    m_stats.queuedBytes += item.bytes;
    m_queue.push_back(std::move(item));
    // The one preview written while under the soft limit does not count: a single large image (a full-size
    // PNG from SaveImageWebsocket) must not get a healthy client closed.
    const qint64 backlog = std::max<qint64>(0, m_socket->bytesToWrite() - m_previewInFlight) + m_stats.queuedBytes;
    m_stats.peakBacklogBytes = std::max(m_stats.peakBacklogBytes, backlog);
    if (backlog > m_limits.hardLimitBytes) {
        qCWarning(lcRelayClient).nospace() << "client " << m_id << " (" << m_stats.peer << ") is " << backlog
                                           << " bytes behind, over the hard limit; closing it (4008)";
        closeWith(RelayCloseCode::TooSlow);
    }
}

void RelayClient::writeText(const Pending &item)
{
    if (!item.event) {
        m_socket->sendTextMessage(QString::fromUtf8(item.control));
        ++m_stats.messagesSent;
    } else if (item.event->kind() == RelayEvent::Kind::Binary) {
        m_socket->sendBinaryMessage(item.event->raw());
        ++m_stats.binarySent;
    } else {
        m_socket->sendTextMessage(m_subscription.envelope ? item.event->envelopeText() : item.event->text());
        ++m_stats.messagesSent;
    }
    m_stats.bytesSent += quint64(item.bytes);
    m_stats.peakBacklogBytes = std::max(m_stats.peakBacklogBytes, m_socket->bytesToWrite());
}

void RelayClient::writePreview(const RelayEventPtr &event)
{
    const QByteArray &frame =
        m_subscription.previews == PreviewMode::Type4 ? event->type4Frame() : event->type1Frame();
    m_socket->sendBinaryMessage(frame);
    m_previewInFlight = frame.size();
    ++m_stats.previewsSent;
    m_stats.bytesSent += quint64(frame.size());
    m_stats.peakBacklogBytes = std::max(m_stats.peakBacklogBytes, m_socket->bytesToWrite());
}

void RelayClient::pump()
{
    if (isClosing())
        return;
    if (canWrite())
        m_previewInFlight = 0; // what is left of it is under the soft limit
    while (!m_queue.empty() && canWrite()) {
        const Pending item = std::move(m_queue.front());
        m_queue.pop_front();
        m_stats.queuedBytes -= item.bytes;
        writeText(item);
    }
    if (m_queue.empty() && m_heldPreview && canWrite())
        writePreview(std::exchange(m_heldPreview, RelayEventPtr()));
}

void RelayClient::closeWith(RelayCloseCode code, const QString &reason)
{
    if (isClosing())
        return;
    m_closing = true;
    m_queue.clear();
    m_stats.queuedBytes = 0;
    m_heldPreview.reset();
    emit closedByServer(m_id, quint16(code));
    QTimer::singleShot(m_limits.closeGraceMs, this, [this] {
        if (!m_finished)
            m_socket->abort();
    });
    m_socket->close(QWebSocketProtocol::CloseCode(quint16(code)),
                    reason.isEmpty() ? protocol::relayCloseReason(code) : reason.left(120));
}

void RelayClient::onDisconnected()
{
    if (m_finished)
        return;
    m_finished = true;
    m_queue.clear();
    m_stats.queuedBytes = 0;
    m_heldPreview.reset();
    emit finished(m_id);
}

int RelayClient::noteError()
{
    if (!m_errorWindow.isValid() || m_errorWindow.elapsed() > 60'000) {
        m_errorWindow.start();
        m_errors = 0;
    }
    return ++m_errors;
}

RelayClientStats RelayClient::stats() const
{
    RelayClientStats s = m_stats;
    s.bytesToWrite = m_socket->bytesToWrite();
    s.queuedMessages = qint64(m_queue.size());
    return s;
}

} // namespace cr
