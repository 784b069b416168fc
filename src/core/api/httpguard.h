#pragma once
// Protection below QHttpServer, which has no limits of its own (qt64-notes §4): every accepted socket
// watches the byte stream before QHttpServer reads it. A declared body above the limit gets 413, a header
// block above 64 KiB 431, a chunked request body 411 (all written here, connection closed, body never
// buffered); `Expect: 100-continue` is answered at once; a connection idle between requests is closed, and
// a request whose head or body does not arrive in time gets 408 (a slow or stalled client cannot hold a socket).

#include <QByteArray>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace cr {

// The guard's bounds. A timeout of 0 turns that check off.
struct HttpLimits {
    qint64 maxBodyBytes = 64ll * 1024 * 1024;
    qint64 maxHeaderBytes = 64 * 1024;
    int idleTimeoutMs = 60'000;     // no byte either way: between requests (closed), inside a request head (408)
    int headTimeoutMs = 30'000;     // from the first byte of a request until its head is complete (408)
    int bodyIdleTimeoutMs = 30'000; // no body byte while a declared body is still owed (408)
};

// One client connection; its readyRead slot is connected before QHttpServer's and sees each byte once.
class GuardedSocket final : public QTcpSocket
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GuardedSocket)

public:
    GuardedSocket(const HttpLimits &limits, QObject *parent = nullptr);
    // Aborts a connection still open, so that `disconnected` reaches its receivers while this is still a
    // QTcpSocket (~QAbstractSocket would emit it from a half-destroyed object).
    ~GuardedSocket() override;

protected:
    qint64 writeData(const char *data, qint64 len) override;

private:
    void inspect();
    bool parseHead(qsizetype headEnd);
    void reject(int status, const char *code, const QString &message, const QJsonObject &details = {});
    void timedOut(const QString &message, int timeoutMs);
    void touch();
    static void arm(QTimer &timer, int ms);

    HttpLimits m_limits;
    QByteArray m_head;          // bytes of the current request head seen so far
    qint64 m_bodyRemaining = 0; // of the current request
    bool m_inHead = true;
    bool m_awaitingResponse = false; // a complete request has had no byte of its answer yet
    bool m_rejected = false;
    QTimer m_idle;         // idleTimeoutMs, restarted by every byte either way
    QTimer m_headDeadline; // headTimeoutMs, from a request's first byte to the end of its head
    QTimer m_bodyIdle;     // bodyIdleTimeoutMs, restarted by every body byte
};

// The listening socket handed to QAbstractHttpServer::bind(); creates GuardedSockets.
class GuardedTcpServer final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GuardedTcpServer)

public:
    explicit GuardedTcpServer(const HttpLimits &limits, QObject *parent = nullptr);
    void setLimits(const HttpLimits &limits) { m_limits = limits; }

protected:
    void incomingConnection(qintptr handle) override;

private:
    HttpLimits m_limits;
};

} // namespace cr
