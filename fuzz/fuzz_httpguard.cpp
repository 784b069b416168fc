// Fuzz target: the HTTP guard's request-head parsing (core/api/httpguard), through its public API as the
// API server uses it: a GuardedTcpServer on a loopback port, one client connection per input that sends the
// input's bytes and closes. A stand-in for QHttpServer reads what the guard lets through, as QHttpServer does
// (its readyRead slot runs after the guard's). Invariants: the guard never alters the byte stream (the reader
// sees a prefix of the input), and anything the guard answers on its own is an HTTP/1.1 response.

#include "fuzzsupport.h"

#include "core/api/httpguard.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QHostAddress>
#include <QPointer>
#include <QTimer>

#include <memory>

namespace {

struct Harness {
    std::unique_ptr<QCoreApplication> app;
    std::unique_ptr<cr::GuardedTcpServer> server;
};

Harness &harness()
{
    static Harness h = [] {
        Harness out;
        static int argc = 1;
        static char name[] = "fuzz_httpguard";
        static char *argv[] = {name, nullptr};
        out.app = std::make_unique<QCoreApplication>(argc, argv);
        cr::HttpLimits limits; // small bounds, so that inputs reach the 413 and 431 paths
        limits.maxBodyBytes = 256;
        limits.maxHeaderBytes = 1024;
        out.server = std::make_unique<cr::GuardedTcpServer>(limits);
        if (!out.server->listen(QHostAddress::LocalHost, 0))
            cr::fuzz::invariantFailed("listen on a loopback port", __FILE__, __LINE__);
        return out;
    }();
    return h;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    Harness &h = harness();
    const QByteArray input = cr::fuzz::bytes(data, size);

    QTcpSocket client;
    QByteArray answer; // what the client got back (only the guard writes here)
    QByteArray passed; // what the guard let through to the reader
    QPointer<QTcpSocket> accepted;
    QEventLoop loop;
    QTimer bound; // a hang is a finding too: abort rather than wait forever
    bound.setSingleShot(true);
    QObject::connect(&bound, &QTimer::timeout,
                     [] { cr::fuzz::invariantFailed("connection ends within 10 s", __FILE__, __LINE__); });
    bound.start(10'000);

    QObject::connect(&client, &QTcpSocket::readyRead, [&] { answer += client.readAll(); });
    QObject::connect(&client, &QTcpSocket::connected, [&] {
        client.write(input);
        client.disconnectFromHost(); // after the bytes are written
    });
    QObject::connect(h.server.get(), &QTcpServer::newConnection, &loop, [&] {
        accepted = h.server->nextPendingConnection();
        if (!accepted)
            return;
        QObject::connect(accepted, &QIODevice::readyRead, &loop, [&] { passed += accepted->readAll(); });
        QObject::connect(accepted, &QAbstractSocket::disconnected, &loop, &QEventLoop::quit);
        if (accepted->state() == QAbstractSocket::UnconnectedState)
            loop.quit();
    });
    client.connectToHost(QHostAddress::LocalHost, h.server->serverPort());
    loop.exec();
    bound.stop();
    QObject::disconnect(h.server.get(), &QTcpServer::newConnection, &loop, nullptr);

    CR_FUZZ_CHECK(input.startsWith(passed));
    CR_FUZZ_CHECK(QByteArray("HTTP/1.1 ").startsWith(answer.left(9))); // (the answer may be cut off by the close)
    delete accepted.data();
    return 0;
}
