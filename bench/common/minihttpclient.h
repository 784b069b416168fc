#pragma once
// A minimal HTTP/1.1 client for timing requests: one keep-alive TCP connection (TCP_NODELAY), the request
// written in one piece, the answer read by Content-Length (or chunked). It costs a few microseconds per
// request, so what a benchmark measures is the server, not the client library.

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QString>
#include <QTcpSocket>

#include <optional>
#include <utility>

namespace cr::bench {

// One parsed answer: status, headers in order, body.
struct HttpResponse {
    int status = 0;
    QList<std::pair<QByteArray, QByteArray>> headers;
    QByteArray body;

    QByteArray header(QByteArrayView name) const; // case-insensitive; empty when missing
};

class MiniHttpClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MiniHttpClient)

public:
    MiniHttpClient(const QString &host, quint16 port, QObject *parent = nullptr);

    // Opens the connection unless it is open; call before starting a clock.
    bool ensureConnected(int timeoutMs = 10'000);
    // One request on the connection (reconnects when the server closed it). Body is sent as JSON.
    std::optional<HttpResponse> request(const QByteArray &method, const QByteArray &path, const QByteArray &body = {},
                                        int timeoutMs = 30'000, QString *error = nullptr);

private:
    enum class Parse { Incomplete, Done, Error };
    Parse parse(HttpResponse *out, QString *error);

    QString m_host;
    quint16 m_port;
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

} // namespace cr::bench
