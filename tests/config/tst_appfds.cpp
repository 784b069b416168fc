// The comfy-runner executable out of file descriptors: run under a low RLIMIT_NOFILE (soft = hard, set in the
// child before exec), flooded with more HTTP and relay connections than it has descriptors. It must not spin
// (its CPU time, read from /proc/PID/stat, stays well below the time flooded) and, once the flood is gone,
// both listeners accept again by themselves.

#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QtTest>

#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace {

// utime + stime of a process, in milliseconds.
qint64 cpuMs(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray stat = f.readAll();
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    const qint64 ticks = fields.at(11).toLongLong() + fields.at(12).toLongLong();
    return ticks * 1000 / sysconf(_SC_CLK_TCK);
}

} // namespace

class TstAppFds : public QObject
{
    Q_OBJECT

private slots:
    void survivesDescriptorExhaustion();
};

void TstAppFds::survivesDescriptorExhaustion()
{
    QTemporaryDir dir;
    QFile cfg(dir.filePath(QStringLiteral("config.toml")));
    QVERIFY(cfg.open(QIODevice::WriteOnly));
    cfg.write(QStringLiteral("[comfy]\nurl = \"http://127.0.0.1:9\"\nreconnect_max = 1\n"
                             "[http-server]\nport = 0\nmax_connections = 4096\n"
                             "[server]\nws_port = 0\nmax_clients = 4096\n"
                             "[paths]\nworkflows = \"%1/workflows\"\ndata = \"%2\"\n")
                  .arg(QStringLiteral(CR_SOURCE_DIR), dir.filePath(QStringLiteral("data")))
                  .toUtf8());
    cfg.close();

    QProcess runner;
    runner.setChildProcessModifier([] {
        const rlimit low{96, 96}; // soft = hard: raising the soft limit at start cannot help here
        setrlimit(RLIMIT_NOFILE, &low);
    });
    QByteArray log;
    connect(&runner, &QProcess::readyReadStandardError, &runner, [&] { log += runner.readAllStandardError(); });
    runner.start(QStringLiteral(CR_RUNNER_EXE), {QStringLiteral("--config"), cfg.fileName()});
    QVERIFY(runner.waitForStarted());
    const QRegularExpression ports(QStringLiteral("REST API on http://[^:]+:(\\d+), event relay on ws://[^:]+:(\\d+)"));
    QRegularExpressionMatch m;
    QVERIFY2(QTest::qWaitFor([&] { return (m = ports.match(QString::fromUtf8(log))).hasMatch(); }, 10'000),
             log.constData());
    const quint16 httpPort = quint16(m.captured(1).toUInt());
    const quint16 relayPort = quint16(m.captured(2).toUInt());

    // The flood: more connections than the runner has descriptors, on both listeners.
    std::vector<std::unique_ptr<QTcpSocket>> flood;
    for (int i = 0; i < 200; ++i) {
        flood.push_back(std::make_unique<QTcpSocket>());
        flood.back()->connectToHost(QHostAddress::LocalHost, i % 4 == 3 ? relayPort : httpPort);
    }
    // More are connected (accepted, or completed by the kernel's backlog) than the runner has descriptors.
    QVERIFY(QTest::qWaitFor(
        [&] {
            return std::count_if(flood.cbegin(), flood.cend(),
                                 [](const auto &s) { return s->state() == QAbstractSocket::ConnectedState; })
                >= 120;
        },
        10'000));
    // Measured window: while flooded, a runner that retries accept() in a loop burns a core.
    const qint64 cpuBefore = cpuMs(runner.processId());
    QElapsedTimer window;
    window.start();
    (void)QTest::qWaitFor([&] { return window.elapsed() >= 2000; }, 3000);
    const qint64 flooded = window.elapsed();
    const qint64 cpuFlooded = cpuMs(runner.processId()) - cpuBefore;
    QVERIFY(cpuBefore >= 0);
    QVERIFY2(cpuFlooded < flooded / 4,
             qPrintable(QStringLiteral("%1 ms of CPU in %2 ms flooded\n").arg(cpuFlooded).arg(flooded)
                        + QString::fromUtf8(log.right(2000))));

    flood.clear(); // released
    // Both listeners accept again by themselves.
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                     QTcpSocket s;
                     QByteArray answer;
                     connect(&s, &QIODevice::readyRead, &s, [&] { answer += s.readAll(); });
                     s.connectToHost(QHostAddress::LocalHost, httpPort);
                     s.write("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
                     return QTest::qWaitFor([&] { return answer.contains("\r\n\r\n"); }, 1000)
                         && answer.startsWith("HTTP/1.1 200 ");
                 },
                 15'000),
             log.right(2000).constData());
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                     QWebSocket ws;
                     ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(relayPort)));
                     return QTest::qWaitFor([&] { return ws.state() == QAbstractSocket::ConnectedState; }, 1000);
                 },
                 15'000),
             log.right(2000).constData());

    runner.terminate();
    QVERIFY(runner.waitForFinished(10'000));
    QCOMPARE(runner.exitCode(), 0);
}

QTEST_GUILESS_MAIN(TstAppFds)
#include "tst_appfds.moc"
