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
    void networkWithoutTokenRefused_data();
    void networkWithoutTokenRefused();
    void networkAllowedOnPurposeLogsRealAddress();
    void stopsCleanlyOnSignal_data();
    void stopsCleanlyOnSignal();

private:
    struct Result {
        int code;
        QString out;
        QString err;
    };
    Result run(const QStringList &args, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment());
};

TstApp::Result TstApp::run(const QStringList &args, const QProcessEnvironment &env)
{
    QProcess p;
    p.setProcessEnvironment(env);
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
    QVERIFY2(
        r.err.contains(f.fileName() + QStringLiteral(":2:8: error: [comfy] port: expected an integer, got a string")),
        qPrintable(r.err));
    QVERIFY(r.err.contains(f.fileName() + QStringLiteral(":3:1: warning: unknown key \"noise\" in [comfy]")));
}

void TstApp::missingConfigFile()
{
    const Result r = run({QStringLiteral("--config"), QStringLiteral("/nonexistent.toml")});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err.trimmed(),
             QStringLiteral("error: cannot read the configuration file /nonexistent.toml: it does not exist"));
}

void TstApp::badCommandLine()
{
    const Result r = run({QStringLiteral("--http-port"), QStringLiteral("x")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains(QStringLiteral("--http-port")));
}

void TstApp::networkWithoutTokenRefused_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("named");
    QTest::newRow("--http-host 0.0.0.0") << QStringList{QStringLiteral("--http-host"), QStringLiteral("0.0.0.0")}
                                         << QStringLiteral("the REST API ([http-server] host) on \"0.0.0.0\"");
    QTest::newRow("--relay-host ::") << QStringList{QStringLiteral("--relay-host"), QStringLiteral("::")}
                                     << QStringLiteral("the event relay ([server] host) on \"::\"");
    QTest::newRow("--relay-host empty") << QStringList{QStringLiteral("--relay-host="),
                                                       QStringLiteral("--check-config")}
                                        << QStringLiteral("the event relay ([server] host) on \"\"");
}

// A listener on the network without a token does not start (exit 2, saying how to fix it); a token lets it.
void TstApp::networkWithoutTokenRefused()
{
    QFETCH(QStringList, args);
    QFETCH(QString, named);
    QTemporaryDir data;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("COMFY_RUNNER_TOKEN"));
    const QStringList common{QStringLiteral("config_example.toml"),
                             QStringLiteral("--http-port"),
                             QStringLiteral("0"),
                             QStringLiteral("--relay-port"),
                             QStringLiteral("0"),
                             QStringLiteral("--data-dir"),
                             data.path()};
    const Result r = run(common + args, env);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(QStringLiteral("comfy-runner: refusing to start: ") + named), qPrintable(r.err));
    QVERIFY2(r.err.contains(QStringLiteral("allow_unauthenticated_network = true")), qPrintable(r.err));
    QVERIFY(!r.err.contains(QStringLiteral("listening")));

    env.insert(QStringLiteral("COMFY_RUNNER_TOKEN"), QStringLiteral("t0ken"));
    const Result withToken = run(common + args + QStringList{QStringLiteral("--check-config")}, env);
    QCOMPARE(withToken.code, 0);
}

// allow_unauthenticated_network starts on every interface, and the log names the address really bound.
void TstApp::networkAllowedOnPurposeLogsRealAddress()
{
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("open.toml")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[http-server]\nhost = \"0.0.0.0\"\nport = 0\n[server]\nhost = \"*\"\nws_port = 0\n"
            "[comfy]\nurl = \"http://127.0.0.1:1\"\n[auth]\nallow_unauthenticated_network = true\n");
    f.close();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("COMFY_RUNNER_TOKEN"));
    QProcess p;
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(QStringLiteral(CR_SOURCE_DIR));
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QStringLiteral(CR_RUNNER_EXE),
            {f.fileName(), QStringLiteral("--data-dir"), dir.filePath(QStringLiteral("data"))});
    QVERIFY(p.waitForStarted());
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += p.readAll()).contains("comfyrunner.service: ready"), 15000);
    ::kill(pid_t(p.processId()), SIGTERM);
    QVERIFY(p.waitForFinished(15000));
    QCOMPARE(p.exitCode(), 0);
    QVERIFY2(log.contains("relay listening on ws://[::]:"), log.constData());
    QVERIFY2(log.contains("REST API listening on http://0.0.0.0:"), log.constData());
    QVERIFY2(log.contains("event relay on ws://[::]:"), log.constData());
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
    p.start(QStringLiteral(CR_RUNNER_EXE),
            {QStringLiteral("config_example.toml"), QStringLiteral("--http-port"), QStringLiteral("0"),
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
