#pragma once
// Protection below QHttpServer, which has no limits of its own (qt64-notes §4): every accepted socket
// reads the byte stream before QHttpServer does, and QHttpServer sees one request at a time, released by the
// guard only once its head passed a strict RFC 9112 check (400, 505; requesthead.h) and the answer to the
// previous request is complete. So pipelined requests are answered in order, `Connection: close` and
// HTTP/1.0 end the connection after their answer, a declared body above the limit gets 413, a header block
// above 64 KiB 431, a chunked request body 411 (all written here, connection closed, body never buffered);
// `Expect: 100-continue` is answered at once; a connection idle between requests is closed, and a request
// whose head or body does not arrive in time gets 408 (a slow or stalled client cannot hold a socket).

#include <QByteArray>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace cr {

class AcceptBackoff;

// The guard's bounds. A timeout of 0 turns that check off.
struct HttpLimits {
    qint64 maxBodyBytes = 64ll * 1024 * 1024;
    qint64 maxHeaderBytes = 64 * 1024;
    int idleTimeoutMs = 60'000;     // no byte either way: between requests (closed), inside a request head (408)
    int headTimeoutMs = 30'000;     // from the first byte of a request until its head is complete (408)
    int bodyIdleTimeoutMs = 30'000; // no body byte while a declared body is still owed (408)
    int maxConnections = 128;       // open connections; more get 503 too_many_connections and are closed
};

// One client connection; its readyRead slot is connected before QHttpServer's: it takes every new byte out
// of the socket's buffer, and QHttpServer reads (through readData) only the bytes of the released request.
// ApiReply tells it when an answer starts (to add `Connection: close`) and when it is complete.
class GuardedSocket final : public QTcpSocket
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GuardedSocket)

public:
    GuardedSocket(const HttpLimits &limits, QObject *parent = nullptr);
    // Aborts a connection still open, so that `disconnected` reaches its receivers while this is still a
    // QTcpSocket (~QAbstractSocket would emit it from a half-destroyed object).
    ~GuardedSocket() override;

    // The answer to the released request begins; true when it must carry `Connection: close` (the request
    // asked for it, was HTTP/1.0, or the client pipelined more than the guard holds).
    bool answerStarting() const { return m_closeAfterAnswer; }
    // The answer is complete: the connection closes (see answerStarting) or the next request is released.
    void answerFinished();
    qint64 bytesAvailable() const override;

protected:
    qint64 readData(char *data, qint64 maxSize) override;
    qint64 writeData(const char *data, qint64 len) override;

private:
    // Head: reading the next request head (nothing released); Body: QHttpServer reads the released request
    // (head and body, m_owed bytes); Answer: it has all of it and the answer is owed.
    enum class Phase { Head, Body, Answer };

    void inspect();
    void advance();
    void resume();
    void watchBody();
    qint64 heldBytes() const;
    // Answers with the error (its HTTP status from httpStatusFor) and closes the connection.
    void reject(const char *code, const QString &message, const QJsonObject &details = {});
    void timedOut(const QString &message, int timeoutMs);
    void closeAfterWrite();
    void shutWriteSideIfWritten();
    void touch();
    static void arm(QTimer &timer, int ms);

    HttpLimits m_limits;
    Phase m_phase = Phase::Head;
    QByteArray m_pending; // received bytes QHttpServer has not read: the released request, then held ones
    qint64 m_owed = 0;    // bytes of the released request QHttpServer has still to read
    bool m_closeAfterAnswer = false;
    bool m_legacyRequest = false;   // the current request names a legacy route: refusals carry "STATUS"
    bool m_closing = false;         // no further request is read; the connection closes once its answer is out
    bool m_draining = false;        // inspect() is emptying the socket's buffer: readData releases nothing
    bool m_answerWritten = false;   // a byte of the current answer went out
    bool m_shutWhenWritten = false; // closeAfterWrite(): the write side is shut once the answer is out
    QTimer m_idle;                  // idleTimeoutMs after the last byte either way (m_lastTouch), set lazily
    QElapsedTimer m_lastTouch;
    QTimer m_headDeadline; // headTimeoutMs, from a request's first byte to the end of its head
    QTimer m_bodyIdle;     // bodyIdleTimeoutMs, restarted by every body byte
};

// The listening socket handed to QAbstractHttpServer::bind(); creates GuardedSockets, at most
// limits.maxConnections open at once (a connection over it is refused with 503 before QHttpServer sees it),
// and pauses accepting while file descriptors are short (AcceptBackoff).
class GuardedTcpServer final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GuardedTcpServer)

public:
    explicit GuardedTcpServer(const HttpLimits &limits, QObject *parent = nullptr);
    void setLimits(const HttpLimits &limits) { m_limits = limits; }
    int openConnections() const { return m_open; }

protected:
    void incomingConnection(qintptr handle) override;

private:
    void refuse(qintptr handle);

    HttpLimits m_limits;
    AcceptBackoff *m_backoff;
    int m_open = 0;     // GuardedSockets alive
    int m_refusing = 0; // refused sockets still saying so
};

} // namespace cr
