#include "core/api/httpguard.h"
#include "core/api/routetable.h"

#include "core/api/apierrors.h"
#include "core/api/apilog.h"
#include "core/api/requesthead.h"
#include "core/common/listenerguard.h"

#include <sys/socket.h>
#include <unistd.h>

namespace cr {

GuardedSocket::GuardedSocket(const HttpLimits &limits, QObject *parent) : QTcpSocket(parent), m_limits(limits)
{
    for (QTimer *timer : {&m_idle, &m_headDeadline, &m_bodyIdle})
        timer->setSingleShot(true);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        // touch() only notes the time: the timer runs out at the first deadline and is set again for what is
        // left, so that a request costs no timer restarts (every write of an answer is a touch).
        if (const qint64 left = m_limits.idleTimeoutMs - m_lastTouch.elapsed(); left > 0) {
            m_idle.start(int(left));
            return;
        }
        if (m_closing) { // the last answer did not drain: give up on it
            abort();
            return;
        }
        if (m_phase == Phase::Body || (m_phase == Phase::Answer && !m_answerWritten))
            return; // a body is owed (m_bodyIdle watches it), or an answer is (the server's business)
        if (m_phase == Phase::Answer || m_pending.isEmpty()) { // a stalled answer, or nothing between requests
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
                     .arg(m_owed - m_pending.size()),
                 m_limits.bodyIdleTimeoutMs);
    });
    // Connected here, before QHttpServer connects its own slot: this one runs first on every readyRead.
    connect(this, &QIODevice::readyRead, this, &GuardedSocket::inspect);
    connect(this, &QIODevice::bytesWritten, this, [this] {
        touch();
        shutWriteSideIfWritten();
    });
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
    if (m_limits.idleTimeoutMs <= 0)
        return;
    m_lastTouch.start();
    if (!m_idle.isActive())
        m_idle.start(m_limits.idleTimeoutMs);
}

// A request that did not arrive in time: 408 when nothing else is still being written (it would be
// interleaved with it), else a plain close. Leading empty lines alone are no request: closed silently.
void GuardedSocket::timedOut(const QString &message, int timeoutMs)
{
    if (m_closing)
        return;
    const bool started = m_phase == Phase::Body || !m_pending.isEmpty();
    if (started && m_phase != Phase::Answer && bytesToWrite() == 0) {
        reject(ErrorCode::RequestTimeout, message, {{QStringLiteral("timeout_ms"), timeoutMs}});
        return;
    }
    qCInfo(lcApi).noquote() << "closing the connection of" << peerAddress().toString() << "because" << message;
    abort();
}

qint64 GuardedSocket::writeData(const char *data, qint64 len)
{
    m_answerWritten = true; // idle time counts again once it is written
    touch();
    return QTcpSocket::writeData(data, len);
}

// QHttpServer reads here once the socket's own buffer is empty (inspect() keeps it so): the bytes of the
// released request, never those of a later one.
qint64 GuardedSocket::readData(char *data, qint64 maxSize)
{
    if (m_draining || m_phase != Phase::Body)
        return 0;
    const qint64 n = qMin(qMin(maxSize, m_owed), qint64(m_pending.size()));
    if (n <= 0)
        return 0;
    memcpy(data, m_pending.constData(), size_t(n));
    m_pending.remove(0, n);
    m_owed -= n;
    if (m_owed == 0) {
        m_phase = Phase::Answer;
        m_answerWritten = false;
        m_bodyIdle.stop();
    }
    return n;
}

qint64 GuardedSocket::bytesAvailable() const
{
    const qint64 released = m_phase == Phase::Body ? qMin(m_owed, qint64(m_pending.size())) : 0;
    return QTcpSocket::bytesAvailable() + released;
}

// Bytes received beyond the released request: pipelined requests waiting for the answer before them.
qint64 GuardedSocket::heldBytes() const
{
    switch (m_phase) {
    case Phase::Head:
        return 0; // all of it is the head being read (bounded by the 431 check)
    case Phase::Body:
        return qMax<qint64>(0, m_pending.size() - m_owed);
    case Phase::Answer:
        return m_pending.size();
    }
    return 0;
}

