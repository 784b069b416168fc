#include "core/api/apiexchange.h"

#include "core/api/apierrors.h"
#include "core/api/httpguard.h"
#include "core/metrics/httpmetrics.h"

#include <QElapsedTimer>
#include <QHttpServerResponder>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>

namespace cr {

QByteArray ApiRequest::header(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

struct ApiReply::State {
    explicit State(QHttpServerResponder &&r) : responder(std::move(r)) { }
    QHttpServerResponder responder;
    QPointer<QTcpSocket> socket;
    bool headOnly = false;
    bool answered = false; // a status line went out (or the answer was given up)
    bool streaming = false;
    bool chunked = false;
    bool legacyStatus = false;      // error bodies carry "STATUS" (the Python project's routes)
    bool finished = false;          // the socket guard was told the answer is complete
    HttpMetrics *metrics = nullptr; // counts the answer (countIn), once
    int metricsRoute = 0;
    int metricsMethod = 0;
    QElapsedTimer since;
    void count(int status)
    {
        if (metrics && !answered)
            metrics->record(metricsRoute, metricsMethod, status, double(since.nsecsElapsed()) / 1e9);
        metrics = nullptr;
    }
    // Tells the guard (once) that this answer is complete, so that it releases the next request.
    void finish()
    {
        if (finished)
            return;
        finished = true;
        // Out now, in this turn of the event loop: not after whatever else the loop has to do first (relay
        // writes of megabytes of previews), and without waiting for the socket's write notification.
        if (socket && socket->state() == QAbstractSocket::ConnectedState)
            socket->flush();
        if (auto *guarded = qobject_cast<GuardedSocket *>(socket.data()))
            guarded->answerFinished();
    }
};

ApiReply::ApiReply(QHttpServerResponder &&responder, bool headOnly) : m_s(std::make_shared<State>(std::move(responder)))
{
    m_s->socket = m_s->responder.socket();
    m_s->headOnly = headOnly;
}

bool ApiReply::isOpen() const
{
    return m_s && !m_s->answered && m_s->socket && m_s->socket->state() == QAbstractSocket::ConnectedState;
}

bool ApiReply::isAnswered() const { return !m_s || m_s->answered; }
bool ApiReply::isHeadOnly() const { return m_s && m_s->headOnly; }
QTcpSocket *ApiReply::socket() const { return m_s ? m_s->socket.data() : nullptr; }

void ApiReply::json(int status, const QJsonValue &body, const HeaderPairs &headers) const
{
    const QByteArray bytes = body.isArray() ? QJsonDocument(body.toArray()).toJson(QJsonDocument::Compact)
                                            : QJsonDocument(body.toObject()).toJson(QJsonDocument::Compact);
    raw(status, bytes, "application/json", headers);
}

void ApiReply::error(const Error &e, const HeaderPairs &headers) const
{
    raw(httpStatusFor(e.code), errorBody(e, m_s && m_s->legacyStatus), "application/json", headers);
}

void ApiReply::useLegacyStatus() const
{
    if (m_s)
        m_s->legacyStatus = true;
}

void ApiReply::countIn(HttpMetrics *metrics, int route, int method) const
{
    if (!m_s)
        return;
    m_s->metrics = metrics;
    m_s->metricsRoute = route;
    m_s->metricsMethod = method;
    m_s->since.start();
}

void ApiReply::raw(int status, const QByteArray &body, const QByteArray &contentType, const HeaderPairs &headers) const
{
    begin(status, contentType, body.size(), headers);
    write(body);
    end();
}

void ApiReply::begin(int status, const QByteArray &contentType, qint64 length, const HeaderPairs &headers) const
{
    if (m_s)
        m_s->count(status);
    if (!isOpen()) {
        if (m_s)
            m_s->answered = true;
        return;
    }
    m_s->answered = true;
    m_s->streaming = true;
    m_s->chunked = length < 0 && !m_s->headOnly;
    auto &r = m_s->responder;
    r.writeStatusLine(static_cast<QHttpServerResponder::StatusCode>(status));
    if (!contentType.isEmpty())
        r.writeHeader("Content-Type", contentType);
    if (length >= 0)
        r.writeHeader("Content-Length", QByteArray::number(length));
    else if (m_s->chunked)
        r.writeHeader("Transfer-Encoding", "chunked");
    r.writeHeader("Cache-Control", "no-store");
    for (const auto &h : headers)
        r.writeHeader(h.first, h.second);
    const auto *guarded = qobject_cast<GuardedSocket *>(m_s->socket.data());
    if (guarded && guarded->answerStarting())
        r.writeHeader("Connection", "close");
    r.writeBody(QByteArray()); // ends the header block
    if (m_s->headOnly) {
        m_s->streaming = false;
        m_s->finish();
    }
}

void ApiReply::write(const QByteArray &data) const
{
    if (!m_s || !m_s->streaming || data.isEmpty() || !m_s->socket)
        return;
    if (m_s->chunked)
        m_s->responder.writeBody(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
    else
        m_s->responder.writeBody(data);
}

void ApiReply::end() const
{
    if (!m_s || !m_s->streaming)
        return;
    m_s->streaming = false;
    if (m_s->chunked && m_s->socket)
        m_s->responder.writeBody(QByteArray("0\r\n\r\n"));
    m_s->finish();
}

void ApiReply::abort() const
{
    if (!m_s)
        return;
    m_s->answered = true;
    m_s->streaming = false;
    if (m_s->socket)
        m_s->socket->disconnectFromHost();
}

void ApiReply::drop() const
{
    if (!m_s)
        return;
    m_s->answered = true;
    m_s->streaming = false;
    if (m_s->socket)
        m_s->socket->abort();
}

} // namespace cr
