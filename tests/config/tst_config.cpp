// ConfigLoader and CommandLine: the Python project's file, every kind of bad input with its place, defaults,
// and command-line overrides.

#include "core/config/bindhost.h"
#include "core/config/commandline.h"
#include "core/config/configloader.h"
#include "core/config/storeurl.h"

#include <QDir>
#include <QFile>
#include <QHostInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace cr;
using namespace Qt::StringLiterals;

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
    void clusterKeys();
    void missingFile();
    void unreadableFile();
    void unreadableFolderIsNotMissing();
    void folderPathIsAFile();
    void urlWinsOverHostPort();
    void commandLineOverridesWin();
    void commandLineErrors_data();
    void commandLineErrors();
    void bindHosts_data();
    void bindHosts();
    void urlHosts();
    void networkNeedsToken_data();
    void networkNeedsToken();
    void effectiveConfigHidesToken();
    void exampleConfigIsValid();
    void storeUrls();
};

void TstConfig::pythonConfigLoadsUnchanged()
{
    const ConfigResult r
        = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/tests/config/data/python_config.toml"));
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
    const ConfigResult r
        = ConfigLoader::loadString(QByteArray(), QStringLiteral("empty.toml"), QStringLiteral("/srv/cr"));
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
    QCOMPARE(c.comfy.name, QStringLiteral("default"));
    QVERIFY(c.metrics.enabled);
    QVERIFY(!c.metrics.publicAccess);
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
name = "gpu-box.1"
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
total_backlog_mb = 64
[jobs]
keep = 50
keep_days = 7
keep_expired = 500
log_events = 100
log_jobs = 20
[metrics]
enabled = false
public = true
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
    QCOMPARE(c.comfy.name, QStringLiteral("gpu-box.1"));
    QCOMPARE(c.metrics.enabled, false);
    QCOMPARE(c.metrics.publicAccess, true);
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
    QCOMPARE(c.relay.totalBacklogBytes, 64ll * 1024 * 1024);
    QCOMPARE(c.jobs.keep, 50);
    QCOMPARE(c.jobs.keepDays, 7);
    QCOMPARE(c.jobs.keepExpired, 500);
    QCOMPARE(c.jobs.logEvents, 100);
    QCOMPARE(c.jobs.logJobs, 20);
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
    QTest::newRow("bad preview method")
        << QByteArray("[comfy]\npreview_method = \"fast\"\n") << 2 << 18
        << QStringLiteral("[comfy] preview_method: \"fast\" is not one of none, auto, latent2rgb, taesd, default");
    QTest::newRow("timeout wrong type") << QByteArray("[comfy]\nrequest_timeout = \"30s\"\n") << 2 << 19
                                        << QStringLiteral(
                                               "[comfy] request_timeout: expected a number of seconds, got a string");
    QTest::newRow("timeout zero") << QByteArray("[comfy]\nrequest_timeout = 0\n") << 2 << 19
                                  << QStringLiteral("[comfy] request_timeout: 0 s is out of range (0.1 to 3600 s)");
    QTest::newRow("no event streams") << QByteArray("[http-server]\nmax_event_streams = 0\n") << 2 << 21
                                      << QStringLiteral(
                                             "[http-server] max_event_streams: 0 is out of range (1 to 4096)");
    QTest::newRow("no connections") << QByteArray("[http-server]\nmax_connections = 0\n") << 2 << 19
                                    << QStringLiteral("[http-server] max_connections: 0 is out of range (1 to 65536)");
    QTest::newRow("heartbeat too long") << QByteArray("[http-server]\nevent_heartbeat = 7200\n") << 2 << 19
                                        << QStringLiteral(
                                               "[http-server] event_heartbeat: 7200 s is out of range (1 to 3600 s)");
    QTest::newRow("keep zero jobs") << QByteArray("[jobs]\nkeep = 0\n") << 2 << 8
                                    << QStringLiteral("[jobs] keep: 0 is out of range (1 to 10000000)");
    QTest::newRow("negative keep_days") << QByteArray("[jobs]\nkeep_days = -1\n") << 2 << 13
                                        << QStringLiteral("[jobs] keep_days: -1 is out of range (0 to 36500)");
    QTest::newRow("total backlog below the hard limit")
        << QByteArray("[server]\ntotal_backlog_mb = 8\n") << 1 << 1
        << QStringLiteral("[server] total_backlog_mb (8 MiB) must not be below client_hard_limit_kb (16384 KiB)");
    QTest::newRow("bad url") << QByteArray("[comfy]\nurl = \"ftp://x\"\n") << 2 << 7
                             << QStringLiteral("[comfy] url: \"ftp://x\" is not a valid http/https URL");
    QTest::newRow("mapping is a bool")
        << QByteArray("[node_mappings]\nprompt = true\n") << 2 << 10
        << QStringLiteral("[node_mappings] prompt: expected a node id (\"6\", 6 or \"6.text\"), got a boolean");
    QTest::newRow("duplicate key")
        << QByteArray("[comfy]\nport = 1\nport = 2\n") << 3 << 8
        << QStringLiteral("invalid TOML: Error while parsing key-value pair: cannot redefine existing integer 'port'");
    QTest::newRow("invalid toml") << QByteArray("[comfy\nport = 1\n") << 1 << 7 << QStringLiteral("invalid TOML:");
    QTest::newRow("ping timeout not above interval")
        << QByteArray("[comfy]\nping_interval = 5\nping_timeout = 2\n") << 3 << 16
        << QStringLiteral("[comfy] ping_timeout (2 s) must be longer than ping_interval (5 s)");
    QTest::newRow("empty data path") << QByteArray("[paths]\ndata = \"\"\n") << 2 << 8
                                     << QStringLiteral("[paths] data: must not be empty");
    QTest::newRow("comfy port 0") << QByteArray("[comfy]\nport = 0\n") << 2 << 8
                                  << QStringLiteral("[comfy] port: port 0 is not a ComfyUI port (1 to 65535)");
    QTest::newRow("comfy url port 0") << QByteArray("[comfy]\nurl = \"http://gpu:0/\"\n") << 2 << 7
                                      << QStringLiteral("[comfy] url: port 0 is not a ComfyUI port (1 to 65535)");
    QTest::newRow("relay on the API port")
        << QByteArray("[http-server]\nport = 9000\n[server]\nws_port = 9000\n") << 4 << 11
        << QStringLiteral("[server] ws_port: 9000 is also the REST API's port ([http-server] port)");
    QTest::newRow("API on the default relay port")
        << QByteArray("[http-server]\nport = 8190\n") << 2 << 8
        << QStringLiteral("[http-server] port: 8190 is also the relay's port ([server] ws_port)");
    QTest::newRow("cluster node with a space") << QByteArray("[cluster]\nnode = \"runner a\"\n") << 2 << 8
                                               << QStringLiteral("[cluster] node must be 1 to 63 letters, digits");
    QTest::newRow("cluster live_url not a WebSocket")
        << QByteArray("[cluster]\nlive_url = \"http://a:8190/\"\n") << 2 << 12
        << QStringLiteral("[cluster] live_url must be a ws:// or wss:// URL with a host");
    QTest::newRow("cluster lease zero") << QByteArray("[cluster]\nlease = 0\n") << 2 << 9
                                        << QStringLiteral("[cluster] lease: 0 s is out of range (1 to 3600 s)");
    QTest::newRow("workflow outside the workflows folder")
        << QByteArray("[comfy]\nworkflow = \"../elsewhere/x.json\"\n") << 2 << 12
        << QStringLiteral("[comfy] workflow: \"../elsewhere/x.json\" is outside the workflows folder");
    QTest::newRow("workflow by absolute path")
        << QByteArray("[comfy]\nworkflow = \"/etc/x.json\"\n") << 2 << 12
        << QStringLiteral("[comfy] workflow: \"/etc/x.json\" is outside the workflows folder");
    QTest::newRow("api host not an address") << QByteArray("[http-server]\nhost = \"my-box\"\n") << 2 << 8
                                             << QStringLiteral("[http-server] host: \"my-box\" is not an IP address");
    QTest::newRow("relay host not an address") << QByteArray("[server]\n\nhost = \"0.0.0.0.0\"\n") << 3 << 8
                                               << QStringLiteral("[server] host: \"0.0.0.0.0\" is not an IP address");
    QTest::newRow("metrics flag is a string") << QByteArray("[metrics]\nenabled = \"yes\"\n") << 2 << 11
                                              << QStringLiteral("[metrics] enabled: expected a boolean, got a string");
    QTest::newRow("backend name with a space")
        << QByteArray("[comfy]\nname = \"gpu 1\"\n") << 2 << 8
        << QStringLiteral("[comfy] name: \"gpu 1\" must be 1 to 64 letters, digits");
    QTest::newRow("store url with a password")
        << QByteArray("[store]\nurl = \"postgresql://cr:s3cret@db:5432/jobs\"\n") << 2 << 7
        << QStringLiteral("[store] url: the URL must not hold the password");
    QTest::newRow("store url of another engine") << QByteArray("[store]\nurl = \"mysql://db/jobs\"\n") << 2 << 7
                                                 << QStringLiteral("[store] url: expected \"sqlite:PATH\" or");
    QTest::newRow("store url sqlite without a path") << QByteArray("[store]\nurl = \"sqlite:\"\n") << 2 << 7
                                                     << QStringLiteral("[store] url: \"sqlite:\" needs a file path");
    QTest::newRow("allow flag is a string")
        << QByteArray("[auth]\nallow_unauthenticated_network = \"yes\"\n") << 2 << 33
        << QStringLiteral("[auth] allow_unauthenticated_network: expected a boolean, got a string");
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
    QCOMPARE(r.warnings[0].toString(),
             QStringLiteral("w.toml:3:1: warning: unknown key \"colour\" in [comfy] (ignored)"));
    QCOMPARE(r.warnings[1].line, 4);
    QVERIFY(r.warnings[1].message.contains(QStringLiteral("unknown section \"extra\"")));
}

