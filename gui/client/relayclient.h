#pragma once
// The monitor's connection to the relay (docs/relay-protocol.md). It owns its lifecycle: a State with
// stateChanged, reconnection with exponential backoff, resume with since=<last seq> so no event is missed
// across a drop, a liveness check (relay ping; silence = dead link), and lag (now - the envelope's ts).
// Preview frames are never queued: only the newest one not yet taken is kept (takePreview()).

#include "gui/client/backoff.h"
#include "protocol/comfyevents.h"
#include "protocol/relaymessages.h"
#include "protocol/serviceevents.h"

#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <optional>

class QWebSocket;

namespace cr::monitor {

struct RelayClientOptions {
    int initialBackoffMs = 250;
    int maxBackoffMs = 8000;
    double backoffJitter = 0.2;    // 0 = exact delays (tests)
    int pingIntervalMs = 5000;     // a relay ping every interval; its answer gives the round trip
    int silenceTimeoutMs = 15000;  // nothing received this long while connected: abort and reconnect
    int connectTimeoutMs = 10000;  // a handshake that takes longer is aborted (then retried)
    int lagSignalIntervalMs = 250; // lagChanged at most this often
};

// One JSON event from the relay (enveloped: seq, ts, job_id), parsed once.
struct MonitorEvent {
    qint64 seq = 0;             // 0 when the relay sent it without an envelope
    qint64 timestampMs = 0;     // relay time, ms since the epoch (0 without envelope)
    QString jobId;              // empty when not attributed to a job
    protocol::ComfyEvent event; // typeName, data, typed payload (Unknown for the service's job_* events)
    std::optional<protocol::ServiceEvent> service; // the service's job_* / image_generated events, typed

    // The event with `service` read from it (once, here).
    static MonitorEvent from(protocol::ComfyEvent event, const QString &jobId = {}, qint64 seq = 0,
                             qint64 timestampMs = 0);
};

// The newest preview frame (encoded image + metadata); decoding is the viewer's business.
struct MonitorPreview {
    protocol::PreviewFrame frame;
    QString jobId;
    QString backend;       // the pool backend that made it (type-4 metadata "backend"); "" when not said
    quint64 number = 0;    // 1-based count of frames received on this client
    qint64 receivedMs = 0; // ms since the epoch
};

class RelayClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelayClient)

public:
    enum class State {
        Disconnected, // not wanted (close()), or refused for good (bad token, bad request)
        Connecting,   // handshake in progress
        Connected,    // open; events flow
        Reconnecting, // waiting for the backoff timer before the next attempt
    };
    Q_ENUM(State)
    static QString stateName(State state); // "disconnected" | "connecting" | "connected" | "reconnecting"

    explicit RelayClient(RelayClientOptions options = {}, QObject *parent = nullptr);
    ~RelayClient() override;

    // ws://host:port/ of the relay. The client adds its own query (previews=type4, envelope=1, since=).
    void setUrl(const QUrl &url);
    QUrl url() const { return m_url; }
    void setToken(const QString &token); // sent as "Authorization: Bearer <token>"
    // Starts connecting and keeps the connection up until close(). Calling it again reconnects now.
    void open();
    void close();
    // Drops the current connection as if the network failed (the client reconnects and resumes).
    void dropConnection();

    State state() const { return m_state; }
    QString lastError() const { return m_lastError; }
    qint64 lastSeq() const { return m_lastSeq; }         // seq of the newest event: the resume point
    qint64 lagMs() const { return m_lagMs; }             // now - ts of the newest envelope; -1 before one
    qint64 roundTripMs() const { return m_roundTripMs; } // of the last relay ping; -1 before one
    int connections() const { return m_connections; }    // successful handshakes so far
    int retryInMs() const;                               // time to the next attempt (Reconnecting), else 0
    quint64 eventsReceived() const { return m_eventsReceived; }
    quint64 gapsSeen() const { return m_gaps; }

    // Previews: received counts every frame; replaced counts frames overwritten before anyone took them.
    bool hasPreview() const { return m_preview.has_value(); }
    std::optional<MonitorPreview> takePreview();
    quint64 previewsReceived() const { return m_previewsReceived; }
    quint64 previewsReplaced() const { return m_previewsReplaced; }

signals:
    void stateChanged(cr::monitor::RelayClient::State state);
    void eventReceived(const cr::monitor::MonitorEvent &event);
    // A frame arrived for jobId (every frame; no payload: use takePreview()).
    void previewReceived(const QString &jobId);
    // A frame is waiting in the slot; emitted once until takePreview() empties it.
    void previewAvailable();
    // The relay answered hello: its newest seq and how many events it replayed after since=.
    void welcomed(qint64 lastSeq, qint64 replayed);
    // Events after `since` are lost ("evicted" or "unknown_seq", e.g. the runner restarted): state that
    // was built from events must be refreshed (REST).
    void gap(qint64 since, qint64 firstSeq, const QString &reason);
    void lagChanged(qint64 lagMs);
    void roundTripChanged(qint64 ms);
    void errorOccurred(const QString &message);
    // The relay closed the connection with a code (protocol::RelayCloseCode values, 1000/1001...).
    void closedByRelay(int code, const QString &reason);

private:
    void setState(State state);
    void connectNow();
    void scheduleRetry();
    void onConnected();
    void onDisconnected();
    void onText(const QString &text);
    void onBinary(const QByteArray &frame);
    void onControl(const protocol::RelayControlMessage &message);
    void sendPing();
    void noteLag(qint64 timestampMs);
    void fail(const QString &message);
    QUrl connectUrl() const;

    RelayClientOptions m_options;
    Backoff m_backoff;
    QUrl m_url;
    QString m_token;
    QPointer<QWebSocket> m_socket;
    State m_state = State::Disconnected;
    bool m_wanted = false;
    bool m_giveUp = false; // the relay refused us for good (4001, 4002)
    QString m_lastError;

    QTimer m_retryTimer;
    QTimer m_pingTimer;
    QTimer m_connectTimer;
    QElapsedTimer m_sinceActivity;
    QElapsedTimer m_lagSignalClock;

    qint64 m_lastSeq = 0;
    qint64 m_lagMs = -1;
    qint64 m_roundTripMs = -1;
    qint64 m_pingCounter = 0;
    QHash<qint64, qint64> m_pingsSent; // id -> monotonic ms, bounded
    QElapsedTimer m_clock;
    int m_connections = 0;
    quint64 m_eventsReceived = 0;
    quint64 m_gaps = 0;

    std::optional<MonitorPreview> m_preview;
    quint64 m_previewsReceived = 0;
    quint64 m_previewsReplaced = 0;
};

} // namespace cr::monitor

Q_DECLARE_METATYPE(cr::monitor::MonitorEvent)
