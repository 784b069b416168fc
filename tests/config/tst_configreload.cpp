// What a reload (SIGHUP) reads and what it may change: [log] rules (their syntax checked at file:line),
// loadEffectiveConfig (the file, then the command line, then COMFY_RUNNER_TOKEN, then the network rule: the
// same at start and on reload), and keepRestartOnlyValues (the keys a running service holds fixed).

#include "core/config/configloader.h"
#include "core/config/effectiveconfig.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

class TstConfigReload : public QObject
{
    Q_OBJECT

private slots:
    void logRules_data();
    void logRules();
    void badLogRules_data();
    void badLogRules();
    void effectiveConfigAppliesOverridesAndToken();
    void effectiveConfigRefusesAnOpenNetwork();
    void effectiveConfigReportsFileErrors();
    void restartOnlyKeysKeepTheirRunningValue();
    void liveKeysAreNotNamed();

private:
    QString writeFile(const QByteArray &toml)
    {
        const QString path = m_dir.filePath(QStringLiteral("config.toml"));
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return {};
        f.write(toml);
        return path;
    }
    static CommandLine commandLine(const QStringList &args)
    {
        return CommandLine::parse(QStringList{QStringLiteral("comfy-runner")} + args);
    }
    QTemporaryDir m_dir;
};

void TstConfigReload::logRules_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QString>("stored");
    QTest::newRow("empty") << QByteArray("") << QString();
    QTest::newRow("one") << QByteArray("comfyrunner.api.debug=true") << QStringLiteral("comfyrunner.api.debug=true");
    QTest::newRow("semicolons, spaces") << QByteArray(" comfyrunner.api.debug = true ;; comfyrunner.relay.info=false ")
                                        << QStringLiteral("comfyrunner.api.debug = true\ncomfyrunner.relay.info=false");
    QTest::newRow("wildcards") << QByteArray("comfyrunner.*.debug=true;*.warning=true;*=false")
                               << QStringLiteral("comfyrunner.*.debug=true\n*.warning=true\n*=false");
}

void TstConfigReload::logRules()
{
    QFETCH(QByteArray, value);
    QFETCH(QString, stored);
    const ConfigResult r
        = ConfigLoader::loadString("[log]\nrules = \"" + value + "\"\n", QStringLiteral("t.toml"), QDir::tempPath());
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QVERIFY(r.warnings.isEmpty());
    QCOMPARE(r.config->log.rules, stored);
    // The printed configuration loads back to the same rules.
    const ConfigResult again
        = ConfigLoader::loadString(r.config->toToml().toUtf8(), QStringLiteral("p.toml"), QDir::tempPath());
    QVERIFY2(again.ok(), qPrintable(again.errors.value(0).toString()));
    QCOMPARE(again.config->log.rules, stored);
}

void TstConfigReload::badLogRules_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<QString>("message");
    QTest::newRow("no value") << QByteArray("[log]\nrules = \"comfyrunner.api.debug\"\n")
                              << QStringLiteral("[log] rules: \"comfyrunner.api.debug\" is not a logging rule");
    QTest::newRow("not a boolean") << QByteArray("[log]\nrules = \"comfyrunner.api.debug=yes\"\n")
                                   << QStringLiteral(
                                          "[log] rules: \"comfyrunner.api.debug=yes\" is not a logging rule");
    QTest::newRow("no category") << QByteArray("[log]\nrules = \"=true\"\n")
                                 << QStringLiteral("[log] rules: \"=true\" is not a logging rule");
    QTest::newRow("inner wildcard") << QByteArray("[log]\nrules = \"comfy*runner=true\"\n")
                                    << QStringLiteral("[log] rules: \"comfy*runner=true\" is not a logging rule");
    QTest::newRow("the second of two") << QByteArray("[log]\nrules = \"a.debug=true;b c=false\"\n")
                                       << QStringLiteral("[log] rules: \"b c=false\" is not a logging rule");
    QTest::newRow("not a string") << QByteArray("[log]\nrules = 3\n")
                                  << QStringLiteral("[log] rules: expected a string, got an integer");
}

void TstConfigReload::badLogRules()
{
    QFETCH(QByteArray, toml);
    QFETCH(QString, message);
    const ConfigResult r = ConfigLoader::loadString(toml, QStringLiteral("bad.toml"), QDir::tempPath());
    QVERIFY(!r.ok());
    QVERIFY2(r.errors.first().message.startsWith(message), qPrintable(r.errors.first().message));
    QVERIFY2(r.errors.first().toString().startsWith(QStringLiteral("bad.toml:2:9: error: ")),
             qPrintable(r.errors.first().toString()));
}

