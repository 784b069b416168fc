#pragma once
// Clients for the relay tests: WsProbe (a real QWebSocket that records every message in order) and
// RawWsClient (a QTcpSocket that does the WebSocket handshake by hand and then stops reading, to play a
// stalled consumer; it can resume and parses the server's frames itself). All waits are on signals.

#include <QByteArray>
#include <QDeadlineTimer>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QUrl>
#include <QWebSocket>

#include <algorithm>
#include <functional>
#include <optional>

namespace cr::testing {

// Waits (processing events, no sleeping) until `done` holds or `timeoutMs` passes; woken by `signal` of `obj`.
template <typename Obj, typename Signal>
bool waitUntil(Obj *obj, Signal signal, const std::function<bool()> &done, int timeoutMs = 10'000);

struct WsMessage {
    bool binary = false;
    QByteArray data;
};

class WsProbe final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WsProbe)

public:
    explicit WsProbe(QObject *parent = nullptr);
    ~WsProbe() override;

    void open(const QUrl &url, const QByteArray &authorization = {});
    bool waitConnected(int timeoutMs = 10'000);
    bool waitDisconnected(int timeoutMs = 10'000);
    bool waitForMessages(qsizetype count, int timeoutMs = 10'000);
    // Sends {"type":"ping","data":{"id":N}} and waits for its relay_pong: everything the relay queued for
    // this client before it read the ping has then arrived. The pong is removed from messages.
    bool roundTrip(int timeoutMs = 10'000);
    // Sends a text message and waits for the next relay_* control message of `type`; returns its data.
    std::optional<QJsonObject> request(const QByteArray &text, const QString &replyType, int timeoutMs = 10'000);

    QWebSocket &socket() { return m_socket; }
    const QList<WsMessage> &messages() const { return m_messages; }
    QList<QByteArray> texts() const;
    QList<QByteArray> binaries() const;
    void clear() { m_messages.clear(); }
    bool isConnected() const { return m_connected; }
    quint16 closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }

signals:
    void changed();

private:
    QWebSocket m_socket;
    QList<WsMessage> m_messages;
    bool m_connected = false;
    bool m_disconnected = false;
    quint16 m_closeCode = 0;
    QString m_closeReason;
    int m_nextPing = 1;
};

class RawWsClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RawWsClient)

public:
    explicit RawWsClient(QObject *parent = nullptr);
    ~RawWsClient() override;

    // Connects, sends the upgrade request for `pathAndQuery` and reads the 101 response; from then on the
    // client reads nothing (a 4 KiB read buffer), so the kernel buffers and then the server's backlog fill.
    // (Shrinking SO_RCVBUF on the connected socket instead made loopback crawl after resume().)
    bool connectStalled(quint16 port, const QByteArray &pathAndQuery, int timeoutMs = 10'000);
    // Starts reading and parsing frames (pings are ignored: never answered).
    void resume();
    bool waitForMessages(qsizetype count, int timeoutMs = 10'000);
    bool waitClosed(int timeoutMs = 10'000); // a close frame arrived or the connection ended
    // Sends a (masked) close frame with `code`; works while the client is not reading.
    void sendClose(quint16 code);
    int framesAfterClose() const { return m_framesAfterClose; } // a server must send nothing after its close
    // Sends one frame (FIN set) in a single write: masked as a client must, or not (to test the server).
    void sendFrame(quint8 opcode, const QByteArray &payload, bool masked = true);
    // The bytes of one client frame (masked with a fixed key, or not; FIN set or not).
    static QByteArray clientFrame(quint8 opcode, const QByteArray &payload, bool masked = true, bool fin = true);
    // Writes `bytes` as they are (part of a frame, several frames).
    void sendRaw(const QByteArray &bytes);

    const QList<WsMessage> &messages() const { return m_messages; }
    std::optional<quint16> closeCode() const { return m_closeCode; }
    bool isDisconnected() const { return m_disconnected; }

signals:
    void changed();

private:
    void parseFrames();

    QTcpSocket m_socket;
    QByteArray m_buffer;
    QByteArray m_fragment;
    bool m_fragmentBinary = false;
    bool m_reading = false;
    bool m_disconnected = false;
    std::optional<quint16> m_closeCode;
    int m_framesAfterClose = 0;
    QList<WsMessage> m_messages;
};

template <typename Obj, typename Signal>
bool waitUntil(Obj *obj, Signal signal, const std::function<bool()> &done, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QSignalSpy spy(obj, signal);
        spy.wait(int(std::max<qint64>(1, deadline.remainingTime())));
    }
    return true;
}

} // namespace cr::testing
