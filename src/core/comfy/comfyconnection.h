#pragma once
// The one long-lived WebSocket to ComfyUI (ws://host:port/ws?clientId=ID): state machine, feature-flag
// negotiation (type-4 previews that name their prompt), pings that detect a half-open connection, and
// reconnection with capped exponential backoff. Frames are parsed once here and emitted as typed values.

#include "protocol/binaryframe.h"
#include "protocol/comfyevents.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QUrl>

class QWebSocket;

namespace cr {

enum class ConnectionState { Disconnected, Connecting, Connected };
QString connectionStateName(ConnectionState state);

struct ConnectionSettings {
    QUrl httpUrl; // ComfyUI base URL; the WebSocket URL is derived from it
    QString clientId;
    int pingIntervalMs = 5000;
    int pingTimeoutMs = 10000;
    int reconnectMinMs = 100;
    int reconnectMaxMs = 10000;
};

class ComfyConnection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComfyConnection)

public:
    explicit ComfyConnection(ConnectionSettings settings, QObject *parent = nullptr);
    ~ComfyConnection() override;

    void start(); // connects, and keeps reconnecting until stop()
    void stop();

    ConnectionState state() const { return m_state; }
    // The client id in use. It changes after an unclean drop: ComfyUI's same-id cleanup bug would otherwise
    // silence the new socket (protocol doc §3.1).
    QString clientId() const { return m_clientId; }
    bool previewMetadataNegotiated() const { return m_metadataNegotiated; }
    qint64 malformedFrames() const { return m_malformedFrames; }
    qint64 lastPingRoundTripMs() const { return m_lastRttMs; }
    // Names the current stretch of unbroken delivery: it changes on every connect and drop and whenever a
    // frame had to be dropped (malformed), and is 0 while not connected. Two equal non-zero values mean
    // every frame ComfyUI sent in between was received and emitted.
    quint64 continuityEpoch() const { return m_state == ConnectionState::Connected ? m_epoch : 0; }

signals:
    void stateChanged(cr::ConnectionState state);
    // After every (re)connect, once the socket is usable. `cleanResume` is false when the previous socket
    // died uncleanly (its events may be lost and the client id changed).
    void connected(bool cleanResume);
    void eventReceived(const cr::protocol::ComfyEvent &event);
    void previewReceived(const cr::protocol::PreviewFrame &frame, const QByteArray &rawFrame);
    // Binary frames that are not previews (type 3, unknown types): passed on untouched.
    void otherBinaryReceived(const QByteArray &rawFrame);

private:
    void open();
    void onConnected();
    void onDisconnected();
    void onText(const QString &text);
    void onBinary(const QByteArray &frame);
    void onPingTick();
    void setState(ConnectionState state);
    void scheduleReconnect();
    void dropUnclean(const QString &why);

    ConnectionSettings m_settings;
    QString m_baseClientId;
    QString m_clientId;
    int m_generation = 0;
    quint64 m_epoch = 1;
    QWebSocket *m_socket = nullptr;
    ConnectionState m_state = ConnectionState::Disconnected;
    bool m_running = false;
    bool m_lastDropUnclean = false;
    bool m_metadataNegotiated = false;
    int m_backoffMs = 0;
    QTimer m_reconnectTimer;
    QTimer m_pingTimer;
    QElapsedTimer m_sinceLastFrame; // any frame or pong
    QElapsedTimer m_connectedFor;
    bool m_transportError = false;
    qint64 m_lastRttMs = -1;
    qint64 m_malformedFrames = 0;
    QElapsedTimer m_lastMalformedWarning;
};

} // namespace cr
