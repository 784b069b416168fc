#include "bench/relay/stalledclient.h"

#include <QByteArray>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cr::bench {

bool StalledClient::open(quint16 port, QString *error)
{
    close();
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0) {
        *error = QString::fromLocal8Bit(strerror(errno));
        return false;
    }
    const int small = 4096;
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(m_fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
        *error = QStringLiteral("connect: %1").arg(QString::fromLocal8Bit(strerror(errno)));
        close();
        return false;
    }
    const QByteArray handshake = "GET /?bench=stalled HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (::send(m_fd, handshake.constData(), size_t(handshake.size()), MSG_NOSIGNAL) != handshake.size()) {
        *error = QStringLiteral("cannot send the handshake");
        close();
        return false;
    }
    // Read the 101 answer byte by byte, so that nothing after it is consumed.
    QByteArray answer;
    while (!answer.endsWith("\r\n\r\n")) {
        pollfd pfd{m_fd, POLLIN, 0};
        char c = 0;
        if (::poll(&pfd, 1, 5000) <= 0 || ::recv(m_fd, &c, 1, 0) != 1 || answer.size() > 4096) {
            *error = QStringLiteral("no handshake answer");
            close();
            return false;
        }
        answer.append(c);
    }
    if (!answer.startsWith("HTTP/1.1 101")) {
        *error = QStringLiteral("handshake refused: %1").arg(QString::fromLatin1(answer.left(80)));
        close();
        return false;
    }
    return true;
}

quint16 StalledClient::localPort() const
{
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (m_fd < 0 || ::getsockname(m_fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        return 0;
    return ntohs(addr.sin_port);
}

void StalledClient::close()
{
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
}

} // namespace cr::bench
