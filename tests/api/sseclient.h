#pragma once
// A raw-socket Server-Sent Events client for the API tests: sends one GET, parses the response head, the
// chunked body and the SSE frames (id/event/data, comments) itself, and records them in order. It can stop
// reading after the head (a 4 KiB read buffer, so the kernel buffers and then the server's backlog fill)
// and resume later. All waits are on signals.

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QTcpSocket>

#include <functional>

namespace cr::testing {

struct SseEvent {
    QByteArray id;   // empty when the frame had no id
    QString event;   // empty = "message"
    QByteArray data; // data lines joined with "\n"
    qint64 seq() const { return id.toLongLong(); }
};

class SseClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SseClient)

public:
    explicit SseClient(QObject *parent = nullptr);
    ~SseClient() override;

    // Connects to 127.0.0.1:port and sends `GET pathAndQuery` with the extra headers (and HEAD when head).
    // stalled: after the response head nothing more is read until resume().
    void open(quint16 port, const QByteArray &pathAndQuery, const QList<QPair<QByteArray, QByteArray>> &headers = {},
              bool stalled = false, const QByteArray &method = "GET");
    void resume();
    void close() { m_socket.abort(); }

    // Processes events until `done` holds (re-checked whenever something arrives) or the time is up.
    bool waitUntil(const std::function<bool()> &done, int timeoutMs = 10'000);
    bool waitHead(int timeoutMs = 10'000); // the response head arrived
    bool waitForEvents(qsizetype count, int timeoutMs = 10'000);
    bool waitForComments(int count, int timeoutMs = 10'000);
    bool waitEnded(int timeoutMs = 10'000); // the chunked body ended (terminating chunk)
    bool waitDisconnected(int timeoutMs = 10'000);

    int status() const { return m_status; }
    QByteArray header(const QByteArray &name) const; // case-insensitive
    QByteArray body() const { return m_body; }       // a non-chunked body (error answers)
    const QList<SseEvent> &events() const { return m_events; }
    QList<qint64> seqs() const; // ids of the events that have one
    QStringList types() const;
    int comments() const { return m_comments; }
    QByteArray retry() const { return m_retry; }
    bool isEnded() const { return m_ended; }
    bool isDisconnected() const { return m_disconnected; }
    bool protocolError() const { return m_protocolError; }
    qint64 bytesReceived() const { return m_received; }

signals:
    void changed();

private:
    void onReadyRead();
    bool parseHead();
    void parseChunks();
    void parseEvents();

    QTcpSocket m_socket;
    QByteArray m_raw;  // bytes not parsed yet (head, then chunked framing)
    QByteArray m_text; // decoded body not parsed into SSE frames yet
    QByteArray m_body;
    QList<QPair<QByteArray, QByteArray>> m_headers;
    QList<SseEvent> m_events;
    SseEvent m_current;
    bool m_hasData = false;
    QByteArray m_retry;
    int m_status = 0;
    int m_comments = 0;
    qint64 m_received = 0;
    qint64 m_contentLength = -1;
    bool m_headDone = false;
    bool m_chunked = false;
    bool m_reading = true;
    bool m_stalledAfterHead = false;
    bool m_head = false; // a HEAD request: no body follows
    bool m_ended = false;
    bool m_disconnected = false;
    bool m_protocolError = false;
};

} // namespace cr::testing
