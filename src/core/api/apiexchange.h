#pragma once
// One request and its answer, detached from QHttpServer's objects: ApiRequest is a copy of what the handler
// needs (QHttpServerRequest is reused for the next request of the connection); ApiReply owns the responder on
// the heap with a QPointer guard on its socket, so a handler can answer later, exactly once, and an answer to
// a client that left is dropped instead of crashing (qt64-notes §3).

#include "protocol/error.h"

#include <QByteArray>
#include <QJsonValue>
#include <QList>
#include <QPair>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QUrlQuery>

#include <memory>

class QHttpServerResponder;
class QTcpSocket;

namespace cr {

class HttpMetrics;

using HeaderPairs = QList<QPair<QByteArray, QByteArray>>;

struct ApiRequest {
    QByteArray method; // "GET", "POST", ... ("HEAD" requests are served by GET handlers)
    QString path;      // decoded path
    QUrlQuery query;
    HeaderPairs headers;
    QByteArray body;
    QStringList args; // values of the {placeholders} of the matched route, in order
    QString peer;

    QByteArray header(const QByteArray &name) const; // case-insensitive, empty when absent
    QString arg(int i) const { return args.value(i); }
};

// A copyable handle: copies share one answer, so methods are const.
class ApiReply
{
public:
    ApiReply() = default;
    ApiReply(QHttpServerResponder &&responder, bool headOnly);

    // True while the client is still connected and nothing was answered yet.
    bool isOpen() const;
    bool isAnswered() const;
    bool isHeadOnly() const;
    QTcpSocket *socket() const; // may be null once the client left

    void json(int status, const QJsonValue &body, const HeaderPairs &headers = {}) const;
    // The common error body {"error": {...}}; on a legacy route (see useLegacyStatus) also "STATUS".
    void error(const Error &error, const HeaderPairs &headers = {}) const;
    // Marks an answer of the Python project's routes: every error body then also carries the "STATUS"
    // sentence its clients read (the error's message), beside the "error" object (legacyanswers.h).
    void useLegacyStatus() const;
    // Counts this answer in `metrics` (route and method indexes of HttpMetrics) when its status line goes
    // out, with the time since this call; an answer never given is not counted.
    void countIn(HttpMetrics *metrics, int route, int method) const;
    void raw(int status, const QByteArray &body, const QByteArray &contentType, const HeaderPairs &headers = {}) const;

    // Streaming: begin() with the length when known (else chunked framing), then write()..., then end().
    void begin(int status, const QByteArray &contentType, qint64 length, const HeaderPairs &headers = {}) const;
    void write(const QByteArray &data) const;
    void end() const;
    // Closes the connection (a stream that cannot be completed).
    void abort() const;
    // Drops the connection at once, discarding what is still queued on the socket (a reader too slow to
    // keep up; a graceful close would hold its backlog until it drained).
    void drop() const;

private:
    struct State;
    std::shared_ptr<State> m_s;
};

} // namespace cr
