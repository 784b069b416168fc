#include "sim/fakehttpserver.h"

#include "protocol/httpstatus.h"

#include <QDateTime>
#include <QLocale>
#include <QLoggingCategory>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <QWebSocketServer>

Q_LOGGING_CATEGORY(lcFakeHttp, "comfyrunner.fake.http")

namespace cr::sim {

namespace {

constexpr qsizetype kMaxHeaderBytes = 64 * 1024;
const QByteArray kServerHeader = "Python/3.12 aiohttp/3.14.3";

// aiohttp's phrases are Python 3.12's http.HTTPStatus: the shared table but for 413's older wording.
QByteArray reasonPhrase(int status)
{
    if (status == 413)
        return "Request Entity Too Large";
    const QByteArray phrase = protocol::httpReasonPhrase(status);
    return phrase.isEmpty() ? QByteArrayLiteral("Unknown") : phrase;
}

QByteArray httpDate()
{
    return QLocale::c()
        .toString(QDateTime::currentDateTimeUtc(), QStringLiteral("ddd, dd MMM yyyy hh:mm:ss 'GMT'"))
        .toLatin1();
}

// Decodes a complete chunked body; nullopt while the terminating chunk has not arrived, and sets *bad on
// malformed input.
std::optional<QByteArray> decodeChunked(const QByteArray &raw, qsizetype *consumed, bool *bad)
{
    QByteArray out;
    qsizetype pos = 0;
    for (;;) {
        const qsizetype eol = raw.indexOf("\r\n", pos);
        if (eol < 0)
            return std::nullopt;
        QByteArray sizeField = raw.mid(pos, eol - pos);
        if (const qsizetype semi = sizeField.indexOf(';'); semi >= 0)
            sizeField.truncate(semi);
        bool ok = false;
        const qint64 size = sizeField.trimmed().toLongLong(&ok, 16);
        if (!ok || size < 0) {
            *bad = true;
            return std::nullopt;
        }
        pos = eol + 2;
        if (size == 0) {
            const qsizetype end = raw.indexOf("\r\n\r\n", pos - 2);
            if (end < 0)
                return std::nullopt;
            *consumed = end + 4;
            return out;
        }
        if (raw.size() < pos + size + 2)
            return std::nullopt;
        out += raw.mid(pos, size);
        pos += size + 2;
    }
}

} // namespace

QByteArray FakeHttpRequest::header(QByteArrayView name) const
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

bool FakeHttpRequest::hasHeader(QByteArrayView name) const
{
    for (const auto &header : headers) {
        if (header.first.compare(name, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

FakeHttpResponse FakeHttpResponse::empty(int status)
{
    FakeHttpResponse r;
    r.status = status;
    return r;
}

// The one shape of json() and text(): a status, a content type and a body.
static FakeHttpResponse withBody(int status, const QByteArray &contentType, const QByteArray &body)
{
    FakeHttpResponse r = FakeHttpResponse::empty(status);
    r.contentType = contentType;
    r.body = body;
    return r;
}

FakeHttpResponse FakeHttpResponse::json(const QByteArray &jsonText, int status)
{
    return withBody(status, "application/json; charset=utf-8", jsonText);
}

FakeHttpResponse FakeHttpResponse::text(const QByteArray &body, int status)
{
    return withBody(status, "text/plain; charset=utf-8", body);
}

struct FakeHttpServer::Connection {
    QPointer<QTcpSocket> socket;
    bool busy = false;                      // a request is being answered (delayed or stalled)
    std::optional<FakeHttpRequest> request; // headers read, body pending
    qint64 contentLength = 0;
    bool chunked = false;
    QByteArray raw; // chunked body bytes so far
};

FakeHttpServer::FakeHttpServer(QObject *parent)
    : QObject(parent), m_tcp(new QTcpServer(this)),
      m_ws(new QWebSocketServer(QString::fromLatin1(kServerHeader), QWebSocketServer::NonSecureMode, this))
{
    connect(m_tcp, &QTcpServer::newConnection, this, &FakeHttpServer::onNewConnection);
    connect(m_ws, &QWebSocketServer::newConnection, this, &FakeHttpServer::onWebSocketReady);
}

FakeHttpServer::~FakeHttpServer() { close(); }

bool FakeHttpServer::listen(const QHostAddress &address, quint16 port)
{
    if (!m_tcp->listen(address, port)) {
        qCWarning(lcFakeHttp) << "listen failed on" << address << port << m_tcp->errorString();
        return false;
    }
    m_address = address;
    m_port = m_tcp->serverPort();
    return true;
}

void FakeHttpServer::close()
{
    m_tcp->close();
    abortHttpConnections();
    for (const QPointer<QTcpSocket> &socket : std::as_const(m_upgrading)) {
        if (socket)
            socket->abort();
    }
    m_upgrading.clear();
}

bool FakeHttpServer::isListening() const { return m_tcp->isListening(); }

bool FakeHttpServer::setRefuseConnections(bool refuse)
{
    if (refuse) {
        m_tcp->close();
        return true;
    }
    if (m_tcp->isListening())
        return true;
    if (!m_tcp->listen(m_address, m_port)) {
        qCWarning(lcFakeHttp) << "could not listen again on port" << m_port << m_tcp->errorString();
        return false;
    }
    return true;
}

void FakeHttpServer::abortHttpConnections()
{
    const QList<Connection *> connections = m_connections;
    for (Connection *conn : connections)
        dropConnection(conn);
    m_stalled = 0;
}

bool FakeHttpServer::deafen(QWebSocket *socket)
{
    const QPointer<QTcpSocket> tcp = m_wsTcp.value(socket);
    if (!tcp)
        return false;
    QObject::disconnect(tcp, &QIODevice::readyRead, nullptr, nullptr);
    tcp->setReadBufferSize(1);
    return true;
}

void FakeHttpServer::onNewConnection()
{
    while (QTcpSocket *socket = m_tcp->nextPendingConnection()) {
        // aiohttp (ComfyUI) sets TCP_NODELAY; without it a frame can wait for the peer's delayed ACK.
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto *conn = new Connection;
        conn->socket = socket;
        m_connections.append(conn);
        connect(socket, &QTcpSocket::readyRead, this, [this, conn] { onReadyRead(conn); });
        connect(socket, &QTcpSocket::disconnected, this, [this, conn] { dropConnection(conn); });
        if (socket->bytesAvailable() > 0)
            onReadyRead(conn);
    }
}

void FakeHttpServer::dropConnection(Connection *conn)
{
    if (!m_connections.removeOne(conn))
        return;
    if (conn->socket) {
        conn->socket->disconnect(this);
        conn->socket->abort();
        conn->socket->deleteLater();
    }
    delete conn;
}

void FakeHttpServer::onReadyRead(Connection *conn)
{
    while (m_connections.contains(conn) && processOne(conn)) { }
}

bool FakeHttpServer::processOne(Connection *conn)
{
    QTcpSocket *socket = conn->socket;
    if (!socket || conn->busy)
        return false;

    if (!conn->request) {
        const QByteArray head = socket->peek(qMin<qint64>(socket->bytesAvailable(), kMaxHeaderBytes + 4));
        const qsizetype end = head.indexOf("\r\n\r\n");
        if (end < 0) {
            if (head.size() >= kMaxHeaderBytes) {
                FakeHttpRequest bad;
                respond(conn, bad, FakeHttpResponse::text("431 Request Header Fields Too Large", 431), false);
            }
            return false;
        }
        const QList<QByteArray> lines = head.left(end).split('\n');
        const QList<QByteArray> requestLine = lines.first().trimmed().split(' ');
        FakeHttpRequest request;
        request.peer = socket->peerAddress();
        bool malformed = requestLine.size() != 3 || !requestLine.at(2).startsWith("HTTP/1.");
        if (!malformed) {
            request.method = requestLine.at(0);
            request.target = requestLine.at(1);
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const QByteArray line = lines.at(i).trimmed();
                const qsizetype colon = line.indexOf(':');
                if (colon <= 0) {
                    malformed = true;
                    break;
                }
                request.headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
            }
            const QUrl url(QString::fromLatin1(request.target));
            request.path = url.path(QUrl::FullyDecoded);
            QString query = url.query(QUrl::FullyEncoded);
            query.replace(u'+', QStringLiteral("%20")); // form encoding, as aiohttp/yarl read it
            request.query = QUrlQuery(query);
            malformed = malformed || !request.path.startsWith(u'/');
        }
        if (malformed) {
            socket->read(end + 4);
            respond(conn, request, FakeHttpResponse::text("400 Bad Request", 400), false);
            return false;
        }
        request.version = requestLine.at(2);

        const bool wantsUpgrade = request.header("upgrade").toLower().contains("websocket");
        if (wantsUpgrade && request.method == "GET" && m_wsPaths.contains(request.path)) {
            if (m_upgradeFilter) {
                if (std::optional<FakeHttpResponse> refusal = m_upgradeFilter(request)) {
                    socket->read(end + 4);
                    respond(conn, request, *refusal, false);
                    return false;
                }
            }
            upgrade(conn);
            return false;
        }

        socket->read(end + 4);
        const QByteArray transferEncoding = request.header("transfer-encoding").toLower();
        conn->chunked = transferEncoding.contains("chunked");
        conn->contentLength = 0;
        conn->raw.clear();
        if (!conn->chunked && request.hasHeader("content-length")) {
            bool ok = false;
            conn->contentLength = request.header("content-length").toLongLong(&ok);
            if (!ok || conn->contentLength < 0) {
                respond(conn, request, FakeHttpResponse::text("400 Bad Request", 400), false);
                return false;
            }
        }
        if (conn->contentLength > m_maxBody) {
            respond(conn, request, FakeHttpResponse::text("413 Request Entity Too Large", 413), false);
            return false;
        }
        if (request.header("expect").toLower() == "100-continue"
            && (conn->chunked || socket->bytesAvailable() < conn->contentLength)) {
            socket->write("HTTP/1.1 100 Continue\r\n\r\n");
        }
        conn->request = std::move(request);
    }

    // Body.
    if (conn->chunked) {
        conn->raw += socket->readAll();
        bool bad = false;
        qsizetype consumed = 0;
        const std::optional<QByteArray> body = decodeChunked(conn->raw, &consumed, &bad);
        if (bad) {
            respond(conn, *conn->request, FakeHttpResponse::text("400 Bad Request", 400), false);
            return false;
        }
        if (!body) {
            if (conn->raw.size() > m_maxBody)
                respond(conn, *conn->request, FakeHttpResponse::text("413 Request Entity Too Large", 413), false);
            return false;
        }
        conn->request->body = *body;
        conn->raw.clear(); // a pipelined request after a chunked body is not supported (rare)
    } else {
        const qint64 missing = conn->contentLength - conn->request->body.size();
        if (missing > 0)
            conn->request->body += socket->read(missing);
        if (conn->request->body.size() < conn->contentLength)
            return false;
    }

    FakeHttpRequest request = std::move(*conn->request);
    conn->request.reset();
    const QByteArray connectionHeader = request.header("connection").toLower();
    const bool keepAlive
        = request.version == "HTTP/1.0" ? connectionHeader.contains("keep-alive") : !connectionHeader.contains("close");

    const bool control = !m_controlPrefix.isEmpty() && request.path.startsWith(m_controlPrefix);
    if (m_stall && !control) {
        conn->busy = true; // accepted, read, never answered
        ++m_stalled;
        qCDebug(lcFakeHttp) << "stalling" << request.method << request.path;
        return false;
    }
    FakeHttpResponse response = m_handler ? m_handler(request) : FakeHttpResponse::text("404: Not Found", 404);
    respond(conn, request, std::move(response), keepAlive, control);
    return !conn->busy && conn->socket && conn->socket->bytesAvailable() > 0;
}

void FakeHttpServer::respond(Connection *conn, const FakeHttpRequest &request, FakeHttpResponse response,
                             bool keepAlive, bool immediate)
{
    if (m_delayMs <= 0 || immediate) {
        writeResponse(conn, request, response, keepAlive);
        return;
    }
    conn->busy = true;
    QTimer::singleShot(m_delayMs, this, [this, conn, request, response, keepAlive] {
        if (!m_connections.contains(conn))
            return;
        conn->busy = false;
        writeResponse(conn, request, response, keepAlive);
        if (m_connections.contains(conn) && conn->socket && conn->socket->bytesAvailable() > 0)
            onReadyRead(conn);
    });
}

void FakeHttpServer::writeResponse(Connection *conn, const FakeHttpRequest &request, const FakeHttpResponse &response,
                                   bool keepAlive)
{
    QTcpSocket *socket = conn->socket;
    if (!socket || socket->state() != QAbstractSocket::ConnectedState)
        return;
    const bool close = !keepAlive || response.closeConnection;
    QByteArray out = "HTTP/1.1 " + QByteArray::number(response.status) + ' ' + reasonPhrase(response.status) + "\r\n";
    for (const auto &[name, value] : response.headers)
        out += name + ": " + value + "\r\n";
    if (!response.contentType.isEmpty())
        out += "Content-Type: " + response.contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    out += "Date: " + httpDate() + "\r\n";
    out += "Server: " + kServerHeader + "\r\n";
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    if (request.method != "HEAD")
        out += response.body;
    socket->write(out);
    emit requestHandled(request.method, request.path, response.status);
    if (response.afterWrite)
        runWhenWritten(socket, response.afterWrite);
    if (close)
        socket->disconnectFromHost();
}

void FakeHttpServer::runWhenWritten(QTcpSocket *socket, const std::function<void()> &action)
{
    auto done = std::make_shared<bool>(false);
    auto run = [this, done, action] {
        if (std::exchange(*done, true))
            return;
        QTimer::singleShot(0, this, action);
    };
    // No flush() here: with nothing left to write, the caller's disconnectFromHost() would close (and free the
    // connection) synchronously.
    if (socket->bytesToWrite() == 0) {
        run();
        return;
    }
    const QPointer<QTcpSocket> guard(socket);
    connect(socket, &QTcpSocket::bytesWritten, this, [guard, run] {
        if (!guard || guard->bytesToWrite() == 0)
            run();
    });
    connect(socket, &QTcpSocket::disconnected, this, run);
    connect(socket, &QObject::destroyed, this, run);
}

void FakeHttpServer::upgrade(Connection *conn)
{
    QPointer<QTcpSocket> socket = conn->socket;
    m_connections.removeOne(conn);
    delete conn;
    if (!socket)
        return;
    socket->disconnect(this);
    socket->setParent(nullptr); // the QWebSocket takes it over
    m_upgrading.append(socket);
    m_ws->handleConnection(socket);
}

void FakeHttpServer::onWebSocketReady()
{
    while (m_ws->hasPendingConnections()) {
        QWebSocket *ws = m_ws->nextPendingConnection();
        if (!ws)
            break;
        QPointer<QTcpSocket> tcp;
        for (qsizetype i = 0; i < m_upgrading.size(); ++i) {
            const QPointer<QTcpSocket> &candidate = m_upgrading.at(i);
            if (candidate && candidate->peerPort() == ws->peerPort() && candidate->peerAddress() == ws->peerAddress()) {
                tcp = candidate;
                m_upgrading.removeAt(i);
                break;
            }
        }
        m_upgrading.removeAll(QPointer<QTcpSocket>());
        m_wsTcp.insert(ws, tcp);
        connect(ws, &QObject::destroyed, this, [this, ws] { m_wsTcp.remove(ws); });
        ws->setParent(nullptr);
        emit newWebSocket(ws);
    }
}

} // namespace cr::sim