void GuardedSocket::inspect()
{
    m_draining = true;
    const QByteArray fresh = read(QTcpSocket::bytesAvailable());
    m_draining = false;
    if (m_closing || fresh.isEmpty())
        return; // discarded: QHttpServer never sees a byte after a rejected or last request
    touch();
    m_pending += fresh;
    if (m_phase == Phase::Head)
        advance();
    else if (m_phase == Phase::Body)
        watchBody();
    // Pipelined requests are held until their turn, at most one request's worth (head and body limits);
    // beyond that the connection closes after the current answer and the client sends the rest again.
    const qint64 held = heldBytes();
    if (held > m_limits.maxHeaderBytes + m_limits.maxBodyBytes) {
        qCInfo(lcApi).noquote() << "closing the connection of" << peerAddress().toString()
                                << "after its current answer:" << held
                                << "bytes of pipelined requests are more than it may hold";
        m_pending.chop(held);
        m_closeAfterAnswer = true;
        m_closing = true;
    }
}

// Reads the next request head from m_pending (Phase::Head): rejects it, or releases the request to QHttpServer.
void GuardedSocket::advance()
{
    qsizetype blank = 0; // leading empty lines between requests are allowed (RFC 9112 §2.2)
    while (m_pending.size() >= blank + 2 && m_pending.at(blank) == '\r' && m_pending.at(blank + 1) == '\n')
        blank += 2;
    m_pending.remove(0, blank);
    if (m_pending.isEmpty())
        return;
    m_legacyRequest = requestNamesLegacyRoute(m_pending);
    const qsizetype end = m_pending.indexOf("\r\n\r\n");
    if ((end < 0 && m_pending.size() > m_limits.maxHeaderBytes) || end + 4 > m_limits.maxHeaderBytes) {
        reject(ErrorCode::HeadersTooLarge,
               QStringLiteral("the request head exceeds %1 bytes").arg(m_limits.maxHeaderBytes));
        return;
    }
    if (end < 0) {
        // The deadline runs from the first byte of a head that did not come in one piece (a whole head in
        // one read, the usual case, never needs the timer).
        if (!m_headDeadline.isActive())
            arm(m_headDeadline, m_limits.headTimeoutMs);
        return;
    }
    const auto parsed = parseRequestHead(QByteArrayView(m_pending).first(end));
    if (const HeadError *e = std::get_if<HeadError>(&parsed)) {
        reject(e->code, e->message);
        return;
    }
    const RequestHead &head = std::get<RequestHead>(parsed);
    if (head.chunked) {
        reject(ErrorCode::LengthRequired,
               QStringLiteral("chunked request bodies are not accepted; send Content-Length"));
        return;
    }
    if (head.contentLength > m_limits.maxBodyBytes) {
        reject(ErrorCode::PayloadTooLarge,
               QStringLiteral("the request body (%1 bytes) exceeds the limit of %2 bytes")
                   .arg(head.contentLength)
                   .arg(m_limits.maxBodyBytes),
               {{QStringLiteral("limit"), m_limits.maxBodyBytes}});
        return;
    }
    if (head.expectContinue && head.contentLength > 0)
        QTcpSocket::writeData("HTTP/1.1 100 Continue\r\n\r\n", 25);
    m_headDeadline.stop();
    m_closeAfterAnswer = head.close;
    m_owed = end + 4 + head.contentLength;
    m_phase = Phase::Body;
    watchBody();
}

void GuardedSocket::watchBody()
{
    if (m_pending.size() >= m_owed)
        m_bodyIdle.stop();
    else
        arm(m_bodyIdle, m_limits.bodyIdleTimeoutMs);
}

void GuardedSocket::answerFinished()
{
    if (m_phase != Phase::Answer)
        return;
    if (m_closeAfterAnswer) {
        m_pending.clear();
        closeAfterWrite();
        return;
    }
    m_phase = Phase::Head;
    touch();
    if (!m_pending.isEmpty()) // a pipelined request: released from the event loop, not inside this answer
        QMetaObject::invokeMethod(this, &GuardedSocket::resume, Qt::QueuedConnection);
}