void TstConfigReload::effectiveConfigAppliesOverridesAndToken()
{
    const QString file = writeFile("[http-server]\nport = 9100\n[auth]\ntoken = \"from-file\"\n");
    qunsetenv("COMFY_RUNNER_TOKEN");
    EffectiveConfig e = loadEffectiveConfig(file, commandLine({QStringLiteral("--http-port"), QStringLiteral("9200")}));
    QVERIFY2(e.ok(), qPrintable(e.failure()));
    QCOMPARE(e.config->http.port, quint16(9200)); // the command line wins over the file, on every reload too
    QCOMPARE(e.config->authToken, QStringLiteral("from-file"));
    qputenv("COMFY_RUNNER_TOKEN", "from-env");
    e = loadEffectiveConfig(file, commandLine({}));
    qunsetenv("COMFY_RUNNER_TOKEN");
    QVERIFY(e.ok());
    QCOMPARE(e.config->authToken, QStringLiteral("from-env"));
    QCOMPARE(e.config->http.port, quint16(9100));
}

void TstConfigReload::effectiveConfigRefusesAnOpenNetwork()
{
    qunsetenv("COMFY_RUNNER_TOKEN");
    const QString file = writeFile("[http-server]\nhost = \"0.0.0.0\"\n");
    const EffectiveConfig e = loadEffectiveConfig(file, commandLine({}));
    QVERIFY(!e.ok());
    QVERIFY(e.errors.isEmpty());
    QCOMPARE(e.problems.size(), 1);
    QVERIFY2(e.failure().contains(QStringLiteral("without a token")), qPrintable(e.failure()));
    // A bad override is a problem too, and the file is not looked at further.
    const EffectiveConfig bad
        = loadEffectiveConfig(file, commandLine({QStringLiteral("--comfy-url"), QStringLiteral("ftp://x")}));
    QVERIFY(!bad.ok());
    QVERIFY2(bad.failure().startsWith(QStringLiteral("--comfy-url:")), qPrintable(bad.failure()));
}

void TstConfigReload::effectiveConfigReportsFileErrors()
{
    const QString file = writeFile("[comfy]\nport = \"x\"\n[nonsense]\n");
    const EffectiveConfig e = loadEffectiveConfig(file, commandLine({}));
    QVERIFY(!e.ok());
    QCOMPARE(e.errors.size(), 1);
    QVERIFY2(e.errors.first().startsWith(file + QStringLiteral(":2:8: error: [comfy] port")),
             qPrintable(e.errors.first()));
    QCOMPARE(e.warnings.size(), 1);
    QVERIFY(e.problems.isEmpty());
    QCOMPARE(e.failure(), e.errors.first());
    // No file: the built-in defaults.
    const EffectiveConfig defaults = loadEffectiveConfig(QString(), commandLine({}));
    QVERIFY(defaults.ok());
    QCOMPARE(defaults.config->http.port, quint16(8189));
}

void TstConfigReload::restartOnlyKeysKeepTheirRunningValue()
{
    const Config running = ConfigLoader::defaults(QDir::tempPath());
    Config loaded = running;
    loaded.http.port = 9999;
    loaded.comfy.url = QUrl(QStringLiteral("http://gpu:8188"));
    loaded.relay.host = QStringLiteral("0.0.0.0");
    loaded.paths.dataDir = QStringLiteral("/elsewhere");
    loaded.authToken = QStringLiteral("new"); // live: stays
    const QStringList kept = keepRestartOnlyValues(loaded, running);
    QCOMPARE(kept,
             QStringList({QStringLiteral("comfy.url"), QStringLiteral("http-server.port"),
                          QStringLiteral("server.host"), QStringLiteral("paths.data")}));
    QCOMPARE(loaded.http.port, running.http.port);
    QCOMPARE(loaded.comfy.url, running.comfy.url);
    QCOMPARE(loaded.relay.host, running.relay.host);
    QCOMPARE(loaded.paths.dataDir, running.paths.dataDir);
    QCOMPARE(loaded.authToken, QStringLiteral("new"));
    QVERIFY(keepRestartOnlyValues(loaded, running).isEmpty()); // nothing left to name
}

void TstConfigReload::liveKeysAreNotNamed()
{
    const Config running = ConfigLoader::defaults(QDir::tempPath());
    Config loaded = running;
    loaded.comfy.workflow = QStringLiteral("other");
    loaded.comfy.maxJobTimeMs = 5000;
    loaded.http.waitTimeoutMs = 1000;
    loaded.http.maxBodyBytes = 1024 * 1024;
    loaded.http.maxConnections = 3;
    loaded.http.nodeRedUrl = QUrl(QStringLiteral("http://nr:1880/x"));
    loaded.relay.maxClients = 2;
    loaded.relay.softLimitBytes = 64 * 1024;
    loaded.jobs.keep = 5;
    loaded.nodeMappings.global.insert(QStringLiteral("prompt"), QStringLiteral("7"));
    loaded.log.rules = QStringLiteral("comfyrunner.api.debug=true");
    loaded.authToken = QStringLiteral("t");
    const Config before = loaded;
    QVERIFY(keepRestartOnlyValues(loaded, running).isEmpty());
    QCOMPARE(loaded.toToml(), before.toToml());
}

QTEST_GUILESS_MAIN(TstConfigReload)
#include "tst_configreload.moc"
