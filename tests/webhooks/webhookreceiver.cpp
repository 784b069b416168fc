#include "tests/webhooks/webhookreceiver.h"

#include <QTcpSocket>

namespace cr::testing {

WebhookReceiver::WebhookReceiver(QObject *parent) : QObject(parent)
{
    m_answer = [](int, const ReceivedRequest &) { return 204; };
    connect(&m_server, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *s = m_server.nextPendingConnection()) {
            connect(s, &QTcpSocket::readyRead, this, [this, s] { onReadyRead(s); });
            connect(s, &QTcpSocket::disconnected, this, [this, s] {
                m_buffers.remove(s);
                s->deleteLater();
            });
        }
    });
}

WebhookReceiver::~WebhookReceiver()
{
    for (QTcpSocket *s : m_server.findChildren<QTcpSocket *>()) {
        s->disconnect(this);
        delete s;
    }
}

bool WebhookReceiver::listen() { return m_server.listen(QHostAddress::LocalHost, 0); }

QUrl WebhookReceiver::url(const QString &path) const
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(port()).arg(path));
}

int WebhookReceiver::heldCount() const
{
    int n = 0;
    for (const QPointer<QTcpSocket> &s : m_held)
        n += s && s->state() == QAbstractSocket::ConnectedState ? 1 : 0;
    return n;
}

void WebhookReceiver::releaseHeld()
{
    for (const QPointer<QTcpSocket> &s : std::exchange(m_held, {}))
        if (s)
            s->abort();
}

void WebhookReceiver::onReadyRead(QTcpSocket *socket)
{
    QByteArray &buf = m_buffers[socket];
    buf += socket->readAll();
    while (true) {
        const qsizetype headEnd = buf.indexOf("\r\n\r\n");
        if (headEnd < 0)
            return;
        ReceivedRequest r;
        const QList<QByteArray> lines = buf.left(headEnd).split('\n');
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        r.method = requestLine.value(0);
        r.path = requestLine.value(1);
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const qsizetype colon = lines.at(i).indexOf(':');
            if (colon > 0)
                r.headers.insert(lines.at(i).left(colon).trimmed().toLower(), lines.at(i).mid(colon + 1).trimmed());
        }
        const qsizetype length = r.headers.value("content-length").toLongLong();
        if (buf.size() < headEnd + 4 + length)
            return;
        r.body = buf.mid(headEnd + 4, length);
        buf.remove(0, headEnd + 4 + length);
        const int index = int(m_requests.size());
        m_requests.append(r);
        const int status = m_answer(index, r);
        if (status == 0) {
            m_held.append(socket);
        } else {
            socket->write("HTTP/1.1 " + QByteArray::number(status)
                          + " X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            socket->disconnectFromHost();
        }
        emit received(index);
    }
}

} // namespace cr::testing
