#include "core/api/ssestream.h"
#include "core/api/apilog.h"

#include "core/config/config.h"

#include <QTcpSocket>

namespace cr {

namespace {
constexpr qint64 kFrameOverhead = 48; // "id: ", "event: ", "data: ", line ends; for the budget only
}

SseLimits SseLimits::from(const Config &config)
{
    SseLimits limits;
    limits.maxStreams = config.http.maxEventStreams;
    limits.heartbeatMs = config.http.eventHeartbeatMs;
    limits.softLimitBytes = config.relay.softLimitBytes;
    limits.hardLimitBytes = config.relay.hardLimitBytes;
    return limits;
}

QByteArray encodeSseEvent(const QString &event, const QByteArray &data, qint64 id)
{
    QByteArray out;
    out.reserve(data.size() + event.size() + 40);
    if (id > 0)
        out.append("id: ").append(QByteArray::number(id)).append('\n');
    if (!event.isEmpty()) {
        QByteArray name = event.toUtf8();
        name.replace('\r', "").replace('\n', "");
        out.append("event: ").append(name).append('\n');
    }
    if (!data.contains('\n') && !data.contains('\r')) {
        out.append("data: ").append(data).append('\n');
    } else {
        QByteArray normalised = data;
        normalised.replace("\r\n", "\n").replace('\r', '\n');
        for (const QByteArray &line : normalised.split('\n'))
            out.append("data: ").append(line).append('\n');
    }
    out.append('\n');
    return out;
}

QByteArray encodeSseComment(const QByteArray &text)
{
    QByteArray line = text;
    line.replace('\r', ' ').replace('\n', ' ');
    return ": " + line + "\n\n";
}

SseStream::SseStream(ApiReply reply, Options options, const SseLimits &limits, QObject *parent)
    : QObject(parent), m_reply(std::move(reply)), m_options(std::move(options)), m_limits(limits)
{
    m_heartbeat.setInterval(qMax(1, m_limits.heartbeatMs));
    connect(&m_heartbeat, &QTimer::timeout, this, &SseStream::heartbeat);
}

SseStream::~SseStream() = default;

bool SseStream::open()
{
    m_socket = m_reply.socket();
    if (!m_reply.isOpen() || !m_socket) {
        end(EndReason::ClientLeft);
        return false;
    }
    m_peer = m_socket->peerAddress().toString();
    // X-Accel-Buffering: nginx would otherwise hold the stream back in its buffer.
    m_reply.begin(200, "text/event-stream", -1, {{"X-Accel-Buffering", "no"}});
    if (m_reply.isHeadOnly()) {
        end(EndReason::Completed);
        return false;
    }
    connect(m_socket, &QIODevice::bytesWritten, this, &SseStream::pump);
    connect(m_socket, &QAbstractSocket::disconnected, this, [this] { end(EndReason::ClientLeft); });
    m_reply.write("retry: " + QByteArray::number(m_limits.retryMs) + "\n\n");
    m_heartbeat.start();
    return true;
}

qint64 SseStream::socketBacklog() const { return m_socket ? m_socket->bytesToWrite() : 0; }

void SseStream::offer(const RelayEventPtr &event, bool replayed)
{
    if (m_ended || m_finishing || !event || !event->isJson())
        return;
    if (m_options.filter.acceptsJson(event->type(), event->jobId())) {
        const QByteArray &payload = m_options.envelope ? event->envelopeBytes() : event->raw();
        enqueue(Pending{event, {}, payload.size() + event->type().size() + kFrameOverhead, !replayed});
    }
    if (!m_ended && !m_options.followJob.isEmpty() && event->jobId() == m_options.followJob
        && protocol::isFinalServiceEvent(event->type()))
        finish();
}

void SseStream::sendGap(qint64 since, qint64 firstSeq, qint64 lastSeq, const QString &reason)
{
    if (m_ended || m_finishing)
        return;
    QByteArray frame
        = encodeSseEvent(QStringLiteral("relay_gap"), protocol::encodeRelayGap(since, firstSeq, lastSeq, reason));
    const qint64 size = frame.size();
    enqueue(Pending{{}, std::move(frame), size, false});
}

void SseStream::finish()
{
    if (m_ended)
        return;
    m_finishing = true;
    pump();
}

void SseStream::enqueue(Pending pending)
{
    const bool live = pending.live;
    m_queuedBytes += pending.size;
    if (live)
        m_liveQueuedBytes += pending.size;
    m_queue.push_back(std::move(pending));
    pump();
    if (!live || m_ended || !m_socket || m_liveQueuedBytes == 0)
        return;
    const qint64 backlog = m_socket->bytesToWrite() + m_liveQueuedBytes;
    if (backlog > m_limits.hardLimitBytes) {
        qCInfo(lcApi).noquote()
            << QStringLiteral(
                   "closing the event stream of %1: %2 bytes behind (limit %3); it may resume with Last-Event-ID")
                   .arg(m_peer)
                   .arg(backlog)
                   .arg(m_limits.hardLimitBytes);
        end(EndReason::TooSlow);
    }
}

QByteArray SseStream::frameOf(const Pending &pending) const
{
    if (!pending.event)
        return pending.frame;
    const RelayEvent &e = *pending.event;
    return encodeSseEvent(e.type(), m_options.envelope ? e.envelopeBytes() : e.raw(), e.seq());
}

void SseStream::pump()
{
    if (m_ended)
        return;
    if (!m_socket) {
        end(EndReason::ClientLeft);
        return;
    }
    // One chunk per pump: frames are batched while the backlog stays under the soft limit.
    QByteArray batch;
    while (!m_queue.empty() && m_socket->bytesToWrite() + batch.size() < m_limits.softLimitBytes) {
        Pending pending = std::move(m_queue.front());
        m_queue.pop_front();
        m_queuedBytes -= pending.size;
        if (pending.live)
            m_liveQueuedBytes -= pending.size;
        batch.append(frameOf(pending));
        if (pending.event)
            ++m_eventsSent;
    }
    if (!batch.isEmpty())
        m_reply.write(batch);
    if (m_finishing && m_queue.empty()) {
        m_reply.end();
        end(EndReason::Completed);
    }
}

void SseStream::heartbeat()
{
    if (!m_ended && m_queue.empty() && m_socket && m_socket->bytesToWrite() < m_limits.softLimitBytes)
        m_reply.write(encodeSseComment("keepalive"));
}

void SseStream::end(EndReason reason)
{
    if (m_ended)
        return;
    m_ended = true;
    m_heartbeat.stop();
    m_queue.clear();
    m_queuedBytes = 0;
    m_liveQueuedBytes = 0;
    if (m_socket)
        disconnect(m_socket, nullptr, this, nullptr);
    if (reason == EndReason::TooSlow)
        m_reply.drop(); // discards the backlog at once; a graceful close would keep it until it drained
    emit ended(this, reason);
}

} // namespace cr
