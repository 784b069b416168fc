// ConfigLoader and CommandLine: the Python project's file, every kind of bad input with its place, defaults,
// and command-line overrides.

#include "core/config/commandline.h"
#include "core/config/configloader.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

class TstConfig : public QObject
{
    Q_OBJECT

private slots:
    void pythonConfigLoadsUnchanged();
    void defaults();
    void fullConfig();
    void badInput_data();
    void badInput();
    void unknownKeysWarn();
    void missingFile();
    void unreadableFile();
    void urlWinsOverHostPort();
    void commandLineOverridesWin();
    void commandLineErrors_data();
    void commandLineErrors();
    void effectiveConfigHidesToken();
    void exampleConfigIsValid();
};

void TstConfig::pythonConfigLoadsUnchanged()
{
    const ConfigResult r = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/tests/config/data/python_config.toml"));
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QVERIFY(r.warnings.isEmpty());
    const Config &c = *r.config;
    QCOMPARE(c.comfy.url, QUrl(QStringLiteral("http://127.0.0.1:8188")));
    QCOMPARE(c.comfy.workflow, QStringLiteral("text_to_image"));
    QCOMPARE(c.http.port, quint16(8189));
    QCOMPARE(c.relay.port, quint16(8190));
    QCOMPARE(c.nodeMappings.global.value(QStringLiteral("save_image_node_id")), QStringLiteral("9"));
    QCOMPARE(c.nodeMappings.global.value(QStringLiteral("ollama_node")), QStringLiteral("220"));
    const auto m = c.nodeMappings.forWorkflow(QStringLiteral("text_to_image"));
    QCOMPARE(m.value(QStringLiteral("prompt")), QStringLiteral("6"));
    QCOMPARE(m.value(QStringLiteral("negative")), QStringLiteral("7.text"));
    QCOMPARE(m.value(QStringLiteral("seed")), QStringLiteral("3"));
    QCOMPARE(m.value(QStringLiteral("save_image_node_id")), QStringLiteral("9")); // global keys apply too
    QVERIFY(!c.nodeMappings.forWorkflow(QStringLiteral("other")).contains(QStringLiteral("prompt")));
}

void TstConfig::defaults()
{
    const ConfigResult r = ConfigLoader::loadString(QByteArray(), QStringLiteral("empty.toml"), QStringLiteral("/srv/cr"));
    QVERIFY(r.ok());
    const Config &c = *r.config;
    QCOMPARE(c.http.host, QStringLiteral("127.0.0.1"));
    QCOMPARE(c.relay.host, QStringLiteral("127.0.0.1"));
    QCOMPARE(c.http.port, quint16(8189));
    QCOMPARE(c.relay.port, quint16(8190));
    QCOMPARE(c.comfy.url, QUrl(QStringLiteral("http://127.0.0.1:8188")));
    QCOMPARE(c.comfy.previewMethod, QStringLiteral("auto"));
    QCOMPARE(c.paths.workflowsDir, QStringLiteral("/srv/cr/workflows"));
    QCOMPARE(c.paths.dataDir, QStringLiteral("/srv/cr/data"));
    QVERIFY(c.authToken.isEmpty());
}

