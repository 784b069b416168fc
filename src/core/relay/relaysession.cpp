#include "core/relay/relaysession.h"

#include <QDateTime>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

#include "protocol/websocketframe.h"

#include <algorithm>
#include <cstring>

Q_LOGGING_CATEGORY(lcRelaySession, "comfyrunner.relay.client")

namespace cr {

using namespace Qt::StringLiterals;
using protocol::PreviewMode;
using protocol::RelayCloseCode;

namespace {

// A client this far behind (queued bytes) copies the small frames it queues into its own blocks: shared
// ~250 B frames allocated between long-lived data leave holes in pages that stay in use once a stalled client
// is gone (heap fragmentation malloc_trim cannot undo); whole blocks free whole pages. Large frames (previews)
// stay shared. A client that keeps up never gets here and pays nothing.
constexpr qint64 kCompactAboveBytes = 256 * 1024;
constexpr qint32 kSmallFrameBytes = 4 * 1024; // QIODevice copies frames below this into its buffer anyway
constexpr qint32 kBlockBytes = 64 * 1024;
// The queue is one vector (one large allocation, not a deque's small nodes between long-lived data, for the
// same reason); written entries are erased from its front in batches of at least this many.
constexpr size_t kQueueCompactEntries = 1024;

} // namespace

QString peerString(const QHostAddress &address, quint16 port) { return u"%1:%2"_s.arg(address.toString()).arg(port); }

QJsonObject RelaySessionStats::toJson() const
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
        {"closing"_L1, closing},
    };
}

RelaySession::RelaySession(quint64 id, QWebSocket *socket, QTcpSocket *transport, const RelaySessionLimits &limits,
                           QObject *parent)
    : QObject(parent), m_id(id), m_socket(socket), m_transport(transport), m_limits(limits)
{
    m_socket->setParent(this);
    // As the QWebSocket's child the TCP socket is deleted with it (after ~QWebSocket, which still uses it), so
    // neither outlives the other; m_transport is a QPointer all the same.
    m_transport->setParent(m_socket);
    m_stats.id = id;
    m_stats.peer = peerString(socket->peerAddress(), socket->peerPort());
    m_stats.connectedAtMs = QDateTime::currentMSecsSinceEpoch();
    m_lastActivity.start();
    // Draining runs from the event loop, never inside a write: flush() (ours, and the one in QWebSocket's own
    // close()) emits bytesWritten before it returns, and nothing may follow QWebSocket's close frame.
    connect(m_transport, &QTcpSocket::bytesWritten, this, &RelaySession::schedulePump);
    // QWebSocket closes by itself when the client sends a close frame or breaks the protocol (1009, 1002).
    connect(m_socket, &QWebSocket::aboutToClose, this, &RelaySession::stopWriting);
    connect(m_transport, &QIODevice::aboutToClose, this, &RelaySession::stopWriting);
    connect(m_socket, &QWebSocket::disconnected, this, &RelaySession::onDisconnected);
}

RelaySession::~RelaySession() = default;

void RelaySession::setSubscription(const protocol::RelaySubscription &subscription)
{
    m_subscription = subscription;
    m_stats.subscription = subscription;
    m_previewIntervalNs = subscription.previewMaxFps > 0 ? qint64(1e9 / subscription.previewMaxFps) : 0;
    if (m_heldPreview && !subscription.acceptsPreview(m_heldPreview->jobId()))
        m_heldPreview.reset();
}

qint64 RelaySession::backlog() const { return m_transport ? m_transport->bytesToWrite() : 0; }

qint64 RelaySession::backlogBytes() const
{
    // The one preview written while under the soft limit does not count: a single large image (a full-size
    // PNG from SaveImageWebsocket) must not get a healthy client closed.
    return std::max<qint64>(0, backlog() - m_previewInFlight) + m_stats.queuedBytes;
}

bool RelaySession::canWrite() const { return backlog() <= m_limits.softLimitBytes; }

RelayEvent::Wire RelaySession::wireFor(const RelayEvent &event) const
{
    switch (event.kind()) {
    case RelayEvent::Kind::Json:
        return m_subscription.envelope ? RelayEvent::Wire::Envelope : RelayEvent::Wire::Text;
    case RelayEvent::Kind::Preview:
        return m_subscription.previews == PreviewMode::Type4 ? RelayEvent::Wire::PreviewType4
                                                             : RelayEvent::Wire::PreviewType1;
    case RelayEvent::Kind::Binary:
        break;
    }
    return RelayEvent::Wire::Binary;
}

