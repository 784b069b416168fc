#pragma once
// Protection below QHttpServer, which has no limits of its own (qt64-notes §4): every accepted socket
// watches the byte stream before QHttpServer reads it. A declared body above the limit gets 413, a header
// block above 64 KiB 431, a chunked request body 411 (all written here, connection closed, body never
// buffered); `Expect: 100-continue` is answered at once; a connection idle between requests is closed.

#include <QByteArray>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace cr {

struct HttpLimits {
    qint64 maxBodyBytes = 64ll * 1024 * 1024;
    qint64 maxHeaderBytes = 64 * 1024;
    int idleTimeoutMs = 60'000; // between requests, or while a request head is incomplete
};

// One client connection; its readyRead slot is connected before QHttpServer's and sees each byte once.
class GuardedSocket final : public QTcpSocket
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GuardedSocket)

public:
    GuardedSocket(const HttpLimits &limits, QObject *parent = nullptr);

protected:
    qint64 writeData(const char *data, qint64 len) override;

private:
    void inspect();
    bool parseHead(qsizetype headEnd);
    void reject(int status, const char *code, const QString &message);
    void touch();

    HttpLimits m_limits;
    QByteArray m_head;          // bytes of the current request head seen so far
    qint64 m_bodyRemaining = 0; // of the current request
    bool m_inHead = true;
    bool m_awaitingResponse = false;
    bool m_rejected = false;
    QTimer m_idle;
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
