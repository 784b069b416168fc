#pragma once
// One WebSocket client of the relay: its subscription, preview rate limit and backpressure. JSON events and
// control messages are never dropped: while the socket's backlog (bytesToWrite) is above the soft limit they
// wait in an ordered queue of shared events, drained on bytesWritten; past the hard limit the client is
// closed (4008) and can resume with since=. Previews are dropped first: only the newest one is held back.
// Messages are written as prebuilt WebSocket frames straight to the client's TCP socket (the same bytes for
// every client, shared, not copied; a client far behind copies its small queued frames into its own blocks);
// the QWebSocket handles the handshake, what the client sends, pings and the close handshake.

#include "core/relay/relayevent.h"
#include "protocol/relaymessages.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <memory>
#include <vector>

class QHostAddress;
class QTcpSocket;
class QWebSocket;

namespace cr {

// "address:port" of a connection's peer, as the relay logs it and shows it in the stats.
QString peerString(const QHostAddress &address, quint16 port);

// Per-client byte budget (from RelaySettings) and the close grace period.
struct RelaySessionLimits {
    qint64 softLimitBytes = 1024 * 1024;      // above it previews are held back / dropped, JSON queued
    qint64 hardLimitBytes = 16 * 1024 * 1024; // socket backlog + queued JSON above it: close 4008 (the one
                                              // preview in flight is not counted)
    int closeGraceMs = 5000;                  // after sending a close frame, abort if still connected
};

// What /api/v1/system shows per client.
struct RelaySessionStats {
    quint64 id = 0;
    QString peer;             // address:port
    qint64 connectedAtMs = 0; // ms since the epoch
    protocol::RelaySubscription subscription;
    quint64 messagesSent = 0; // JSON events and control messages written
    quint64 previewsSent = 0;
    quint64 binarySent = 0;
    quint64 bytesSent = 0;           // payload bytes handed to the socket
    quint64 previewsDropped = 0;     // replaced by a newer preview while the client was behind
    quint64 previewsRateLimited = 0; // dropped by preview_fps
    qint64 bytesToWrite = 0;         // socket backlog now
    qint64 queuedMessages = 0;       // JSON messages waiting for the socket to drain
    qint64 queuedBytes = 0;          // bytes the queued frames hold (header + payload)
    qint64 peakBacklogBytes = 0;     // highest bytesToWrite + queuedBytes seen
    bool closing = false;            // a close frame was sent (by the relay, or in answer to the client's)

    QJsonObject toJson() const;
};

// One accepted connection: filtering, preview rate limit, ordered JSON queue and the held-back preview.
class RelaySession final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelaySession)

public:
    // Takes ownership of `socket` (an open, accepted connection) and of `transport`, the TCP socket under it
    // (the one handed to QWebSocketServer::handleConnection).
    RelaySession(quint64 id, QWebSocket *socket, QTcpSocket *transport, const RelaySessionLimits &limits,
                 QObject *parent = nullptr);
    ~RelaySession() override;

    quint64 id() const { return m_id; }
    QWebSocket *socket() const { return m_socket; }
    QTcpSocket *transport() const; // the TCP connection under socket()
    const protocol::RelaySubscription &subscription() const { return m_subscription; }
    void setSubscription(const protocol::RelaySubscription &subscription);
    qint64 connectSeq() const { return m_connectSeq; } // the hub's last seq when the client connected
    void setConnectSeq(qint64 seq) { m_connectSeq = seq; }

    // A live event: applies the subscription, the preview rate limit and backpressure. True when it was
    // written or queued for this client (false: filtered out, rate-limited, closing).
    bool deliver(const RelayEventPtr &event);
    // Replayed JSON events (already filtered), sent in order before anything published later.
    void enqueueEvents(const QList<RelayEventPtr> &events);
    // A relay_* control message (compact JSON), ordered with the JSON events.
    void sendControl(const QByteArray &json);

    // Sends a close frame with `code` (and the code's fixed reason unless one is given), drops anything
    // queued, and aborts the connection if it is still open after the grace period. A close that QWebSocket
    // starts itself (the client's close frame, a protocol error) stops writing the same way.
    void closeWith(protocol::RelayCloseCode code, const QString &reason = {});
    bool isClosing() const { return m_closing || m_finished; }

    // Liveness: any message or pong counts as activity.
    void noteActivity() { m_lastActivity.start(); }
    qint64 msSinceActivity() const { return m_lastActivity.elapsed(); }
    // Counts an invalid message; returns how many there were in the current one-minute window.
    int noteError();

    RelaySessionStats stats() const;
    // What the client is behind: socket backlog (less the one preview in flight) + queued JSON. The hard limit
    // and the relay's total budget are measured on this.
    qint64 backlogBytes() const;

signals:
    void closedByServer(quint64 id, quint16 code); // closeWith() was called
    void finished(quint64 id);                     // the connection ended; the owner deletes the client

private:
    // A queued frame: either shared with the event's cache (no copy), or, once the client is far behind,
    // copied into one of the session's own blocks (compact()).
    struct Pending {
        QByteArray frame;              // the complete WebSocket frame (shared); empty when in `block`
        std::shared_ptr<char[]> block; // compacted: the frame is block[offset, offset + size)
        qint64 size = 0;               // frame size (queuedBytes)
        qint64 payload = 0;            // payload size (bytesSent)
        qint32 offset = 0;
        bool binary = false; // a binary frame (binarySent) rather than a JSON event or control message
        static Pending shared(const QByteArray &frame, qint64 payload, bool binary);
    };
    Pending pendingFor(const RelayEvent &event) const;
    RelayEvent::Wire wireFor(const RelayEvent &event) const;
    qint64 backlog() const; // bytes handed to the socket and not yet written to the kernel
    bool canWrite() const;
    void queue(Pending item);
    void compact(Pending &item); // copies a small shared frame into m_block
    void stopCompacting();
    bool queueEmpty() const { return m_queueHead == m_queue.size(); }
    void releaseQueue();                  // empties the queue, freeing a large one's memory
    void dropQueue();                     // closing: drops the queue, the held-back preview and the blocks
    bool writeFrame(const Pending &item); // false when the socket is gone or closed
    void writeQueued(const Pending &item);
    void writePreview(const RelayEventPtr &event);
    void schedulePump();
    void pump();
    void stopWriting(); // closing (by either side): drop what is queued, abort after the grace period
    void onDisconnected();

    quint64 m_id;
    QWebSocket *m_socket;
    QPointer<QTcpSocket> m_transport; // a child of m_socket: gone when the QWebSocket is
    RelaySessionLimits m_limits;
    protocol::RelaySubscription m_subscription;
    qint64 m_previewIntervalNs = 0;
    qint64 m_connectSeq = 0;
    std::vector<Pending> m_queue; // entries before m_queueHead are written (moved from)
    size_t m_queueHead = 0;
    std::shared_ptr<char[]> m_block; // the block compact() is filling (its frames hold it too)
    qint32 m_blockUsed = 0;
    bool m_compacting = false; // the queue went over kCompactAboveBytes: small frames go to blocks
    RelayEventPtr m_heldPreview;
    qint64 m_previewInFlight = 0; // size of the last preview written, until the socket drains below soft
    QElapsedTimer m_lastPreview;  // invalid until the first accepted preview
    QElapsedTimer m_lastActivity;
    QElapsedTimer m_errorWindow;
    int m_errors = 0;
    bool m_closing = false;
    bool m_pumpScheduled = false;
    bool m_finished = false;
    RelaySessionStats m_stats;
};

} // namespace cr
