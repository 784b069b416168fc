#pragma once
// A webhook receiver for the tests: a QTcpServer on port 0 that reads HTTP/1.1 requests (head and
// Content-Length body), records them, and answers each with the status `answer` picks for it, or holds the
// connection open without a word (a receiver that hangs) when it picks 0.

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QUrl>

#include <functional>

class QTcpSocket;

namespace cr::testing {

struct ReceivedRequest {
    QByteArray method;
    QByteArray path;
    QHash<QByteArray, QByteArray> headers; // names in lower case
    QByteArray body;
};

class WebhookReceiver final : public QObject
{
    Q_OBJECT
public:
    // index: 0 for the first request received, 1 for the next...; returns the status (0: hold the connection).
    using Answer = std::function<int(int index, const ReceivedRequest &request)>;
    explicit WebhookReceiver(QObject *parent = nullptr);
    ~WebhookReceiver() override; // closes every connection without calling back into this object
    bool listen();
    quint16 port() const { return m_server.serverPort(); }
    QUrl url(const QString &path = QStringLiteral("/hook")) const;
    void setAnswer(Answer answer) { m_answer = std::move(answer); }
    const QList<ReceivedRequest> &requests() const { return m_requests; }
    int heldCount() const; // connections held open without an answer, still connected
    void releaseHeld();    // closes them

signals:
    void received(int index);

private:
    void onReadyRead(QTcpSocket *socket);
    QTcpServer m_server;
    Answer m_answer;
    QList<ReceivedRequest> m_requests;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<QPointer<QTcpSocket>> m_held;
};

} // namespace cr::testing
