#pragma once
// The WebSocket side of the relay (docs/relay-protocol.md): a QTcpServer on the relay port hands each
// connection to a QWebSocketServer for the handshake (keeping the TCP socket, which RelaySession writes
// prebuilt frames to), then authenticates clients, parses their subscription (query parameters, hello/subscribe
// messages), replays missed events on since=, forwards everything the EventHub publishes to each RelaySession, and
// pings clients so dead ones are closed.

#include "core/common/memorytrimmer.h"
#include "core/config/config.h"
#include "core/relay/relaysession.h"

#include <QHash>
#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>

class QTcpServer;
class QUrlQuery;
class QTcpSocket;
class QWebSocket;
class QWebSocketServer;

namespace cr {

class AcceptBackoff;
class EventHub;
class PreviewFanout;

// Tuning that is not in the config file; the defaults suit production, tests shorten the timers.
struct RelayServerOptions {
    int pingIntervalMs = 15'000; // every client is pinged this often
    int pongTimeoutMs = 30'000;  // silent (no pong, no message) longer than interval + this: close 4009
    int closeGraceMs = 5'000;    // a closed client still connected after this is aborted
    int handshakeTimeoutMs = 10'000;
    qint64 maxIncomingMessageBytes = 64 * 1024; // larger client messages: close 1009 (by Qt)
    int maxErrorsPerMinute = 20;                // more invalid client messages in a minute: close 4010
    qint64 previewBytesPerTurn = 1024 * 1024;   // preview bytes written per turn of the event loop (PreviewFanout)
};

// What every client, gone or connected, was sent since the start (the sums of RelaySessionStats), and how
// many clients the relay refused or closed, by close code. Read at scrape time by the metrics.
struct RelayTotals {
    quint64 messagesSent = 0;
    quint64 previewsSent = 0;
    quint64 binarySent = 0;
    quint64 bytesSent = 0;
    quint64 previewsDropped = 0;
    quint64 previewsRateLimited = 0;
    QHash<quint16, quint64> rejected; // close code -> count (4001-4003)
    QHash<quint16, quint64> closed;   // close code -> count (4008, 4009, 4010)
    quint64 closedOverBudget = 0;     // of the 4008 closes: by [server] total_backlog_mb

    void add(const RelaySessionStats &s); // adds a client's sent/dropped counters
};

// The relay's WebSocket listener: auth, subscriptions, replay, delivery to every client, pings.
class RelayServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelayServer)

public:
    // hub: not owned, must outlive the server. authToken: empty = no authentication.
    RelayServer(EventHub *hub, const RelaySettings &settings, const QString &authToken, RelayServerOptions options = {},
                QObject *parent = nullptr);
    ~RelayServer() override;

    // Binds settings.host:settings.port (0 = any free port). False with a one-sentence reason on failure.
    bool listen(QString *error = nullptr);
    // Stops listening and closes every client with 1001.
    void close();
    bool isListening() const;
    QHostAddress address() const; // the bound address (QHostAddress::Any for "::", "*" and "")
    quint16 port() const;         // the bound port

    // A reload (SIGHUP): new connections need the new token; when the token changed to another non-empty
    // one, the clients that connected with the old one are closed with 4001 (they reconnect with the new).
    void setToken(const QString &authToken);
    // A reload: max_clients and total_backlog_mb apply at once, the per-client limits to clients that
    // connect afterwards; host and port stay as bound.
    void setLimits(const RelaySettings &settings);

    int clientCount() const { return int(m_clients.size()); }
    int pendingHandshakes() const; // TCP connections accepted and not yet upgraded (nor closed)
    QList<RelaySessionStats> clientStats() const;
    RelayTotals totals() const;
    // For /api/v1/system: {"listening", "port", "clients", "handshaking", "max_clients", "rejected": {...},
    // "closed": {"too_slow", "over_budget", "ping_timeout", "too_many_errors"}, "backlog_bytes",
    // "backlog_budget_bytes", "per_client": [...]}.
    QJsonObject statsJson() const;

signals:
    void clientConnected(quint64 id);
    void clientDisconnected(quint64 id);
    void clientClosed(quint64 id, quint16 code); // the relay closed an accepted client (4008, 4009, ...)
    void clientRejected(quint16 code);           // a connection refused after the handshake (4001-4003)

private:
    void onTcpConnection();
    void onNewConnection();
    void onUnmaskedFrame(QTcpSocket *transport); // RFC 6455 §5.1: close 1002
    void refuseOverLimit(QTcpSocket *socket);
    QTcpSocket *takeTransport(const QWebSocket *socket);
    void accept(QWebSocket *socket, QTcpSocket *transport);
    void reject(QWebSocket *socket, protocol::RelayCloseCode code, const QString &reason = {});
    bool authorized(const QWebSocket *socket, const QUrlQuery &query) const; // the rule of common/auth.h
    void onText(RelaySession *client, const QString &message);
    void onBinary(RelaySession *client);
    void refuse(RelaySession *client, const protocol::RelayMessageError &error);
    void replay(RelaySession *client, qint64 since, qint64 until, const char *welcomeType, bool sendWelcome);
    void onPublished(const RelayEventPtr &event);
    void enforceBacklogBudget(); // [server] total_backlog_mb: closes the clients furthest behind first
    void onPingTick();
    void onClientClosed(quint64 id, quint16 code);
    void onClientFinished(quint64 id);

    EventHub *m_hub;
    RelaySettings m_settings;
    QByteArray m_token;
    RelayServerOptions m_options;
    QTcpServer *m_listener;
    QWebSocketServer *m_server;                // handshakes only; never listens itself
    AcceptBackoff *m_backoff;                  // pauses m_listener while file descriptors are short
    QList<QPointer<QTcpSocket>> m_handshaking; // accepted, not yet upgraded
    QTimer m_pingTimer;
    quint64 m_nextId = 1;
    QList<RelaySession *> m_clients; // delivery order
    QHash<quint64, RelaySession *> m_byId;
    QHash<quint16, quint64> m_rejected; // close code -> count
    QHash<quint16, quint64> m_closed;   // close code -> count
    quint64 m_closedOverBudget = 0;     // of those with 4008: closed by the total budget
    RelayTotals m_finished;             // the sent counters of clients that are gone
    MemoryTrimmer m_trimmer;            // gives a slow client's backlog back to the kernel once it is gone
    PreviewFanout *m_previews;          // previews go out a slice of clients per turn of the event loop
};

} // namespace cr
