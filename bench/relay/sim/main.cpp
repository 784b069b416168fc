// bench-relay-sim: the fake ComfyUI (src/sim) plus stamped bursts for bench-relay. Prints
// "bench-relay-sim listening on http://127.0.0.1:PORT" and reads commands on standard input, one per line:
//   burst ID STEPS INTERVAL_US PREVIEW_PX   (INTERVAL_US 0 = flat out)
//       -> "done ID STEPS ELAPSED_US BYTES_PER_CLIENT" once the last frame is handed to the sockets
//   sockets                                 -> "sockets N" (open WebSockets, comfy-runner's included)
//   quit
// Ordinary prompts run as in comfy-sim (--steps, --step-ms, --node-ms, --preview-size). Ends when its standard
// input closes, so it never outlives the benchmark.

#include "bench/common/benchwait.h"
#include "bench/relay/sim/burstemitter.h"
#include "sim/fakecomfy.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QLoggingCategory>
#include <QSocketNotifier>

#include <cstdio>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcBenchSim, "comfyrunner.bench.sim")

namespace {

// Sets TCP_NODELAY on every IPv4/IPv6 stream socket among this process's file descriptors; returns how many.
int setNoDelayOnAllTcpSockets()
{
    int count = 0;
    const QStringList fds = QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System);
    for (const QString &name : fds) {
        const int fd = name.toInt();
        int type = 0;
        socklen_t len = sizeof type;
        sockaddr_storage addr{};
        socklen_t addrLen = sizeof addr;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM
            || ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &addrLen) != 0
            || (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
            continue;
        const int one = 1;
        count += ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? 1 : 0;
    }
    return count;
}

} // namespace

int main(int argc, char *argv[])
{
    cr::bench::keepFreedMemory(); // an efficient sender: the baseline is not slowed by page faults
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("The fake ComfyUI with stamped event bursts, for bench-relay."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("port"), QStringLiteral("Port (0 = any free port)."), QStringLiteral("port"),
         QStringLiteral("0")},
        {QStringLiteral("steps"), QStringLiteral("Sampler steps of ordinary prompts."), QStringLiteral("n"),
         QStringLiteral("10")},
        {QStringLiteral("step-ms"), QStringLiteral("Milliseconds per step of ordinary prompts."), QStringLiteral("ms"),
         QStringLiteral("20")},
        {QStringLiteral("node-ms"), QStringLiteral("Milliseconds per other node."), QStringLiteral("ms"),
         QStringLiteral("0")},
        {QStringLiteral("preview-size"), QStringLiteral("Preview long edge of ordinary prompts."), QStringLiteral("px"),
         QStringLiteral("512")},
    });
    parser.process(app);

    cr::sim::FakeComfyOptions options;
    options.steps = parser.value(QStringLiteral("steps")).toInt();
    options.stepIntervalMs = parser.value(QStringLiteral("step-ms")).toInt();
    options.nodeDelayMs = parser.value(QStringLiteral("node-ms")).toInt();
    options.previewSize = qBound(8, parser.value(QStringLiteral("preview-size")).toInt(), 4096);
    cr::sim::FakeComfy comfy(options);
    if (!comfy.listen(QHostAddress::LocalHost, quint16(parser.value(QStringLiteral("port")).toUInt()))) {
        std::fprintf(stderr, "bench-relay-sim: cannot listen\n");
        return 1;
    }
    // ComfyUI's server (aiohttp) sets TCP_NODELAY on every connection; the fake does not, and a QWebSocket does
    // not expose its socket. Without it, Nagle's algorithm holds a frame written while an earlier one is not yet
    // acknowledged until the peer's delayed ACK (up to 40 ms): the simulator's delay, not the relay's. So every
    // TCP socket of this process gets TCP_NODELAY as soon as a WebSocket connects.
    QObject::connect(&comfy, &cr::sim::FakeComfy::webSocketConnected, &comfy,
                     [] { qCDebug(lcBenchSim) << "TCP_NODELAY set on" << setNoDelayOnAllTcpSockets() << "socket(s)"; });
    cr::bench::BurstEmitter emitter(&comfy);
    QObject::connect(&emitter, &cr::bench::BurstEmitter::finished, &app,
                     [](quint32 burst, quint32 steps, qint64 elapsedUs, qint64 bytes) {
                         std::printf("done %u %u %lld %lld\n", burst, steps, static_cast<long long>(elapsedUs),
                                     static_cast<long long>(bytes));
                         std::fflush(stdout);
                     });

    QByteArray input;
    QSocketNotifier stdinNotifier(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinNotifier, &QSocketNotifier::activated, &app, [&] {
        char buffer[4096];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0) { // the benchmark is gone
            stdinNotifier.setEnabled(false);
            QCoreApplication::quit();
            return;
        }
        input.append(buffer, n);
        qsizetype nl;
        while ((nl = input.indexOf('\n')) >= 0) {
            const QList<QByteArray> words = input.left(nl).simplified().split(' ');
            input.remove(0, nl + 1);
            if (words.value(0) == "quit") {
                QCoreApplication::quit();
            } else if (words.value(0) == "sockets") {
                std::printf("sockets %d\n", emitter.openSockets());
                std::fflush(stdout);
            } else if (words.value(0) == "burst" && words.size() == 5) {
                const int px = qBound(8, words.at(4).toInt(), 4096);
                if (!emitter.start(words.at(1).toUInt(), words.at(2).toUInt(), words.at(3).toLongLong(), px))
                    qCWarning(lcBenchSim) << "burst refused (one is running, or zero steps):" << words;
            } else if (!words.value(0).isEmpty()) {
                qCWarning(lcBenchSim) << "unknown command" << words;
            }
        }
    });

    std::printf("bench-relay-sim listening on %s\n", qPrintable(comfy.httpUrl().toString()));
    std::fflush(stdout);
    const int rc = QCoreApplication::exec();
    comfy.close();
    return rc;
}
