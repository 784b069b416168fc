#include "core/common/listenerguard.h"

#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace cr {

QByteArray closingHttpAnswer(int status, const QByteArray &reason, const QByteArray &jsonBody)
{
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason
        + "\r\nContent-Type: application/json\r\nContent-Length: " + QByteArray::number(jsonBody.size())
        + "\r\nConnection: close\r\n\r\n" + jsonBody;
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

namespace {

// Descriptors kept free for everything else (ComfyUI connections, the job store, logs).
qint64 reservedDescriptors()
{
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1; // unknown or unlimited: no check
    return qint64(rl.rlim_cur) - qMax<qint64>(16, qint64(rl.rlim_cur) / 16);
}

// The lowest free descriptor (what the next accept() would get) is below the reserve.
bool haveHeadroom()
{
    const qint64 bound = reservedDescriptors();
    if (bound < 0)
        return true;
    const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe < 0)
        return false;
    ::close(probe);
    return probe < bound;
}

} // namespace

qint64 AcceptBackoff::raiseDescriptorLimit()
{
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : qint64(rl.rlim_cur);
}

AcceptBackoff::AcceptBackoff(QTcpServer *listener, const QLoggingCategory &category, int minDelayMs, int maxDelayMs)
    : QObject(listener), m_listener(listener), m_category(category), m_minDelayMs(minDelayMs), m_maxDelayMs(maxDelayMs),
      m_delayMs(minDelayMs)
{
    m_resume.setSingleShot(true);
    connect(&m_resume, &QTimer::timeout, this, &AcceptBackoff::tryResume);
    connect(listener, &QTcpServer::acceptError, this, [this] { backOff(m_listener->errorString()); });
}

bool AcceptBackoff::admit(qintptr descriptor)
{
    const qint64 bound = reservedDescriptors();
    if (bound >= 0 && descriptor >= bound) {
        backOff(QStringLiteral("file descriptor %1 is within the reserve kept below RLIMIT_NOFILE").arg(descriptor));
        return false;
    }
    m_delayMs = m_minDelayMs;
    return true;
}

void AcceptBackoff::backOff(const QString &why)
{
    ++m_errors;
    m_listener->pauseAccepting(); // no accept() until tryResume
    if (m_resume.isActive())
        return;
    qCWarning(m_category).noquote() << QStringLiteral("cannot accept connections on port %1 (%2); retrying in %3 ms")
                                           .arg(m_listener->serverPort())
                                           .arg(why)
                                           .arg(m_delayMs);
    m_resume.start(m_delayMs);
}

void AcceptBackoff::tryResume()
{
    m_delayMs = qMin(m_delayMs * 2, m_maxDelayMs);
    if (!haveHeadroom()) { // still short: try again later, quietly
        m_resume.start(m_delayMs);
        return;
    }
    qCInfo(m_category).noquote()
        << QStringLiteral("accepting connections on port %1 again").arg(m_listener->serverPort());
    m_listener->resumeAccepting();
}

} // namespace cr
