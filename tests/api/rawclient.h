#pragma once
// Raw-socket HTTP clients for the tests that probe the server below QHttpServer: RawClient collects every
// byte the server sends, Trickle writes slowly while the event loop keeps running.

#include <QHostAddress>
#include <QTcpSocket>
#include <QTimer>
#include <QtTest>

namespace cr::testing {

// A raw client that collects everything the server sends.
struct RawClient {
    QTcpSocket socket;
    QByteArray received;
    bool closed = false;
    explicit RawClient(quint16 port)
    {
        QObject::connect(&socket, &QIODevice::readyRead, [this] { received += socket.readAll(); });
        QObject::connect(&socket, &QAbstractSocket::disconnected, [this] { closed = true; });
        socket.connectToHost(QHostAddress::LocalHost, port);
    }
    bool waitFor(const QByteArray &needle, int ms = 5000)
    {
        return QTest::qWaitFor([&] { return received.contains(needle); }, ms);
    }
    bool waitClosed(int ms = 5000)
    {
        return QTest::qWaitFor([&] { return closed; }, ms);
    }
    bool waitConnected(int ms = 5000)
    {
        return QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; }, ms);
    }
    // The status codes of the answers received so far, in order ("HTTP/1.x NNN" at the start of a line).
    QList<int> statuses() const
    {
        QList<int> out;
        qsizetype at = 0;
        while ((at = received.indexOf("HTTP/1.", at)) >= 0) {
            if (at == 0 || received.mid(at - 2, 2) == "\r\n" || received.at(at - 1) == '}')
                out << received.mid(at + 9, 3).toInt();
            at += 9;
        }
        return out;
    }
};

// Writes `bytes` to a socket `chunk` bytes at a time, one write per timer tick (the event loop keeps running).
struct Trickle {
    QTimer timer;
    QByteArray rest;
    explicit Trickle(QTcpSocket &socket, const QByteArray &bytes, int intervalMs, int chunk = 1) : rest(bytes)
    {
        QObject::connect(&timer, &QTimer::timeout, &socket, [this, &socket, chunk] {
            if (rest.isEmpty() || socket.state() != QAbstractSocket::ConnectedState) {
                timer.stop();
                return;
            }
            socket.write(rest.left(chunk));
            rest.remove(0, chunk);
        });
        timer.start(intervalMs);
    }
};

} // namespace cr::testing