void TstConfig::fullConfig()
{
    const QByteArray toml = R"(
[comfy]
url = "http://gpu-box:8288"
workflow = "workflows/portrait.json"
preview_method = "taesd"
request_timeout = 2.5
ping_interval = 1
ping_timeout = 3
[http-server]
host = "0.0.0.0"
port = 0
max_body_mb = 8
wait_timeout = 60
node_red_url = "http://nodered:1880/gen"
max_event_streams = 3
event_heartbeat = 2.5
max_connections = 7
[server]
host = "0.0.0.0"
ws_port = 9000
client_soft_limit_kb = 512
client_hard_limit_kb = 4096
[paths]
workflows = "wf"
data = "/var/lib/comfy-runner"
[auth]
token = "s3cret"
)";
    const ConfigResult r = ConfigLoader::loadString(toml, QStringLiteral("full.toml"), QStringLiteral("/etc/cr"));
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QVERIFY(r.warnings.isEmpty());
    const Config &c = *r.config;
    QCOMPARE(c.comfy.url, QUrl(QStringLiteral("http://gpu-box:8288")));
    QCOMPARE(c.comfy.workflow, QStringLiteral("portrait"));
    QCOMPARE(c.comfy.previewMethod, QStringLiteral("taesd"));
    QCOMPARE(c.comfy.requestTimeoutMs, 2500);
    QCOMPARE(c.comfy.pingIntervalMs, 1000);
    QCOMPARE(c.comfy.pingTimeoutMs, 3000);
    QCOMPARE(c.http.host, QStringLiteral("0.0.0.0"));
    QCOMPARE(c.http.port, quint16(0));
    QCOMPARE(c.http.maxBodyBytes, 8ll * 1024 * 1024);
    QCOMPARE(c.http.waitTimeoutMs, 60000);
    QCOMPARE(c.http.nodeRedUrl, QUrl(QStringLiteral("http://nodered:1880/gen")));
    QCOMPARE(c.http.maxEventStreams, 3);
    QCOMPARE(c.http.eventHeartbeatMs, 2500);
    QCOMPARE(c.http.maxConnections, 7);
    QCOMPARE(c.relay.port, quint16(9000));
    QCOMPARE(c.relay.softLimitBytes, 512ll * 1024);
    QCOMPARE(c.relay.hardLimitBytes, 4096ll * 1024);
    QCOMPARE(c.paths.workflowsDir, QStringLiteral("/etc/cr/wf"));
    QCOMPARE(c.paths.dataDir, QStringLiteral("/var/lib/comfy-runner"));
    QCOMPARE(c.authToken, QStringLiteral("s3cret"));
}

void TstConfig::badInput_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message");

    QTest::newRow("port is a string") << QByteArray("[comfy]\nport = \"8188\"\n") << 2 << 8
                                      << QStringLiteral("[comfy] port: expected an integer, got a string");
    QTest::newRow("port too large") << QByteArray("[http-server]\n\nport = 70000\n") << 3 << 8
                                    << QStringLiteral("[http-server] port: 70000 is out of range (0 to 65535)");
    QTest::newRow("negative port") << QByteArray("[server]\nws_port = -1\n") << 2 << 11
                                   << QStringLiteral("[server] ws_port: -1 is out of range (0 to 65535)");
    QTest::newRow("host is a number") << QByteArray("[comfy]\nhost = 127\n") << 2 << 8
                                      << QStringLiteral("[comfy] host: expected a string, got an integer");
    QTest::newRow("section is a value") << QByteArray("comfy = 3\n") << 1 << 9
                                        << QStringLiteral("[comfy]: expected a table, got an integer");
    QTest::newRow("bad preview method") << QByteArray("[comfy]\npreview_method = \"fast\"\n") << 2 << 18
                                        << QStringLiteral("[comfy] preview_method: \"fast\" is not one of none, auto, latent2rgb, taesd, default");
    QTest::newRow("timeout wrong type") << QByteArray("[comfy]\nrequest_timeout = \"30s\"\n") << 2 << 19
                                        << QStringLiteral("[comfy] request_timeout: expected a number of seconds, got a string");
    QTest::newRow("timeout zero") << QByteArray("[comfy]\nrequest_timeout = 0\n") << 2 << 19
                                  << QStringLiteral("[comfy] request_timeout: 0 s is out of range (0.1 to 3600 s)");
    QTest::newRow("no event streams") << QByteArray("[http-server]\nmax_event_streams = 0\n") << 2 << 21
                                      << QStringLiteral("[http-server] max_event_streams: 0 is out of range (1 to 4096)");
    QTest::newRow("no connections") << QByteArray("[http-server]\nmax_connections = 0\n") << 2 << 19
                                    << QStringLiteral("[http-server] max_connections: 0 is out of range (1 to 65536)");
    QTest::newRow("heartbeat too long") << QByteArray("[http-server]\nevent_heartbeat = 7200\n") << 2 << 19
                                        << QStringLiteral("[http-server] event_heartbeat: 7200 s is out of range (1 to 3600 s)");
    QTest::newRow("bad url") << QByteArray("[comfy]\nurl = \"ftp://x\"\n") << 2 << 7
                             << QStringLiteral("[comfy] url: \"ftp://x\" is not a valid http/https URL");
    QTest::newRow("mapping is a bool") << QByteArray("[node_mappings]\nprompt = true\n") << 2 << 10
                                       << QStringLiteral("[node_mappings] prompt: expected a node id (\"6\", 6 or \"6.text\"), got a boolean");
    QTest::newRow("duplicate key") << QByteArray("[comfy]\nport = 1\nport = 2\n") << 3 << 8
                                   << QStringLiteral("invalid TOML: Error while parsing key-value pair: cannot redefine existing integer 'port'");
    QTest::newRow("invalid toml") << QByteArray("[comfy\nport = 1\n") << 1 << 7
                                  << QStringLiteral("invalid TOML:");
    QTest::newRow("ping timeout not above interval") << QByteArray("[comfy]\nping_interval = 5\nping_timeout = 2\n") << 3 << 16
                                                     << QStringLiteral("[comfy] ping_timeout (2 s) must be longer than ping_interval (5 s)");
    QTest::newRow("empty data path") << QByteArray("[paths]\ndata = \"\"\n") << 2 << 8
                                     << QStringLiteral("[paths] data: must not be empty");
}

