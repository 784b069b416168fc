#include "core/common/listenerguard.h"

#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>

namespace cr {

QByteArray closingHttpAnswer(int status, const QByteArray &reason, const QByteArray &jsonBody)
{
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\nContent-Type: application/json\r\nContent-Length: "
         + QByteArray::number(jsonBody.size()) + "\r\nConnection: close\r\n\r\n" + jsonBody;
}

void refuseConnection(QTcpSocket *socket, const QByteArray &answer, int graceMs)
{
    socket->write(answer);
    QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
    // The last bytes seen, so that an end of head split across reads is found; the rest is discarded.
    auto tail = std::make_shared<QByteArray>();
    QObject::connect(socket, &QIODevice::readyRead, socket, [socket, tail] {
        *tail += socket->readAll();
        if (tail->contains("\r\n\r\n"))
            socket->disconnectFromHost();
        else
            *tail = tail->right(3);
    });
    QTimer::singleShot(graceMs / 4, socket, [socket] { socket->disconnectFromHost(); });
    QTimer::singleShot(graceMs, socket, [socket] {
        socket->abort();
        socket->deleteLater();
    });
}

AcceptBackoff::AcceptBackoff(QTcpServer *listener, const QLoggingCategory &category, int minDelayMs, int maxDelayMs)
    : QObject(listener), m_listener(listener), m_category(category), m_minDelayMs(minDelayMs),
      m_maxDelayMs(maxDelayMs), m_delayMs(minDelayMs)
{
    m_resume.setSingleShot(true);
    connect(&m_resume, &QTimer::timeout, this, [this] { m_listener->resumeAccepting(); });
    connect(listener, &QTcpServer::acceptError, this, &AcceptBackoff::onError);
    connect(listener, &QTcpServer::pendingConnectionAvailable, this, [this] { m_delayMs = m_minDelayMs; });
}

void AcceptBackoff::onError()
{
    ++m_errors;
    m_listener->pauseAccepting(); // Qt pauses on most errors already; never spin on the others
    if (m_resume.isActive())
        return;
    qCWarning(m_category).noquote() << QStringLiteral("cannot accept connections on port %1 (%2); retrying in %3 ms")
                                           .arg(m_listener->serverPort())
                                           .arg(m_listener->errorString())
                                           .arg(m_delayMs);
    m_resume.start(m_delayMs);
    m_delayMs = qMin(m_delayMs * 2, m_maxDelayMs);
}

} // namespace cr