RelaySession::Pending RelaySession::Pending::shared(const QByteArray &frame, qint64 payload, bool binary)
{
    Pending p;
    p.frame = frame;
    p.size = frame.size();
    p.payload = payload;
    p.binary = binary;
    return p;
}

RelaySession::Pending RelaySession::pendingFor(const RelayEvent &event) const
{
    const RelayEvent::Wire wire = wireFor(event);
    return Pending::shared(event.webSocketFrame(wire), event.payloadSize(wire),
                           event.kind() == RelayEvent::Kind::Binary);
}

bool RelaySession::deliver(const RelayEventPtr &event)
{
    if (isClosing())
        return false;
    switch (event->kind()) {
    case RelayEvent::Kind::Json:
        if (!m_subscription.acceptsJson(event->type(), event->jobId()))
            return false;
        queue(pendingFor(*event));
        return true;
    case RelayEvent::Kind::Binary:
        if (!m_subscription.acceptsBinary(event->jobId()))
            return false;
        queue(pendingFor(*event));
        return true;
    case RelayEvent::Kind::Preview:
        break;
    }
    if (!m_subscription.acceptsPreview(event->jobId()))
        return false;
    if (m_previewIntervalNs > 0 && m_lastPreview.isValid() && m_lastPreview.nsecsElapsed() < m_previewIntervalNs) {
        ++m_stats.previewsRateLimited;
        return false;
    }
    m_lastPreview.start();
    if (queueEmpty() && canWrite()) {
        writePreview(event);
        return true;
    }
    if (m_heldPreview)
        ++m_stats.previewsDropped; // the older held-back preview is never sent
    m_heldPreview = event;
    return true;
}

void RelaySession::enqueueEvents(const QList<RelayEventPtr> &events)
{
    for (const RelayEventPtr &event : events) {
        if (isClosing())
            return;
        queue(pendingFor(*event));
    }
}

void RelaySession::sendControl(const QByteArray &json)
{
    if (!isClosing())
        queue(
            Pending::shared(protocol::encodeWebSocketFrame(protocol::WebSocketOpcode::Text, json), json.size(), false));
}

void RelaySession::queue(Pending item)
{
    if (queueEmpty() && canWrite()) {
        writeQueued(item);
        return;
    }
    if (!m_compacting && m_stats.queuedBytes >= kCompactAboveBytes) {
        m_compacting = true; // from now on, and for what is already queued
        for (auto it = m_queue.begin() + qsizetype(m_queueHead); it != m_queue.end(); ++it)
            compact(*it);
    }
    if (m_compacting)
        compact(item);
    m_stats.queuedBytes += item.size;
    m_queue.push_back(std::move(item));
    const qint64 behind = backlogBytes();
    m_stats.peakBacklogBytes = std::max(m_stats.peakBacklogBytes, behind);
    if (behind > m_limits.hardLimitBytes) {
        qCWarning(lcRelaySession).nospace() << "client " << m_id << " (" << m_stats.peer << ") is " << behind
                                            << " bytes behind, over the hard limit; closing it (4008)";
        closeWith(RelayCloseCode::TooSlow);
    }
}

void RelaySession::compact(Pending &item)
{
    if (item.block || item.size >= kSmallFrameBytes)
        return;
    if (!m_block || m_blockUsed + item.size > kBlockBytes) {
        m_block = std::make_shared_for_overwrite<char[]>(kBlockBytes);
        m_blockUsed = 0;
    }
    std::memcpy(m_block.get() + m_blockUsed, item.frame.constData(), size_t(item.size));
    item.block = m_block;
    item.offset = m_blockUsed;
    item.frame = QByteArray(); // lets go of the shared frame
    m_blockUsed += qint32(item.size);
}

void RelaySession::releaseQueue()
{
    m_queueHead = 0;
    if (m_queue.capacity() > kQueueCompactEntries)
        std::vector<Pending>().swap(m_queue); // a large queue's memory goes back at once
    else
        m_queue.clear(); // a small one is kept for the next burst
}

void RelaySession::stopCompacting()
{
    m_compacting = false;
    m_block.reset(); // queued frames still in it keep it until they are written
    m_blockUsed = 0;
}