void TstConfig::badInput()
{
    QFETCH(QByteArray, toml);
    QFETCH(int, line);
    QFETCH(int, column);
    QFETCH(QString, message);
    const ConfigResult r = ConfigLoader::loadString(toml, QStringLiteral("bad.toml"), QDir::tempPath());
    QVERIFY(!r.ok());
    QVERIFY(!r.config);
    const ConfigDiagnostic &e = r.errors.first();
    QCOMPARE(e.file, QStringLiteral("bad.toml"));
    QVERIFY2(e.message.startsWith(message), qPrintable(e.message));
    QCOMPARE(e.line, line);
    if (column > 0)
        QCOMPARE(e.column, column);
    QVERIFY(e.toString().startsWith(QStringLiteral("bad.toml:%1:%2: error: ").arg(line).arg(e.column)));
}

void TstConfig::unknownKeysWarn()
{
    const ConfigResult r = ConfigLoader::loadString("[comfy]\nport = 8188\ncolour = \"red\"\n[extra]\na = 1\n",
                                                    QStringLiteral("w.toml"), QDir::tempPath());
    QVERIFY(r.ok());
    QCOMPARE(r.warnings.size(), 2);
    QCOMPARE(r.warnings[0].toString(), QStringLiteral("w.toml:3:1: warning: unknown key \"colour\" in [comfy] (ignored)"));
    QCOMPARE(r.warnings[1].line, 4);
    QVERIFY(r.warnings[1].message.contains(QStringLiteral("unknown section \"extra\"")));
}

void TstConfig::missingFile()
{
    const ConfigResult r = ConfigLoader::loadFile(QStringLiteral("/nonexistent/cr.toml"));
    QVERIFY(!r.ok());
    QCOMPARE(r.errors.size(), 1);
    QCOMPARE(r.errors[0].toString(),
             QStringLiteral("error: cannot read the configuration file /nonexistent/cr.toml: it does not exist"));
}

void TstConfig::unreadableFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // A folder where a file is expected is unreadable for every user, root included.
    const ConfigResult r = ConfigLoader::loadFile(dir.path());
    QVERIFY(!r.ok());
    QVERIFY(r.errors[0].message.endsWith(QStringLiteral("it is a folder")));
}

void TstConfig::urlWinsOverHostPort()
{
    const ConfigResult r = ConfigLoader::loadString("[comfy]\nhost = \"a\"\nurl = \"https://b:9\"\n",
                                                    QStringLiteral("u.toml"), QDir::tempPath());
    QVERIFY(r.ok());
    QCOMPARE(r.config->comfy.url, QUrl(QStringLiteral("https://b:9")));
    QCOMPARE(r.warnings.size(), 1);
    QVERIFY(r.warnings[0].message.contains(QStringLiteral("host and port are ignored")));
}

