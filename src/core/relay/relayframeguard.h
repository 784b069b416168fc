#pragma once
// Checks the mask bit of every frame a relay client sends (RFC 6455 §5.1: a server must close the
// connection, 1002, on an unmasked client frame; QWebSocket 6.4 accepts them). It watches the TCP socket
// that QWebSocket reads, through public QIODevice calls only, in its buffered mode (so the relay's writes
// keep sharing a preview's bytes between clients):
// - Bytes enter a socket's read buffer only just before readyRead, and after the upgrade QWebSocket reads
//   only in its readyRead slot. So a slot connected before Qt's sees each new batch of bytes, and one
//   connected after Qt's sees how much Qt left unread; the difference between the two is what arrived.
// - From the count of bytes received and the bytes still buffered, the guard knows where in the buffer the
//   next frame header is, peeks up to it (one copy of the unread bytes per batch that holds a header) and
//   parses it (WebSocketFrameScanner). Payloads are skipped by count.
// The guard never reads from the socket. Qt's slots are connected in QWebSocketServer::handleConnection
// (the handshake) and when the QWebSocket is made; the guard's slots must be connected before the first
// (in the constructor) and after the second (upgraded()).

#include "protocol/websocketframe.h"

#include <QObject>

#include <functional>

class QTcpSocket;

namespace cr {

class RelayFrameGuard final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelayFrameGuard)

public:
    // A child of `socket`; `headBytes` is the size of the HTTP request head, nothing of which has been read
    // yet; the client's first frame starts after it. `unmasked` is called once, for the first unmasked frame
    // (then the guard stops; the owner closes the connection with 1002).
    RelayFrameGuard(QTcpSocket *socket, qint64 headBytes, std::function<void()> unmasked);

    // Call once the QWebSocket reading `socket` exists (QWebSocketServer::newConnection): it has read the
    // head and any complete frames then buffered.
    void upgraded();

    // The guard of `socket`, if it has one.
    static RelayFrameGuard *of(const QTcpSocket *socket);

    quint64 framesChecked() const { return m_scanner.frames(); }

private:
    void beforeQt(); // readyRead, before Qt's slot: the new bytes
    void afterQt();  // readyRead, after Qt's slot: what Qt left unread
    void scan(qint64 consumed);
    void stop();

    QTcpSocket *m_socket;
    std::function<void()> m_unmasked;
    protocol::WebSocketFrameScanner m_scanner;
    qint64 m_received = 0; // bytes received on the connection so far (the head included)
    qint64 m_scanned = 0;  // of those, the ones the scanner has been shown (or skipped)
    qint64 m_leftByQt = 0; // bytesAvailable() after Qt's last read
    bool m_upgraded = false;
    bool m_stopped = false;
};

} // namespace cr