void RelaySession::dropQueue()
{
    releaseQueue();
    m_stats.queuedBytes = 0;
    m_heldPreview.reset();
    stopCompacting();
}

bool RelaySession::writeFrame(const Pending &item)
{
    // QIODevice::write(const QByteArray &) appends an array of 4 KiB or more to the socket's write buffer by
    // reference: every client shares a preview's bytes until the kernel has them (smaller frames are copied).
    // flush() then hands the kernel what it takes now, so that bytesToWrite() is what the client has not
    // accepted (the backpressure measure), not what this event loop has not flushed yet: a burst of previews
    // read from ComfyUI in one go would otherwise fill the soft limit before the first write notification
    // and be dropped for a client that is keeping up.
    if (!m_transport || !m_transport->isWritable())
        return false;
    const qint64 written
        = item.block ? m_transport->write(item.block.get() + item.offset, item.size) : m_transport->write(item.frame);
    if (written != item.size)
        return false;
    m_transport->flush();
    m_stats.peakBacklogBytes = std::max(m_stats.peakBacklogBytes, backlog());
    return true;
}

void RelaySession::writeQueued(const Pending &item)
{
    if (!writeFrame(item))
        return;
    ++(item.binary ? m_stats.binarySent : m_stats.messagesSent);
    m_stats.bytesSent += quint64(item.payload);
}

void RelaySession::writePreview(const RelayEventPtr &event)
{
    const RelayEvent::Wire wire = wireFor(*event);
    const QByteArray frame = event->webSocketFrame(wire);
    if (!writeFrame(Pending::shared(frame, 0, true)))
        return;
    m_previewInFlight = frame.size();
    ++m_stats.previewsSent;
    m_stats.bytesSent += quint64(event->payloadSize(wire));
}

void RelaySession::schedulePump()
{
    if (m_pumpScheduled || isClosing())
        return;
    m_pumpScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_pumpScheduled = false;
            pump();
        },
        Qt::QueuedConnection);
}

void RelaySession::pump()
{
    if (isClosing())
        return;
    if (canWrite())
        m_previewInFlight = 0; // what is left of it is under the soft limit
    while (!queueEmpty() && canWrite()) {
        const Pending item = std::move(m_queue[m_queueHead++]);
        m_stats.queuedBytes -= item.size;
        writeQueued(item);
    }
    if (queueEmpty()) {
        releaseQueue(); // caught up: the next backlog starts shared again
        stopCompacting();
    } else if (m_queueHead >= kQueueCompactEntries && m_queueHead * 2 >= m_queue.size()) {
        m_queue.erase(m_queue.begin(), m_queue.begin() + qsizetype(m_queueHead)); // amortised O(1) per entry
        m_queueHead = 0;
    }
    if (queueEmpty() && m_heldPreview && canWrite())
        writePreview(std::exchange(m_heldPreview, RelayEventPtr()));
}

QTcpSocket *RelaySession::transport() const { return m_transport; }

void RelaySession::closeWith(RelayCloseCode code, const QString &reason)
{
    if (isClosing())
        return;
    stopWriting();
    emit closedByServer(m_id, quint16(code));
    m_socket->close(QWebSocketProtocol::CloseCode(quint16(code)),
                    reason.isEmpty() ? protocol::relayCloseReason(code) : reason.left(120));
}

void RelaySession::stopWriting()
{
    if (isClosing())
        return;
    m_closing = true;
    dropQueue();
    // A client that stops reading after the close frames is never disconnected by itself (its socket waits
    // to drain), and pings skip closing clients.
    QTimer::singleShot(m_limits.closeGraceMs, this, [this] {
        if (!m_finished)
            m_socket->abort();
    });
}

void RelaySession::onDisconnected()
{
    if (m_finished)
        return;
    m_finished = true;
    dropQueue();
    emit finished(m_id);
}

int RelaySession::noteError()
{
    if (!m_errorWindow.isValid() || m_errorWindow.elapsed() > 60'000) {
        m_errorWindow.start();
        m_errors = 0;
    }
    return ++m_errors;
}

RelaySessionStats RelaySession::stats() const
{
    RelaySessionStats s = m_stats;
    s.bytesToWrite = backlog();
    s.closing = isClosing();
    s.queuedMessages = qint64(m_queue.size() - m_queueHead);
    return s;
}

} // namespace cr
