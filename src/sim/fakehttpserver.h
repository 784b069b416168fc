#pragma once
// A small HTTP/1.1 server on QTcpServer for the fake ComfyUI. It answers like aiohttp (Date, Server,
// Content-Length, keep-alive, HEAD, Expect: 100-continue, 413 above the body limit), hands WebSocket upgrades
// of chosen paths to a QWebSocketServer on the same port, and can misbehave on purpose: delay answers, stall
// (accept and never answer), refuse connections while keeping its port.

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QUrlQuery>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

class QTcpServer;
class QTcpSocket;
class QWebSocket;
class QWebSocketServer;

namespace cr::sim {

struct FakeHttpRequest {
    QByteArray method;  // as sent (HEAD is passed on as HEAD)
    QByteArray target;  // the raw request target
    QByteArray version; // HTTP/1.1 or HTTP/1.0
    QString path;       // percent-decoded path
    QUrlQuery query;
    QList<std::pair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QHostAddress peer;

    QByteArray header(QByteArrayView name) const; // case-insensitive; empty when missing
    bool hasHeader(QByteArrayView name) const;
};

struct FakeHttpResponse {
    int status = 200;
    QByteArray contentType; // no Content-Type header when empty
    QByteArray body;
    QList<std::pair<QByteArray, QByteArray>> headers;
    bool closeConnection = false;
    // Runs (once, from the event loop) when the answer has left the server's buffer or the connection is
    // gone: for an action that would cut the connection the answer travels on (the simulator's restart).
    std::function<void()> afterWrite;

    static FakeHttpResponse json(const QByteArray &jsonText, int status = 200);
    static FakeHttpResponse empty(int status = 200);
    static FakeHttpResponse text(const QByteArray &body, int status);
};

class FakeHttpServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FakeHttpServer)

public:
    using Handler = std::function<FakeHttpResponse(const FakeHttpRequest &)>;
    // Runs before a WebSocket upgrade; a response refuses the upgrade (e.g. 403 for a bad Origin).
    using UpgradeFilter = std::function<std::optional<FakeHttpResponse>(const FakeHttpRequest &)>;

    explicit FakeHttpServer(QObject *parent = nullptr);
    ~FakeHttpServer() override;

    void setHandler(Handler handler) { m_handler = std::move(handler); }
    void setUpgradeFilter(UpgradeFilter filter) { m_upgradeFilter = std::move(filter); }
    void setWebSocketPaths(const QStringList &paths) { m_wsPaths = paths; }
    void setMaxBodySize(qint64 bytes) { m_maxBody = bytes; }

    bool listen(const QHostAddress &address, quint16 port);
    void close(); // stop listening and drop every connection
    bool isListening() const;
    quint16 port() const { return m_port; }
    QHostAddress address() const { return m_address; }

    // Fault injection.
    bool setRefuseConnections(bool refuse); // stop listening / listen again on the same port
    void setResponseDelay(int ms) { m_delayMs = qMax(0, ms); }
    int responseDelay() const { return m_delayMs; }
    void setStall(bool stall) { m_stall = stall; }
    bool isStalled() const { return m_stall; }
    // Requests whose path starts with this prefix (e.g. "/sim/", the simulator's control API) are answered
    // at once even while stalled or delayed, so that the faults can be lifted over HTTP.
    void setControlPrefix(const QString &prefix) { m_controlPrefix = prefix; }
    void abortHttpConnections();
    int stalledRequests() const { return m_stalled; }

    // Half-open emulation: stop reading a WebSocket's TCP socket for good (no pings answered, nothing
    // read); the kernel buffers fill up as on a dead link. Returns false if the socket is unknown.
    bool deafen(QWebSocket *socket);

signals:
    void newWebSocket(QWebSocket *socket); // parented to nobody: the receiver owns it
    void requestHandled(const QByteArray &method, const QString &path, int status);

private:
    struct Connection;

    void onNewConnection();
    void onReadyRead(Connection *conn);
    bool processOne(Connection *conn); // false when more bytes are needed or the connection is busy
    void respond(Connection *conn, const FakeHttpRequest &request, FakeHttpResponse response, bool keepAlive,
                 bool immediate = false);
    void runWhenWritten(QTcpSocket *socket, const std::function<void()> &action);
    void writeResponse(Connection *conn, const FakeHttpRequest &request, const FakeHttpResponse &response,
                       bool keepAlive);
    void upgrade(Connection *conn);
    void onWebSocketReady();
    void dropConnection(Connection *conn);

    QTcpServer *m_tcp = nullptr;
    QWebSocketServer *m_ws = nullptr;
    Handler m_handler;
    UpgradeFilter m_upgradeFilter;
    QStringList m_wsPaths;
    QHostAddress m_address;
    quint16 m_port = 0;
    qint64 m_maxBody = 100 * 1024 * 1024;
    int m_delayMs = 0;
    bool m_stall = false;
    QString m_controlPrefix;
    int m_stalled = 0;
    QList<Connection *> m_connections;
    QList<QPointer<QTcpSocket>> m_upgrading;
    QHash<QWebSocket *, QPointer<QTcpSocket>> m_wsTcp;
};

} // namespace cr::sim
