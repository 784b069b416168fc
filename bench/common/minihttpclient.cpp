#include "bench/common/minihttpclient.h"

#include "bench/common/benchwait.h"

namespace cr::bench {

QByteArray HttpResponse::header(QByteArrayView name) const
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

MiniHttpClient::MiniHttpClient(const QString &host, quint16 port, QObject *parent)
    : QObject(parent), m_host(host), m_port(port)
{
    connect(&m_socket, &QTcpSocket::readyRead, this, [this] { m_buffer += m_socket.readAll(); });
}

bool MiniHttpClient::ensureConnected(int timeoutMs)
{
    if (m_socket.state() == QAbstractSocket::ConnectedState)
        return true;
    m_socket.abort();
    m_buffer.clear();
    m_socket.connectToHost(m_host, m_port);
    m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    const bool ok = waitUntil(
        [this] {
            return m_socket.state() == QAbstractSocket::ConnectedState
                || m_socket.state() == QAbstractSocket::UnconnectedState;
        },
        timeoutMs);
    if (ok && m_socket.state() == QAbstractSocket::ConnectedState)
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    return ok && m_socket.state() == QAbstractSocket::ConnectedState;
}

std::optional<HttpResponse> MiniHttpClient::request(const QByteArray &method, const QByteArray &path,
                                                    const QByteArray &body, int timeoutMs, QString *error)
{
    if (!ensureConnected(timeoutMs)) {
        if (error)
            *error = QStringLiteral("cannot connect to %1:%2: %3").arg(m_host).arg(m_port).arg(m_socket.errorString());
        return std::nullopt;
    }
    QByteArray req = method + ' ' + path + " HTTP/1.1\r\nHost: " + m_host.toLatin1() + ':' + QByteArray::number(m_port)
        + "\r\nAccept: application/json\r\n";
    if (!body.isEmpty() || method == "POST" || method == "PATCH" || method == "PUT")
        req += "Content-Type: application/json\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    m_buffer.clear();
    m_socket.write(req);
    m_socket.flush();

    HttpResponse response;
    Parse state = Parse::Incomplete;
    QString why;
    const bool finished = waitUntil(
        [&] {
            state = parse(&response, &why);
            return state != Parse::Incomplete || m_socket.state() != QAbstractSocket::ConnectedState;
        },
        timeoutMs);
    if (state == Parse::Done) {
        if (response.header("Connection").compare("close", Qt::CaseInsensitive) == 0)
            m_socket.disconnectFromHost();
        return response;
    }
    if (error)
        *error = state == Parse::Error ? why
            : finished                 ? QStringLiteral("the server closed the connection")
                                       : QStringLiteral("no answer within %1 ms").arg(timeoutMs);
    m_socket.abort();
    return std::nullopt;
}

MiniHttpClient::Parse MiniHttpClient::parse(HttpResponse *out, QString *error)
{
    const qsizetype headEnd = m_buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return Parse::Incomplete;
    const QList<QByteArray> lines = m_buffer.left(headEnd).split('\n');
    const QList<QByteArray> statusLine = lines.value(0).trimmed().split(' ');
    bool ok = false;
    out->status = statusLine.value(1).toInt(&ok);
    if (!ok) {
        *error = QStringLiteral("bad status line: %1").arg(QString::fromLatin1(lines.value(0)));
        return Parse::Error;
    }
    out->headers.clear();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            out->headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    const qsizetype bodyStart = headEnd + 4;
    if (out->header("Transfer-Encoding").contains("chunked")) {
        QByteArray body;
        qsizetype pos = bodyStart;
        for (;;) {
            const qsizetype eol = m_buffer.indexOf("\r\n", pos);
            if (eol < 0)
                return Parse::Incomplete;
            const qsizetype size = m_buffer.mid(pos, eol - pos).split(';').value(0).trimmed().toLongLong(&ok, 16);
            if (!ok) {
                *error = QStringLiteral("bad chunk size");
                return Parse::Error;
            }
            if (m_buffer.size() < eol + 2 + size + 2)
                return Parse::Incomplete;
            if (size == 0)
                break;
            body += m_buffer.mid(eol + 2, size);
            pos = eol + 2 + size + 2;
        }
        out->body = body;
        return Parse::Done;
    }
    const QByteArray length = out->header("Content-Length");
    const qsizetype size = length.isEmpty() ? 0 : length.toLongLong(&ok);
    if (!length.isEmpty() && !ok) {
        *error = QStringLiteral("bad Content-Length");
        return Parse::Error;
    }
    if (m_buffer.size() < bodyStart + size)
        return Parse::Incomplete;
    out->body = m_buffer.mid(bodyStart, size);
    return Parse::Done;
}

} // namespace cr::bench
