#pragma once
// Server-Sent Events (text/event-stream) over a chunked HTTP response: one SseStream per client writes the
// EventHub's JSON events that pass its filter as `id:`/`event:`/`data:` frames, with heartbeats and a byte
// budget (socket backlog + events waiting for it) so that a slow reader never grows memory without bound.

#include "core/api/apiexchange.h"
#include "core/relay/relayevent.h"
#include "protocol/relaymessages.h"
#include "protocol/serviceevents.h"

#include <QObject>
#include <QPointer>
#include <QTimer>

#include <deque>

class QTcpSocket;

namespace cr {

struct Config;

// Bounds of the SSE transport: [http-server] max_event_streams and event_heartbeat, the relay's byte budgets
// ([server] client_soft_limit_kb / client_hard_limit_kb); the retry delay is fixed.
struct SseLimits {
    int maxStreams = 64;                        // more concurrent streams: 503 too_many_streams
    int heartbeatMs = 15'000;                   // a comment line this often keeps proxies from timing out
    int retryMs = 3'000;                        // the reconnection delay suggested to EventSource (`retry:`)
    qint64 softLimitBytes = 1024ll * 1024;      // above this socket backlog, events wait in the stream's queue
    qint64 hardLimitBytes = 16ll * 1024 * 1024; // backlog + queue above this: the stream is closed

    static SseLimits from(const Config &config);
};

// One SSE frame. `event` and `id` are left out when empty / <= 0; line breaks in `event` are removed and
// every line of `data` becomes its own `data:` line (the client joins them with "\n").
QByteArray encodeSseEvent(const QString &event, const QByteArray &data, qint64 id = 0);
// A comment frame (": text\n\n"), ignored by clients; used as the heartbeat.
QByteArray encodeSseComment(const QByteArray &text);

// One open text/event-stream response. The owner feeds it events (replayed, then live from the hub); the
// stream writes the accepted ones while the socket backlog is under the soft limit and queues the rest
// (shared references), drains on bytesWritten, and closes the connection past the hard limit. It emits
// `ended` exactly once; the owner then deletes it.
class SseStream final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SseStream)

public:
    enum class EndReason {
        Completed,  // the followed job ended and everything was written (the response is complete)
        ClientLeft, // the client disconnected
        TooSlow,    // the budget was exceeded; the connection was dropped
    };

    struct Options {
        protocol::RelaySubscription filter; // jobs / types, as the WebSocket relay (previews are never sent)
        bool envelope = true;               // data: the relay envelope; false: the event's own JSON
        QString followJob;                  // not empty: end after this job's final event
    };

    SseStream(ApiReply reply, Options options, const SseLimits &limits, QObject *parent = nullptr);
    ~SseStream() override;

    // Writes the response head (200, text/event-stream, chunked) and the `retry:` hint. False when the
    // client already left (then `ended` was emitted).
    bool open();
    // A hub event: written or queued when it passes the filter (JSON events only). The followed job's final
    // event ends the stream once it is written. Replayed events (kept by the hub anyway, queued as shared
    // references) do not count against the hard limit, so a resume with a long backlog can always proceed;
    // live events do.
    void offer(const RelayEventPtr &event, bool replayed = false);
    // The relay_gap marker (never enveloped, no id): events after `since` are missing.
    void sendGap(qint64 since, qint64 firstSeq, qint64 lastSeq, const QString &reason);
    // Ends the response after everything queued was written.
    void finish();

    bool isEnded() const { return m_ended; }
    QString peer() const { return m_peer; }
    qint64 queuedBytes() const { return m_queuedBytes; }         // events waiting in this stream's queue
    qint64 liveQueuedBytes() const { return m_liveQueuedBytes; } // of which live (counted against the budget)
    qint64 socketBacklog() const;                                // bytes written but not yet sent by the socket
    qint64 eventsSent() const { return m_eventsSent; }

signals:
    void ended(cr::SseStream *stream, cr::SseStream::EndReason reason);

private:
    struct Pending {
        RelayEventPtr event; // an event frame, built when written
        QByteArray frame;    // or a ready frame (relay_gap)
        qint64 size = 0;
        bool live = false; // counted against the hard limit
    };
    void enqueue(Pending pending);
    void pump();
    void heartbeat();
    QByteArray frameOf(const Pending &pending) const;
    void end(EndReason reason);

    ApiReply m_reply;
    QPointer<QTcpSocket> m_socket;
    QString m_peer;
    Options m_options;
    SseLimits m_limits;
    QTimer m_heartbeat;
    std::deque<Pending> m_queue;
    qint64 m_queuedBytes = 0;
    qint64 m_liveQueuedBytes = 0;
    qint64 m_eventsSent = 0;
    bool m_finishing = false;
    bool m_ended = false;
};

} // namespace cr
