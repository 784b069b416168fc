// comfy-runner under systemd, as the packaged unit runs it (Type=notify, WatchdogSec=): the real executable
// with NOTIFY_SOCKET pointing at a datagram socket of this test. READY=1 comes once both listeners accept,
// STATUS= says how the service is, WATCHDOG=1 keeps coming from the event loop, STOPPING=1 at SIGTERM. And
// when stderr is the journal stream (JOURNAL_STREAM), every log line carries its syslog priority.

#include "core/service/logsink.h"

#include <QProcess>
#include <QRegularExpression>
#include <QSocketNotifier>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// The receiving end of sd_notify: a Unix datagram socket; every datagram is one notification.
class NotifySocket
{
public:
    explicit NotifySocket(const QString &path) : m_path(path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const QByteArray p = path.toLocal8Bit();
        if (m_fd < 0 || size_t(p.size()) >= sizeof(addr.sun_path))
            return;
        memcpy(addr.sun_path, p.constData(), size_t(p.size()));
        if (::bind(m_fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
            return;
        m_notifier = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
        QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(), [this] {
            char buf[4096];
            ssize_t n;
            while ((n = ::recv(m_fd, buf, sizeof(buf), 0)) > 0)
                messages.append(QByteArray(buf, int(n)));
        });
    }
    ~NotifySocket()
    {
        m_notifier.reset();
        if (m_fd >= 0)
            ::close(m_fd);
    }
    bool ok() const { return m_notifier != nullptr; }
    int count(const QByteArray &line) const
    {
        int n = 0;
        for (const QByteArray &m : messages)
            n += m.split('\n').count(line);
        return n;
    }
    QList<QByteArray> messages;

private:
    QString m_path;
    int m_fd = -1;
    std::unique_ptr<QSocketNotifier> m_notifier;
};

QStringList runnerArgs(const QTemporaryDir &dir)
{
    return {QStringLiteral(CR_SOURCE_DIR "/config_example.toml"), QStringLiteral("--http-port"), QStringLiteral("0"),
            QStringLiteral("--relay-port"), QStringLiteral("0"), QStringLiteral("--data-dir"),
            dir.filePath(QStringLiteral("data")), QStringLiteral("--workflows-dir"),
            QStringLiteral(CR_SOURCE_DIR "/workflows"),
            // Nothing listens there: the service is ready without ComfyUI (it reconnects in the background).
            QStringLiteral("--comfy-url"), QStringLiteral("http://127.0.0.1:9")};
}

} // namespace

class TstSystemd : public QObject
{
    Q_OBJECT

private slots:
    void notifiesReadyStatusWatchdogAndStopping();
    void reloadSaysReloadingThenReady();
    void journalLinesCarryPriorities();
    void plainLinesElsewhere();
    void priorities();
};

void TstSystemd::notifiesReadyStatusWatchdogAndStopping()
{
    QTemporaryDir dir;
    NotifySocket sock(dir.filePath(QStringLiteral("notify")));
    QVERIFY(sock.ok());
    QProcess runner;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("NOTIFY_SOCKET"), dir.filePath(QStringLiteral("notify")));
    env.insert(QStringLiteral("WATCHDOG_USEC"), QStringLiteral("200000"));
    env.remove(QStringLiteral("WATCHDOG_PID"));
    env.remove(QStringLiteral("JOURNAL_STREAM"));
    runner.setProcessEnvironment(env);
    runner.setProcessChannelMode(QProcess::SeparateChannels);
    runner.start(QStringLiteral(CR_RUNNER_EXE), runnerArgs(dir));
    QVERIFY(runner.waitForStarted());

    QTRY_VERIFY_WITH_TIMEOUT(sock.count("READY=1") == 1, 15000);
    // Both listeners accept once READY=1 is out (the log named their ports before).
    const QString log = QString::fromUtf8(runner.readAllStandardError());
    const QRegularExpressionMatch m
        = QRegularExpression(QStringLiteral("REST API on http://[^:]+:(\\d+), event relay on ws://[^:]+:(\\d+)"))
              .match(log);
    QVERIFY2(m.hasMatch(), qPrintable(log));
    for (int i = 1; i <= 2; ++i) {
        QTcpSocket probe;
        probe.connectToHost(QStringLiteral("127.0.0.1"), quint16(m.captured(i).toUInt()));
        QVERIFY(probe.waitForConnected(5000));
    }
    const QByteArray first = sock.messages.constFirst();
    QVERIFY2(first.contains("STATUS=ComfyUI "), first.constData());
    QVERIFY(first.contains("relay client"));
    // The watchdog is pinged at half its interval, from the event loop.
    QTRY_VERIFY_WITH_TIMEOUT(sock.count("WATCHDOG=1") >= 3, 5000);
    QCOMPARE(sock.count("STOPPING=1"), 0);

    ::kill(pid_t(runner.processId()), SIGTERM);
    QVERIFY(runner.waitForFinished(10000));
    QCOMPARE(runner.exitStatus(), QProcess::NormalExit);
    QCOMPARE(runner.exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(sock.count("STOPPING=1"), 1, 5000);
}

