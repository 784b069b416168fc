#include "core/api/httpguard.h"

#include "core/api/apierrors.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcApi)

namespace cr {

namespace {
constexpr char kRequestTimeout[] = "request_timeout";
}

GuardedSocket::GuardedSocket(const HttpLimits &limits, QObject *parent)
    : QTcpSocket(parent), m_limits(limits)
{
    for (QTimer *timer : {&m_idle, &m_headDeadline, &m_bodyIdle})
        timer->setSingleShot(true);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        if (m_rejected) { // the rejection's answer did not drain: give up on it
            abort();
            return;
        }
        if (!m_inHead || m_awaitingResponse)
            return; // a body is owed (m_bodyIdle watches it), or an answer is (the server's business)
        if (m_head.isEmpty()) {
            qCDebug(lcApi) << "closing idle connection from" << peerAddress().toString();
            abort();
        } else {
            timedOut(QStringLiteral("no byte of the request head arrived for %1 ms").arg(m_limits.idleTimeoutMs),
                     m_limits.idleTimeoutMs);
        }
    });
    connect(&m_headDeadline, &QTimer::timeout, this, [this] {
        timedOut(QStringLiteral("the request head was not complete within %1 ms").arg(m_limits.headTimeoutMs),
                 m_limits.headTimeoutMs);
    });
    connect(&m_bodyIdle, &QTimer::timeout, this, [this] {
        timedOut(QStringLiteral("no byte of the request body arrived for %1 ms (%2 bytes still owed)")
                     .arg(m_limits.bodyIdleTimeoutMs)
                     .arg(m_bodyRemaining),
                 m_limits.bodyIdleTimeoutMs);
    });
    // Connected here, before QHttpServer connects its own slot: this one runs first on every readyRead.
    connect(this, &QIODevice::readyRead, this, &GuardedSocket::inspect);
    connect(this, &QIODevice::bytesWritten, this, &GuardedSocket::touch);
    touch();
}

GuardedSocket::~GuardedSocket()
{
    m_idle.stop();
    m_headDeadline.stop();
    m_bodyIdle.stop();
    if (state() != QAbstractSocket::UnconnectedState)
        abort();
}

void GuardedSocket::arm(QTimer &timer, int ms)
{
    if (ms > 0)
        timer.start(ms);
}

void GuardedSocket::touch()
{
    arm(m_idle, m_limits.idleTimeoutMs);
}

// A request that did not arrive in time: 408 when the connection owes no other answer (nothing else would be
// interleaved with it), else a plain close. Leading empty lines alone are no request: closed silently.
void GuardedSocket::timedOut(const QString &message, int timeoutMs)
{
    if (m_rejected)
        return;
    const bool started = !m_inHead || !m_head.isEmpty();
    if (started && !m_awaitingResponse && bytesToWrite() == 0) {
        reject(408, kRequestTimeout, message, {{QStringLiteral("timeout_ms"), timeoutMs}});
        return;
    }
    qCInfo(lcApi).noquote() << "closing the connection of" << peerAddress().toString() << "because" << message;
    abort();
}

qint64 GuardedSocket::writeData(const char *data, qint64 len)
{
    m_awaitingResponse = false; // an answer is going out; idle time counts again once it is written
    touch();
    return QTcpSocket::writeData(data, len);
}

