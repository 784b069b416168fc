// The comfy-runner executable as a user runs it: exit codes, --check-config, --version, clean SIGTERM/SIGINT.

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

class TstApp : public QObject
{
    Q_OBJECT

private slots:
    void version();
    void checkConfigExample();
    void checkConfigBadFile();
    void missingConfigFile();
    void badCommandLine();
    void stopsCleanlyOnSignal_data();
    void stopsCleanlyOnSignal();

private:
    struct Result { int code; QString out; QString err; };
    Result run(const QStringList &args);
};

TstApp::Result TstApp::run(const QStringList &args)
{
    QProcess p;
    p.setWorkingDirectory(QStringLiteral(CR_SOURCE_DIR));
    p.start(QStringLiteral(CR_RUNNER_EXE), args);
    if (!p.waitForFinished(20000))
        return {-1, {}, QStringLiteral("did not finish")};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

void TstApp::version()
{
    const Result r = run({QStringLiteral("--version")});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.startsWith(QStringLiteral("comfy-runner ")));
}

void TstApp::checkConfigExample()
{
    const Result r = run({QStringLiteral("--check-config"), QStringLiteral("config_example.toml")});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
    QVERIFY(r.out.contains(QStringLiteral("[comfy]\nurl = \"http://127.0.0.1:8188\"")));
    QVERIFY(r.out.contains(QStringLiteral("[server]")));
    QVERIFY(r.out.contains(QStringLiteral("ws_port = 8190")));
}

void TstApp::checkConfigBadFile()
{
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("bad.toml")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[comfy]\nport = \"x\"\nnoise = 1\n");
    f.close();
    const Result r = run({QStringLiteral("--check-config"), f.fileName()});
    QCOMPARE(r.code, 2);
    QVERIFY(r.out.isEmpty());
    QVERIFY2(r.err.contains(f.fileName() + QStringLiteral(":2:8: error: [comfy] port: expected an integer, got a string")), qPrintable(r.err));
    QVERIFY(r.err.contains(f.fileName() + QStringLiteral(":3:1: warning: unknown key \"noise\" in [comfy]")));
}

void TstApp::missingConfigFile()
{
    const Result r = run({QStringLiteral("--config"), QStringLiteral("/nonexistent.toml")});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err.trimmed(), QStringLiteral("error: cannot read the configuration file /nonexistent.toml: it does not exist"));
}

void TstApp::badCommandLine()
{
    const Result r = run({QStringLiteral("--http-port"), QStringLiteral("x")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains(QStringLiteral("--http-port")));
}

void TstApp::stopsCleanlyOnSignal_data()
{
    QTest::addColumn<int>("signal");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TstApp::stopsCleanlyOnSignal()
{
    QFETCH(int, signal);
    QTemporaryDir data;
    QProcess p;
    p.setWorkingDirectory(QStringLiteral(CR_SOURCE_DIR));
    p.setProcessChannelMode(QProcess::MergedChannels);
    // Ports 0: nothing fixed; ComfyUI is not running, which the service must tolerate.
    p.start(QStringLiteral(CR_RUNNER_EXE), {QStringLiteral("config_example.toml"), QStringLiteral("--http-port"), QStringLiteral("0"),
                                            QStringLiteral("--relay-port"), QStringLiteral("0"), QStringLiteral("--comfy-url"),
                                            QStringLiteral("http://127.0.0.1:1"), QStringLiteral("--data-dir"), data.path()});
    QVERIFY(p.waitForStarted());
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += p.readAll()).contains("comfyrunner.service: ready"), 15000);
    QVERIFY(log.contains("[http-server]"));
    ::kill(pid_t(p.processId()), signal);
    QVERIFY(p.waitForFinished(15000));
    log += p.readAll();
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
    QVERIFY2(log.contains("shutting down"), log.constData());
}

QTEST_GUILESS_MAIN(TstApp)
#include "tst_app.moc"