// [cluster] is read with a PostgreSQL store, and said to have no effect with an SQLite one.
void TstConfig::clusterKeys()
{
    const ConfigResult pg = ConfigLoader::loadString(
        "[store]\nurl = \"postgresql://cr@db:5432/cr\"\n[cluster]\nnode = \"runner-a\"\nlease = 2.5\n"
        "live_url = \"wss://runner-a.lan/relay\"\n",
        QStringLiteral("c.toml"), QDir::tempPath());
    QVERIFY2(pg.ok() && pg.warnings.isEmpty(), qPrintable(pg.errors.isEmpty() ? QString() : pg.errors[0].toString()));
    QCOMPARE(pg.config->cluster.node, QStringLiteral("runner-a"));
    QCOMPARE(pg.config->cluster.leaseMs, 2500);
    QCOMPARE(pg.config->cluster.liveUrl, QStringLiteral("wss://runner-a.lan/relay"));
    QVERIFY(pg.config->toToml().contains(QStringLiteral("[cluster]\nnode = \"runner-a\"\nlease = 2.5\n")));
    const ConfigResult sqlite
        = ConfigLoader::loadString("[cluster]\nnode = \"runner-a\"\n", QStringLiteral("s.toml"), QDir::tempPath());
    QVERIFY(sqlite.ok());
    QCOMPARE(sqlite.warnings.size(), 1);
    QVERIFY2(sqlite.warnings[0].message.contains(QStringLiteral("[cluster] has no effect")),
             qPrintable(sqlite.warnings[0].toString()));
    // The example's defaults ([cluster] with every key at its default) warn about nothing.
    QVERIFY(ConfigLoader::loadString("[cluster]\nnode = \"\"\nlease = 15\n", QStringLiteral("d.toml"), QDir::tempPath())
                .warnings.isEmpty());
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

// A folder we may not search makes stat() fail as if the file were missing; say what is wrong instead.
void TstConfig::unreadableFolderIsNotMissing()
{
    if (::geteuid() == 0)
        QSKIP("root can search any folder");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString locked = dir.filePath(QStringLiteral("locked"));
    QVERIFY(QDir().mkdir(locked));
    QFile f(locked + QStringLiteral("/cr.toml"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[comfy]\nport = 8188\n");
    f.close();
    QVERIFY(QFile::setPermissions(locked, QFileDevice::Permissions()));
    const ConfigResult r = ConfigLoader::loadFile(f.fileName());
    QFile::setPermissions(locked, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    QVERIFY(!r.ok());
    QVERIFY2(!r.errors[0].message.contains(QStringLiteral("does not exist")), qPrintable(r.errors[0].message));
    QVERIFY2(r.errors[0].message.endsWith(
                 QStringLiteral("the folder %1 cannot be searched (permission denied)").arg(locked)),
             qPrintable(r.errors[0].message));
}

// [paths] workflows and data name folders: a file there is an error at the key (or the file when defaulted).
void TstConfig::folderPathIsAFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QFile f(dir.filePath(QStringLiteral("state")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.close();
    ConfigResult r = ConfigLoader::loadString("[paths]\nworkflows = \".\"\ndata = \"state\"\n",
                                              QStringLiteral("p.toml"), dir.path());
    QVERIFY(!r.ok());
    QCOMPARE(r.errors.size(), 1);
    QCOMPARE(r.errors[0].toString(),
             QStringLiteral("p.toml:3:8: error: [paths] data: %1 is a file, not a folder").arg(f.fileName()));
    QVERIFY(QFile::rename(f.fileName(), dir.filePath(QStringLiteral("data")))); // the default data folder
    r = ConfigLoader::loadString("", QStringLiteral("p.toml"), dir.path());
    QVERIFY(!r.ok());
    QVERIFY2(r.errors[0].message.endsWith(QStringLiteral("is a file, not a folder")), qPrintable(r.errors[0].message));
    // A workflow named by its file in the workflows folder stays fine (the Python project's form).
    r = ConfigLoader::loadString("[comfy]\nworkflow = \"workflows/portrait.json\"\n[paths]\ndata = \"d\"\n",
                                 QStringLiteral("p.toml"), dir.path());
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QCOMPARE(r.config->comfy.workflow, QStringLiteral("portrait"));
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
    const CommandLine cl
        = CommandLine::parse({QStringLiteral("comfy-runner"), QStringLiteral("--config"), QStringLiteral("x.toml"),
                              QStringLiteral("--http-port"), QStringLiteral("0"), QStringLiteral("--relay-port=9100"),
                              QStringLiteral("--http-host"), QStringLiteral("0.0.0.0"), QStringLiteral("--comfy-url"),
                              QStringLiteral("http://10.0.0.5:8000"), QStringLiteral("--workflow"),
                              QStringLiteral("portrait"), QStringLiteral("--preview-method"), QStringLiteral("none"),
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

    const CommandLine check = CommandLine::parse(
        {QStringLiteral("comfy-runner"), QStringLiteral("--check-config"), QStringLiteral("a.toml")});
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
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--frobnicate")}
                                    << QStringLiteral("Unknown option 'frobnicate'.");
    QTest::newRow("http host")
        << QStringList{QStringLiteral("--http-host"), QStringLiteral("box")}
        << QStringLiteral("--http-host: \"box\" is not an IP address (use an IP address, localhost, 0.0.0.0, :: or *)");
    QTest::newRow("relay host")
        << QStringList{QStringLiteral("--relay-host"), QStringLiteral("1.2.3.4.5")}
        << QStringLiteral(
               "--relay-host: \"1.2.3.4.5\" is not an IP address (use an IP address, localhost, 0.0.0.0, :: or *)");
    QTest::newRow("two files") << QStringList{QStringLiteral("a.toml"), QStringLiteral("b.toml")}
                               << QStringLiteral("give one configuration file, either with --config or as an argument");
}

void TstConfig::commandLineErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    args.prepend(QStringLiteral("comfy-runner"));
    const CommandLine cl = CommandLine::parse(args);
    if (args.value(1).endsWith(QLatin1String("-host"))) { // a value the parser takes, refused when applied
        Config applied;
        QCOMPARE(cl.action, CommandLine::Action::Run);
        QCOMPARE(cl.applyTo(applied), QStringList{error});
        QCOMPARE(applied.http.host, QStringLiteral("127.0.0.1"));
        QCOMPARE(applied.relay.host, QStringLiteral("127.0.0.1"));
        return;
    }
    QCOMPARE(cl.action, CommandLine::Action::Error);
    QCOMPARE(cl.error, error);

    Config c;
    const CommandLine bad = CommandLine::parse(
        {QStringLiteral("comfy-runner"), QStringLiteral("--comfy-url"), QStringLiteral("nonsense")});
    QCOMPARE(bad.applyTo(c), QStringList{QStringLiteral("--comfy-url: \"nonsense\" is not a valid http/https URL")});
    const CommandLine samePort
        = CommandLine::parse({QStringLiteral("comfy-runner"), QStringLiteral("--http-port"), QStringLiteral("8190")});
    QCOMPARE(samePort.applyTo(c),
             QStringList{
                 QStringLiteral("--http-port/--relay-port: 8190 would be both the REST API's and the relay's port")});
}

void TstConfig::bindHosts_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("address"); // empty: refused
    QTest::newRow("IPv4 loopback") << u"127.0.0.1"_s << u"127.0.0.1"_s;
    QTest::newRow("localhost") << u"localhost"_s << u"127.0.0.1"_s;
    QTest::newRow("IPv6 loopback") << u"::1"_s << u"::1"_s;
    QTest::newRow("one LAN address") << u"192.168.1.20"_s << u"192.168.1.20"_s;
    QTest::newRow("every IPv4 interface") << u"0.0.0.0"_s << u"0.0.0.0"_s;
    QTest::newRow("every interface ::") << u"::"_s << u"every interface"_s; // IPv4 and IPv6
    QTest::newRow("every interface *") << u"*"_s << u"every interface"_s;
    QTest::newRow("every interface, empty") << QString() << u"every interface"_s;
    QTest::newRow("host name") << u"gpu-box"_s << QString();
    QTest::newRow("bad IPv4") << u"256.1.1.1"_s << QString();
}

// One meaning of a listener host for the loader, the command line and both listeners (config/bindhost.h).
void TstConfig::bindHosts()
{
    QFETCH(QString, host);
    QFETCH(QString, address);
    const std::optional<QHostAddress> a = resolveBindHost(host);
    QCOMPARE(a.has_value(), !address.isEmpty());
    if (a)
        QCOMPARE(*a == QHostAddress(QHostAddress::Any) ? u"every interface"_s : a->toString(), address);
    const ConfigResult r = ConfigLoader::loadString(
        u"[http-server]\nhost = \"%1\"\n[server]\nhost = \"%1\"\n"_s.arg(host).toUtf8(), u"h.toml"_s, QDir::tempPath());
    QCOMPARE(r.ok(), !address.isEmpty());
    if (!r.ok()) {
        QCOMPARE(r.errors.size(), 2);
        QCOMPARE(
            r.errors[0].toString(),
            u"h.toml:2:8: error: [http-server] host: \"%1\" is not an IP address (use an IP address, localhost, 0.0.0.0, :: or *)"_s
                .arg(host));
        QCOMPARE(r.errors[1].line, 4);
    }
}

// image_generated URLs name an address a client can use, never "*", "0.0.0.0" or "::".
void TstConfig::urlHosts()
{
    QCOMPARE(urlHostFor(QHostAddress(u"127.0.0.1"_s)), u"127.0.0.1"_s);
    QCOMPARE(urlHostFor(QHostAddress(u"::1"_s)), u"::1"_s);
    QCOMPARE(urlHostFor(QHostAddress(u"192.168.1.20"_s)), u"192.168.1.20"_s);
    const QString expected = QHostInfo::localHostName().isEmpty() ? u"127.0.0.1"_s : QHostInfo::localHostName();
    for (const QString &host : {u"*"_s, u"0.0.0.0"_s, u"::"_s, QString()}) {
        const QString h = urlHostFor(*resolveBindHost(host));
        QCOMPARE(h, expected);
        QUrl url;
        url.setScheme(u"http"_s);
        url.setHost(h);
        url.setPort(8189);
        QVERIFY2(url.isValid() && !url.toString().contains(u'*'), qPrintable(url.toString()));
    }
}

void TstConfig::networkNeedsToken_data()
{
    QTest::addColumn<QString>("httpHost");
    QTest::addColumn<QString>("relayHost");
    QTest::addColumn<QString>("token");
    QTest::addColumn<bool>("allow");
    QTest::addColumn<QString>("refused"); // what the message names; empty: may start
    QTest::newRow("defaults") << u"127.0.0.1"_s << u"127.0.0.1"_s << QString() << false << QString();
    QTest::newRow("localhost, ::1") << u"localhost"_s << u"::1"_s << QString() << false << QString();
    QTest::newRow("api on 0.0.0.0") << u"0.0.0.0"_s << u"127.0.0.1"_s << QString() << false
                                    << u"the REST API ([http-server] host) on \"0.0.0.0\""_s;
    QTest::newRow("relay on ::") << u"127.0.0.1"_s << u"::"_s << QString() << false
                                 << u"the event relay ([server] host) on \"::\""_s;
    QTest::newRow("relay on empty") << u"127.0.0.1"_s << QString() << QString() << false
                                    << u"the event relay ([server] host) on \"\""_s;
    QTest::newRow("api on *, relay on a LAN address")
        << u"*"_s << u"10.0.0.2"_s << QString() << false
        << u"the REST API ([http-server] host) on \"*\" and the event relay ([server] host) on \"10.0.0.2\""_s;
    QTest::newRow("token set") << u"0.0.0.0"_s << u"::"_s << u"t"_s << false << QString();
    QTest::newRow("allowed on purpose") << u"0.0.0.0"_s << u"::"_s << QString() << true << QString();
}

void TstConfig::networkNeedsToken()
{
    QFETCH(QString, httpHost);
    QFETCH(QString, relayHost);
    QFETCH(QString, token);
    QFETCH(bool, allow);
    QFETCH(QString, refused);
    Config c;
    c.http.host = httpHost;
    c.relay.host = relayHost;
    c.authToken = token;
    c.allowUnauthenticatedNetwork = allow;
    const QString error = networkExposureError(c);
    if (refused.isEmpty()) {
        QVERIFY2(error.isEmpty(), qPrintable(error));
        return;
    }
    QVERIFY2(error.startsWith(u"refusing to start: "_s + refused + u" would be reachable"_s), qPrintable(error));
    QVERIFY(error.contains(u"[auth] token"_s));
    QVERIFY(error.contains(u"COMFY_RUNNER_TOKEN"_s));
    QVERIFY(error.contains(u"allow_unauthenticated_network = true"_s));
}

void TstConfig::effectiveConfigHidesToken()
{
    const ConfigResult r
        = ConfigLoader::loadString("[auth]\ntoken = \"hunter2\"\n", QStringLiteral("t.toml"), QDir::tempPath());
    QVERIFY(r.ok());
    const QString text = r.config->toToml();
    QVERIFY(!text.contains(QStringLiteral("hunter2")));
    QVERIFY(text.contains(QStringLiteral("token = \"***\"")));
    // The printed configuration is itself valid TOML that loads to the same values.
    const ConfigResult again
        = ConfigLoader::loadString(text.toUtf8(), QStringLiteral("printed.toml"), QDir::tempPath());
    QVERIFY2(again.ok(), qPrintable(again.errors.value(0).toString()));
    QCOMPARE(again.config->http.port, r.config->http.port);
    QCOMPARE(again.config->comfy.url, r.config->comfy.url);
    QCOMPARE(again.config->paths.dataDir, r.config->paths.dataDir);
}

// [store] url: the default and relative SQLite paths are in the data folder; PostgreSQL's parts and options.
void TstConfig::storeUrls()
{
    QString why;
    const std::optional<StoreUrl> byDefault = parseStoreUrl(QString(), QStringLiteral("/var/lib/cr"), &why);
    QVERIFY(byDefault);
    QCOMPARE(byDefault->engine, StoreUrl::Engine::Sqlite);
    QCOMPARE(byDefault->sqlitePath, QStringLiteral("/var/lib/cr/jobs.sqlite")); // where earlier releases kept it
    QCOMPARE(parseStoreUrl(QStringLiteral("sqlite:sub/j.db"), QStringLiteral("/d"), &why)->sqlitePath,
             QStringLiteral("/d/sub/j.db"));
    QCOMPARE(parseStoreUrl(QStringLiteral("sqlite:/abs/j.db"), QStringLiteral("/d"), &why)->sqlitePath,
             QStringLiteral("/abs/j.db"));
    const std::optional<StoreUrl> pg
        = parseStoreUrl(QStringLiteral("postgresql://runner@db.lan:6543/jobs?sslmode=require"), QString(), &why);
    QVERIFY2(pg, qPrintable(why));
    QCOMPARE(pg->engine, StoreUrl::Engine::Postgres);
    QCOMPARE(pg->host, QStringLiteral("db.lan"));
    QCOMPARE(pg->port, 6543);
    QCOMPARE(pg->user, QStringLiteral("runner"));
    QCOMPARE(pg->database, QStringLiteral("jobs"));
    QCOMPARE(pg->connectOptions, QStringLiteral("sslmode=require"));
    QCOMPARE(parseStoreUrl(QStringLiteral("postgres://u@h/d"), QString(), &why)->port, 5432);
    QVERIFY(!parseStoreUrl(QStringLiteral("postgresql://u@h/d?password=x"), QString(), &why));
    QVERIFY(!why.contains(QLatin1String("=x")));
    // libpq reads "key=value key=value": a value with a space is quoted, so it cannot add another keyword (a
    // password past the check above, or a host); a key that is not a keyword's spelling is refused.
    const std::optional<StoreUrl> spaced
        = parseStoreUrl(QStringLiteral("postgresql://u@h/d?application_name=a%20password=x&options=-c%20work_mem=8MB"),
                        QString(), &why);
    QVERIFY2(spaced, qPrintable(why));
    QCOMPARE(spaced->connectOptions, QStringLiteral("application_name='a password=x';options='-c work_mem=8MB'"));
    QCOMPARE(
        parseStoreUrl(QStringLiteral("postgresql://u@h/d?application_name=it's%5Cx"), QString(), &why)->connectOptions,
        QStringLiteral("application_name='it\\'s\\\\x'"));
    QVERIFY(!parseStoreUrl(QStringLiteral("postgresql://u@h/d?host%20=x"), QString(), &why));
    // The data folder given on the command line moves the default store with it (resolved at start).
    const ConfigResult r = ConfigLoader::loadString("[store]\nurl = \"sqlite:j.sqlite\"\n", QStringLiteral("s.toml"),
                                                    QStringLiteral("/etc/cr"));
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QCOMPARE(r.config->store.url, QStringLiteral("sqlite:j.sqlite"));
    QVERIFY(r.config->toToml().contains(QLatin1String("[store]\nurl = \"sqlite:j.sqlite\"")));
    const ConfigResult defaults = ConfigLoader::loadString("", QStringLiteral("e.toml"), QStringLiteral("/etc/cr"));
    QVERIFY(defaults.config->toToml().contains(QLatin1String("[store]\nurl = \"sqlite:jobs.sqlite\"")));
}

void TstConfig::exampleConfigIsValid()
{
    const ConfigResult r = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/config_example.toml"));
    QVERIFY2(r.ok(), qPrintable(r.errors.value(0).toString()));
    QVERIFY2(r.warnings.isEmpty(), qPrintable(r.warnings.value(0).toString()));
    QCOMPARE(r.config->comfy.workflow, QStringLiteral("sd15_txt2img"));
    // The file the Debian package installs as /etc/comfy-runner/config.toml, too.
    const ConfigResult packaged = ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/resources/comfy-runner.toml"));
    QVERIFY2(packaged.ok(), qPrintable(packaged.errors.value(0).toString()));
    QVERIFY(packaged.config->metrics.enabled);
}

QTEST_GUILESS_MAIN(TstConfig)
#include "tst_config.moc"