void GuardedSocket::inspect()
{
    if (m_rejected) {
        read(bytesAvailable()); // discard: QHttpServer must never see a rejected request
        return;
    }
    touch();
    // QHttpServer reads everything available after this slot, so a peek here sees new bytes only.
    QByteArray fresh = peek(bytesAvailable());
    while (!fresh.isEmpty() && !m_rejected) {
        if (!m_inHead) {
            const qint64 take = qMin<qint64>(m_bodyRemaining, fresh.size());
            m_bodyRemaining -= take;
            fresh.remove(0, take);
            if (m_bodyRemaining == 0) {
                m_bodyIdle.stop();
                m_inHead = true;
                m_awaitingResponse = true;
            } else {
                arm(m_bodyIdle, m_limits.bodyIdleTimeoutMs);
            }
            continue;
        }
        if (!m_headDeadline.isActive()) // the first byte of a request (or of empty lines before one)
            arm(m_headDeadline, m_limits.headTimeoutMs);
        m_head += fresh;
        fresh.clear();
        // Leading empty lines between requests are allowed (RFC 9112 §2.2).
        while (m_head.startsWith("\r\n"))
            m_head.remove(0, 2);
        const qsizetype end = m_head.indexOf("\r\n\r\n");
        if (end < 0) {
            if (m_head.size() > m_limits.maxHeaderBytes)
                reject(431, "headers_too_large", QStringLiteral("the request head exceeds %1 bytes").arg(m_limits.maxHeaderBytes));
            break;
        }
        if (end + 4 > m_limits.maxHeaderBytes) {
            reject(431, "headers_too_large", QStringLiteral("the request head exceeds %1 bytes").arg(m_limits.maxHeaderBytes));
            break;
        }
        fresh = m_head.mid(end + 4); // body bytes (or the next request) that came with the head
        if (!parseHead(end))
            break;
        m_head.clear();
    }
    if (m_rejected)
        read(bytesAvailable());
}

// Reads Content-Length / Transfer-Encoding / Expect of the head ending at headEnd. False when rejected.
bool GuardedSocket::parseHead(qsizetype headEnd)
{
    const QList<QByteArray> lines = m_head.left(headEnd).split('\n');
    qint64 length = 0;
    bool chunked = false;
    bool expectContinue = false;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (name == "content-length") {
            bool ok = false;
            length = value.toLongLong(&ok);
            if (!ok || length < 0) {
                reject(400, ErrorCode::InvalidRequest, QStringLiteral("invalid Content-Length"));
                return false;
            }
        } else if (name == "transfer-encoding" && value.toLower().contains("chunked")) {
            chunked = true;
        } else if (name == "expect" && value.toLower() == "100-continue") {
            expectContinue = true;
        }
    }
    if (chunked) {
        reject(411, "length_required", QStringLiteral("chunked request bodies are not accepted; send Content-Length"));
        return false;
    }
    if (length > m_limits.maxBodyBytes) {
        reject(413, ErrorCode::PayloadTooLarge,
               QStringLiteral("the request body (%1 bytes) exceeds the limit of %2 bytes").arg(length).arg(m_limits.maxBodyBytes),
               {{QStringLiteral("limit"), m_limits.maxBodyBytes}});
        return false;
    }
    if (expectContinue && length > 0)
        QTcpSocket::writeData("HTTP/1.1 100 Continue\r\n\r\n", 25);
    m_headDeadline.stop();
    m_bodyRemaining = length;
    m_inHead = length == 0;
    if (m_inHead)
        m_awaitingResponse = true; // else once the body is complete
    else
        arm(m_bodyIdle, m_limits.bodyIdleTimeoutMs);
    return true;
}

void GuardedSocket::reject(int status, const char *code, const QString &message, const QJsonObject &details)
{
    qCInfo(lcApi).noquote() << "rejecting request from" << peerAddress().toString() << "with" << status << message;
    m_rejected = true;
    m_head.clear();
    m_headDeadline.stop();
    m_bodyIdle.stop();
    touch(); // bounds the graceful close below: a client that reads nothing is aborted when it fires
    const Error e = Error::make(code, message, details);
    const QByteArray raw = rawErrorResponse(status, e);
    QTcpSocket::writeData(raw.constData(), raw.size());
    disconnectFromHost(); // after the answer is flushed
}

GuardedTcpServer::GuardedTcpServer(const HttpLimits &limits, QObject *parent)
    : QTcpServer(parent), m_limits(limits)
{
}

void GuardedTcpServer::incomingConnection(qintptr handle)
{
    auto *socket = new GuardedSocket(m_limits, this);
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    addPendingConnection(socket);
}

} // namespace cr