// SIGHUP (systemctl reload, ExecReload=): RELOADING=1 with MONOTONIC_USEC, then READY=1 with the outcome.
void TstSystemd::reloadSaysReloadingThenReady()
{
    QTemporaryDir dir;
    NotifySocket sock(dir.filePath(QStringLiteral("notify")));
    QVERIFY(sock.ok());
    QProcess runner;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("NOTIFY_SOCKET"), dir.filePath(QStringLiteral("notify")));
    env.remove(QStringLiteral("WATCHDOG_USEC"));
    env.remove(QStringLiteral("JOURNAL_STREAM"));
    runner.setProcessEnvironment(env);
    runner.start(QStringLiteral(CR_RUNNER_EXE), runnerArgs(dir));
    QVERIFY(runner.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(sock.count("READY=1") == 1, 15000);
    QCOMPARE(sock.count("RELOADING=1"), 0);

    ::kill(pid_t(runner.processId()), SIGHUP);
    QTRY_VERIFY_WITH_TIMEOUT(sock.count("READY=1") == 2, 10000);
    qsizetype reloading = -1, ready = -1;
    for (qsizetype i = 0; i < sock.messages.size(); ++i) {
        const QList<QByteArray> lines = sock.messages.at(i).split('\n');
        if (lines.contains("RELOADING=1")) {
            reloading = i;
            QVERIFY2(sock.messages.at(i).contains("MONOTONIC_USEC="), sock.messages.at(i).constData());
        }
        if (lines.contains("READY=1"))
            ready = i;
    }
    QVERIFY(reloading >= 0);
    QVERIFY(ready > reloading);
    QVERIFY2(sock.messages.at(ready).contains("STATUS=configuration reloaded"), sock.messages.at(ready).constData());

    ::kill(pid_t(runner.processId()), SIGTERM);
    QVERIFY(runner.waitForFinished(10000));
    QCOMPARE(runner.exitCode(), 0);
}

void TstSystemd::journalLinesCarryPriorities()
{
    QTemporaryDir dir;
    const QString errPath = dir.filePath(QStringLiteral("stderr"));
    QFile(errPath).open(QIODevice::WriteOnly);
    struct stat st { };
    QCOMPARE(::stat(errPath.toLocal8Bit().constData(), &st), 0);
    QProcess runner;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("JOURNAL_STREAM"),
               QStringLiteral("%1:%2").arg(qulonglong(st.st_dev)).arg(qulonglong(st.st_ino)));
    env.remove(QStringLiteral("NOTIFY_SOCKET"));
    runner.setProcessEnvironment(env);
    runner.setStandardErrorFile(errPath, QIODevice::Append);
    runner.start(QStringLiteral(CR_RUNNER_EXE), runnerArgs(dir));
    QVERIFY(runner.waitForStarted());
    auto text = [&errPath] {
        QFile f(errPath);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    };
    QTRY_VERIFY_WITH_TIMEOUT(text().contains("<6>comfyrunner.service: ready\n"), 15000);
    // ComfyUI is not there: a warning, at priority 4. No time stamps (the journal has its own).
    QTRY_VERIFY_WITH_TIMEOUT(text().contains("<4>comfyrunner."), 15000);
    for (const QByteArray &line : text().split('\n')) {
        if (!line.isEmpty())
            QVERIFY2(QRegularExpression(QStringLiteral("^<[2-7]>[a-z.]+: ")).match(QString::fromUtf8(line)).hasMatch(),
                     line.constData());
    }
    ::kill(pid_t(runner.processId()), SIGTERM);
    QVERIFY(runner.waitForFinished(10000));
    QCOMPARE(runner.exitCode(), 0);
}

void TstSystemd::plainLinesElsewhere()
{
    // JOURNAL_STREAM is inherited; when stderr is not that stream, lines keep their usual form.
    QTemporaryDir dir;
    QProcess runner;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("JOURNAL_STREAM"), QStringLiteral("1:1"));
    runner.setProcessEnvironment(env);
    runner.start(QStringLiteral(CR_RUNNER_EXE), runnerArgs(dir));
    QVERIFY(runner.waitForStarted());
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += runner.readAllStandardError()).contains("comfyrunner.service: ready"), 15000);
    QVERIFY(!log.contains("<6>"));
    QVERIFY(QRegularExpression(QStringLiteral("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} info  comfyrunner.service: ready"))
                .match(QString::fromUtf8(log))
                .hasMatch());
    ::kill(pid_t(runner.processId()), SIGTERM);
    QVERIFY(runner.waitForFinished(10000));
}

void TstSystemd::priorities()
{
    QCOMPARE(cr::syslogPriority(QtDebugMsg), 7);
    QCOMPARE(cr::syslogPriority(QtInfoMsg), 6);
    QCOMPARE(cr::syslogPriority(QtWarningMsg), 4);
    QCOMPARE(cr::syslogPriority(QtCriticalMsg), 3);
    QCOMPARE(cr::syslogPriority(QtFatalMsg), 2);
}

QTEST_GUILESS_MAIN(TstSystemd)
#include "tst_systemd.moc"
