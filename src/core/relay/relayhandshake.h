#pragma once
// Screens a new relay connection before Qt's WebSocket handshake sees it (RFC 6455 §4.2): QWebSocketServer
// leaves a plain HTTP request unanswered and answers an unsupported Sec-WebSocket-Version with a bare 400.
// The screen peeks at the request head (it consumes nothing) and either passes the connection on or
// answers 426 Upgrade Required with a short text and closes it:
// - a request that is not a WebSocket upgrade (a browser, curl, a health check): 426 with "Upgrade: websocket";
// - a Sec-WebSocket-Version other than 13: 426 with "Sec-WebSocket-Version: 13";
// - a head over kMaxHeadBytes: 431, closed.
// A connection it passes gets a RelayFrameGuard, which checks every client frame for its mask.

#include <QByteArray>

#include <functional>

class QTcpSocket;

namespace cr {

struct RelayHandshakeVerdict {
    enum class Kind { Incomplete, Pass, Refuse };
    Kind kind = Kind::Incomplete;
    QByteArray response; // Refuse: the whole HTTP answer to write before closing
    QByteArray reason;   // Refuse: for the log
};

class RelayHandshakeScreen final
{
public:
    static constexpr qsizetype kMaxHeadBytes = 16 * 1024;

    // Judges the bytes received so far (socket-free, for tests).
    static RelayHandshakeVerdict judge(const QByteArray &received);

    // Watches `socket` until its head is complete; then calls `pass` (the head still unread, for Qt), or
    // writes the refusal and closes the socket. `pass` is not called for a socket that leaves first.
    // Before a pass it gives the socket a RelayFrameGuard, which calls `unmasked` for the first client frame
    // that is not masked (RFC 6455 §5.1: the server must close, 1002); its owner calls
    // RelayFrameGuard::upgraded() once the QWebSocket exists.
    static void screen(QTcpSocket *socket, std::function<void()> pass, std::function<void()> unmasked);
};

} // namespace cr