void GuardedSocket::resume()
{
    if (m_phase != Phase::Head || m_closing || state() != QAbstractSocket::ConnectedState)
        return;
    advance();
    if (m_phase == Phase::Body)
        emit readyRead(); // QHttpServer reads the released request (inspect() finds nothing new)
}

void GuardedSocket::reject(const char *code, const QString &message, const QJsonObject &details)
{
    const int status = httpStatusFor(QLatin1String(code)); // the one code-to-status table
    qCInfo(lcApi).noquote() << "rejecting request from" << peerAddress().toString() << "with" << status << message;
    m_closing = true;
    if (m_phase == Phase::Head && !m_pending.isEmpty())
        m_legacyRequest = requestNamesLegacyRoute(m_pending);
    m_pending.clear();
    m_headDeadline.stop();
    m_bodyIdle.stop();
    const Error e = Error::make(code, message, details);
    const QByteArray raw = rawErrorResponse(status, e, m_legacyRequest);
    QTcpSocket::writeData(raw.constData(), raw.size());
    closeAfterWrite();
}

// Ends the connection after what was written, without a reset: once the answer is out the write side is shut
// (the client reads the answer, then the end of the stream) and whatever the client still sends is read and
// dropped (inspect) until it closes its side, at most the idle timeout (m_idle aborts a closing connection).
// QAbstractSocket::disconnectFromHost() stops reading at once and closes after the flush: input that arrived
// meanwhile was unread, so the kernel reset the connection, which can throw away the answer before the client
// read it (a client still sending the body of a request refused with 413, a head trickling past its deadline).
void GuardedSocket::closeAfterWrite()
{
    m_closing = true;
    if (m_limits.idleTimeoutMs <= 0) { // nothing would bound the wait for the client's close
        disconnectFromHost();
        return;
    }
    m_shutWhenWritten = true;
    touch(); // bounds the graceful close: a client that neither reads nor closes is aborted when it fires
    shutWriteSideIfWritten();
}

void GuardedSocket::shutWriteSideIfWritten()
{
    if (!m_shutWhenWritten || bytesToWrite() > 0 || state() != QAbstractSocket::ConnectedState)
        return;
    m_shutWhenWritten = false;
    ::shutdown(int(socketDescriptor()), SHUT_WR);
}

GuardedTcpServer::GuardedTcpServer(const HttpLimits &limits, QObject *parent)
    : QTcpServer(parent), m_limits(limits), m_backoff(new AcceptBackoff(this, lcApi()))
{ }

void GuardedTcpServer::incomingConnection(qintptr handle)
{
    if (!m_backoff->admit(handle)) { // too close to the descriptor limit: closed, accepting paused
        ::close(int(handle));
        return;
    }
    if (m_open >= m_limits.maxConnections) {
        refuse(handle);
        return;
    }
    auto *socket = new GuardedSocket(m_limits, this);
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    // Answers are written whole; a small one (an SSE event, the end of a chunked body) must not wait for
    // the client's delayed ACK.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    ++m_open;
    connect(socket, &QObject::destroyed, this, [this] { --m_open; });
    addPendingConnection(socket);
}

// 503 then close. The refusing sockets are bounded too: beyond as many again, a connection is dropped at once.
void GuardedTcpServer::refuse(qintptr handle)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    if (m_refusing >= m_limits.maxConnections) {
        socket->abort();
        delete socket;
        return;
    }
    qCInfo(lcApi).noquote() << "refusing a connection from" << socket->peerAddress().toString() << "with 503:" << m_open
                            << "connections are open, the limit is" << m_limits.maxConnections;
    ++m_refusing;
    connect(socket, &QObject::destroyed, this, [this] { --m_refusing; });
    const Error e = Error::make(
        ErrorCode::TooManyConnections,
        QStringLiteral("the server has %1 connections open, its limit; try again later").arg(m_limits.maxConnections),
        {{QStringLiteral("limit"), m_limits.maxConnections}});
    refuseConnection(socket, rawErrorResponse(httpStatusFor(e.code), e));
}

} // namespace cr