void TstConfig::commandLineOverridesWin()
{
    ConfigResult r = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/tests/config/data/python_config.toml"));
    QVERIFY(r.ok());
    Config c = *r.config;
    const CommandLine cl = CommandLine::parse({QStringLiteral("comfy-runner"), QStringLiteral("--config"), QStringLiteral("x.toml"),
                                               QStringLiteral("--http-port"), QStringLiteral("0"), QStringLiteral("--relay-port=9100"),
                                               QStringLiteral("--http-host"), QStringLiteral("0.0.0.0"),
                                               QStringLiteral("--comfy-url"), QStringLiteral("http://10.0.0.5:8000"),
                                               QStringLiteral("--workflow"), QStringLiteral("portrait"),
                                               QStringLiteral("--preview-method"), QStringLiteral("none"),
                                               QStringLiteral("--data-dir"), QStringLiteral("/tmp/crdata")});
    QCOMPARE(cl.action, CommandLine::Action::Run);
    QCOMPARE(cl.configFile, QStringLiteral("x.toml"));
    QVERIFY(cl.applyTo(c).isEmpty());
    QCOMPARE(c.http.port, quint16(0));
    QCOMPARE(c.relay.port, quint16(9100));
    QCOMPARE(c.http.host, QStringLiteral("0.0.0.0"));
    QCOMPARE(c.comfy.url, QUrl(QStringLiteral("http://10.0.0.5:8000")));
    QCOMPARE(c.comfy.workflow, QStringLiteral("portrait"));
    QCOMPARE(c.comfy.previewMethod, QStringLiteral("none"));
    QCOMPARE(c.paths.dataDir, QStringLiteral("/tmp/crdata"));
    QCOMPARE(c.nodeMappings.global.value(QStringLiteral("ollama_node")), QStringLiteral("220")); // untouched

    const CommandLine check = CommandLine::parse({QStringLiteral("comfy-runner"), QStringLiteral("--check-config"), QStringLiteral("a.toml")});
    QCOMPARE(check.action, CommandLine::Action::CheckConfig);
    QCOMPARE(check.configFile, QStringLiteral("a.toml"));
}

void TstConfig::commandLineErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("error");
    QTest::newRow("bad port") << QStringList{QStringLiteral("--http-port"), QStringLiteral("http")}
                              << QStringLiteral("--http-port: \"http\" is not a port number (0 to 65535)");
    QTest::newRow("port too big") << QStringList{QStringLiteral("--relay-port"), QStringLiteral("65536")}
                                  << QStringLiteral("--relay-port: \"65536\" is not a port number (0 to 65535)");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--frobnicate")} << QStringLiteral("Unknown option 'frobnicate'.");
    QTest::newRow("two files") << QStringList{QStringLiteral("a.toml"), QStringLiteral("b.toml")}
                               << QStringLiteral("give one configuration file, either with --config or as an argument");
}

void TstConfig::commandLineErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    args.prepend(QStringLiteral("comfy-runner"));
    const CommandLine cl = CommandLine::parse(args);
    QCOMPARE(cl.action, CommandLine::Action::Error);
    QCOMPARE(cl.error, error);

    Config c;
    const CommandLine bad = CommandLine::parse({QStringLiteral("comfy-runner"), QStringLiteral("--comfy-url"), QStringLiteral("nonsense")});
    QCOMPARE(bad.applyTo(c), QStringList{QStringLiteral("--comfy-url: \"nonsense\" is not a valid http/https URL")});
}

void TstConfig::effectiveConfigHidesToken()
{
    const ConfigResult r = ConfigLoader::loadString("[auth]\ntoken = \"hunter2\"\n", QStringLiteral("t.toml"), QDir::tempPath());
    QVERIFY(r.ok());
    const QString text = r.config->toToml();
    QVERIFY(!text.contains(QStringLiteral("hunter2")));
    QVERIFY(text.contains(QStringLiteral("token = \"***\"")));
    // The printed configuration is itself valid TOML that loads to the same values.
    const ConfigResult again = ConfigLoader::loadString(text.toUtf8(), QStringLiteral("printed.toml"), QDir::tempPath());
    QVERIFY2(again.ok(), qPrintable(again.errors.value(0).toString()));
    QCOMPARE(again.config->http.port, r.config->http.port);
    QCOMPARE(again.config->comfy.url, r.config->comfy.url);
    QCOMPARE(again.config->paths.dataDir, r.config->paths.dataDir);
}

void TstConfig::exampleConfigIsValid()
{
    const ConfigResult r = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/config_example.toml"));
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QVERIFY2(r.warnings.isEmpty(), qPrintable(r.warnings.value(0).toString()));
    QCOMPARE(r.config->comfy.workflow, QStringLiteral("sd15_txt2img"));
}

QTEST_GUILESS_MAIN(TstConfig)
#include "tst_config.moc"
