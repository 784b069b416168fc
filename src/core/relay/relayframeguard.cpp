#include "core/relay/relayframeguard.h"

#include <QLoggingCategory>
#include <QTcpSocket>

Q_DECLARE_LOGGING_CATEGORY(lcRelay)

namespace cr {

RelayFrameGuard::RelayFrameGuard(QTcpSocket *socket, qint64 headBytes, std::function<void()> unmasked)
    : QObject(socket), m_socket(socket), m_unmasked(std::move(unmasked)), m_scanned(headBytes)
{
    setObjectName(QStringLiteral("cr_relay_frame_guard"));
    // Nothing has been read yet (the handshake screen only peeks): all received bytes are buffered.
    m_received = m_leftByQt = socket->bytesAvailable();
    connect(socket, &QIODevice::readyRead, this, &RelayFrameGuard::beforeQt);
    connect(socket, &QIODevice::aboutToClose, this, &RelayFrameGuard::stop); // the buffer goes with it
    scan(0);
}

RelayFrameGuard *RelayFrameGuard::of(const QTcpSocket *socket)
{
    return socket->findChild<RelayFrameGuard *>(QStringLiteral("cr_relay_frame_guard"), Qt::FindDirectChildrenOnly);
}

void RelayFrameGuard::upgraded()
{
    if (m_upgraded || m_stopped)
        return;
    m_upgraded = true;
    m_leftByQt = m_socket->bytesAvailable();
    if (m_received - m_leftByQt > m_scanned) // Qt read bytes the guard never saw
        return stop();
    connect(m_socket, &QIODevice::readyRead, this, &RelayFrameGuard::afterQt);
}

void RelayFrameGuard::beforeQt()
{
    if (m_stopped)
        return;
    const qint64 buffered = m_socket->bytesAvailable();
    if (!m_upgraded) {
        // Until the upgrade Qt reads once: the head, when it makes the QWebSocket, and no bytes arrive from
        // then until upgraded(). So more bytes buffered means nothing was read yet.
        if (buffered <= m_received)
            return;
        m_received = buffered;
        return scan(0);
    }
    const qint64 arrived = buffered - m_leftByQt;
    if (arrived < 0) { // something read outside Qt's readyRead slot: the count is lost, stop judging
        qCWarning(lcRelay) << "lost track of a client's frames; its mask bits are no longer checked";
        return stop();
    }
    m_received += arrived;
    m_leftByQt = buffered;
    scan(m_received - buffered);
}

void RelayFrameGuard::afterQt()
{
    if (!m_stopped)
        m_leftByQt = m_socket->bytesAvailable();
}

void RelayFrameGuard::scan(qint64 consumed)
{
    // The buffer holds bytes [consumed, m_received) of the stream; Qt never reads past what was received,
    // and the guard has seen every byte Qt read.
    if (consumed > m_scanned) {
        qCWarning(lcRelay) << "lost track of a client's frames; its mask bits are no longer checked";
        return stop();
    }
    QByteArray buffered; // peeked once, when a header byte is among the new bytes
    while (m_scanned < m_received) {
        const quint64 skipped = std::min<quint64>(m_scanner.payloadLeft(), quint64(m_received - m_scanned));
        m_scanner.skip(skipped);
        m_scanned += qint64(skipped);
        if (m_scanned == m_received)
            break;
        const qint64 take = std::min<qint64>(m_scanner.headerBytesWanted(), m_received - m_scanned);
        const qint64 at = m_scanned - consumed;
        if (buffered.size() < at + take)
            buffered = m_socket->peek(m_received - consumed);
        if (buffered.size() < at + take) // cannot happen: the bytes are buffered
            return stop();
        m_scanned += take;
        if (m_scanner.feedHeader(QByteArrayView(buffered).sliced(at, take))
            == protocol::WebSocketFrameScanner::Verdict::Unmasked) {
            const std::function<void()> report = std::move(m_unmasked);
            stop();
            return report();
        }
    }
}

void RelayFrameGuard::stop()
{
    m_stopped = true;
    disconnect(m_socket, nullptr, this, nullptr);
}

} // namespace cr
