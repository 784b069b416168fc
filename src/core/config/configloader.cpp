#include "core/config/configloader.h"

#include "core/config/bindhost.h"
#include "core/config/configreader.h"
#include "core/config/storeurl.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRegularExpression>

#include <toml++/toml.h>

#include <string_view>

namespace cr {

namespace {

using namespace configdetail;

const QStringList kPreviewMethods{QStringLiteral("none"), QStringLiteral("auto"), QStringLiteral("latent2rgb"),
                                  QStringLiteral("taesd"), QStringLiteral("default")};

// A node mapping value: "6", "6.text" or 6.
std::optional<QString> mappingValue(const toml::node &n)
{
    if (auto s = n.value_exact<std::string>())
        return QString::fromStdString(*s);
    if (n.is_integer())
        return QString::number(n.as_integer()->get());
    return std::nullopt;
}

void readNodeMappings(const toml::table *table, LoadContext &ctx, NodeMappings &out)
{
    if (!table)
        return;
    auto bad = [&ctx](const toml::node &n, const QString &key) {
        ctx.add(ConfigDiagnostic::Severity::Error, n.source(),
                QStringLiteral("[node_mappings] %1: expected a node id (\"6\", 6 or \"6.text\"), got %2")
                    .arg(key, typeName(n)));
    };
    for (auto &&[k, v] : *table) {
        const QString key = qs(k.str());
        if (const toml::table *sub = v.as_table()) {
            QMap<QString, QString> &dest = out.perWorkflow[key];
            for (auto &&[sk, sv] : *sub) {
                const QString subKey = key + QLatin1Char('.') + qs(sk.str());
                if (auto value = mappingValue(sv))
                    dest.insert(qs(sk.str()), *value);
                else
                    bad(sv, subKey);
            }
        } else if (auto value = mappingValue(v)) {
            out.global.insert(key, *value);
        } else {
            bad(v, key);
        }
    }
}

// Where [section] key was written; the section, or the file's start, when the key (or section) is absent.
toml::source_region whereIs(const toml::table &root, const char *section, const char *key)
{
    const toml::table *t = root.get(section) ? root.get(section)->as_table() : nullptr;
    if (t && t->get(key))
        return t->get(key)->source();
    return t ? t->source() : root.source();
}

// Checks between keys and against the file system, once every section is read.
void checkRelations(const toml::table &root, LoadContext &ctx, Config &cfg)
{
    const auto error = [&ctx](const toml::source_region &where, const QString &message) {
        ctx.add(ConfigDiagnostic::Severity::Error, where, message);
    };
    // Port 0 (any free port) stays legal for both listeners; one fixed port cannot serve both.
    if (cfg.http.port != 0 && cfg.http.port == cfg.relay.port) {
        const bool relaySet = root.get("server") && root.get("server")->as_table()
            && root.get("server")->as_table()->contains("ws_port");
        error(relaySet ? whereIs(root, "server", "ws_port") : whereIs(root, "http-server", "port"),
              QStringLiteral("%1: %2 is also %3; the REST API and the relay need ports of their own")
                  .arg(relaySet ? QStringLiteral("[server] ws_port") : QStringLiteral("[http-server] port"))
                  .arg(cfg.http.port)
                  .arg(relaySet ? QStringLiteral("the REST API's port ([http-server] port)")
                                : QStringLiteral("the relay's port ([server] ws_port)")));
    }
    // The Python project named the workflow by file ("workflows/x.json", kept as the name "x"); a file in
    // another folder would be silently replaced by the workflows folder's file of the same stem.
    const QString wf = QDir::fromNativeSeparators(cfg.comfy.workflow);
    const QString wfDir = QFileInfo(wf).path();
    if (wf.contains(QLatin1Char('/')) && QDir::cleanPath(wfDir) != QLatin1String("workflows")) {
        const QString file = QDir(ctx.baseDir).absoluteFilePath(wf);
        if (QDir::cleanPath(QFileInfo(file).absolutePath()) != QDir::cleanPath(cfg.paths.workflowsDir))
            error(whereIs(root, "comfy", "workflow"),
                  QStringLiteral(
                      "[comfy] workflow: \"%1\" is outside the workflows folder %2 (name a workflow by its file stem)")
                      .arg(cfg.comfy.workflow, cfg.paths.workflowsDir));
    }
    // Folders must be folders (they are created at start when missing).
    for (const auto &[key, dir] :
         {std::pair{"workflows", cfg.paths.workflowsDir}, std::pair{"data", cfg.paths.dataDir}}) {
        const QFileInfo info(dir);
        if (info.exists() && !info.isDir())
            error(whereIs(root, "paths", key),
                  QStringLiteral("[paths] %1: %2 is a file, not a folder").arg(QLatin1String(key), dir));
    }
}

void readTable(const toml::table &root, LoadContext &ctx, Config &cfg)
{
    auto section = [&root, &ctx](const char *name) -> const toml::table * {
        const toml::node *n = root.get(name);
        if (n && !n->is_table()) {
            ctx.add(ConfigDiagnostic::Severity::Error, n->source(),
                    QStringLiteral("[%1]: expected a table, got %2").arg(QLatin1String(name), typeName(*n)));
            return nullptr;
        }
        return n ? n->as_table() : nullptr;
    };

    { // [comfy]
        SectionReader r(section("comfy"), QStringLiteral("comfy"), ctx);
        QString host = cfg.comfy.url.host();
        quint16 port = quint16(cfg.comfy.url.port(8188));
        r.string("host", host);
        r.port("port", port);
        if (r.has("url")) {
            if (r.has("host") || r.has("port"))
                ctx.add(ConfigDiagnostic::Severity::Warning, root.get("comfy")->source(),
                        QStringLiteral("[comfy] url is set, so host and port are ignored"));
            r.url("url", cfg.comfy.url, {QStringLiteral("http"), QStringLiteral("https")});
        } else {
            QUrl u;
            u.setScheme(QStringLiteral("http"));
            u.setHost(host);
            u.setPort(port);
            cfg.comfy.url = u;
        }
        // 0 means "any free port" for our listeners, but ComfyUI cannot be reached on it.
        if (cfg.comfy.url.port() == 0)
            ctx.add(ConfigDiagnostic::Severity::Error, whereIs(root, "comfy", r.has("url") ? "url" : "port"),
                    QStringLiteral("[comfy] %1: port 0 is not a ComfyUI port (1 to 65535)")
                        .arg(r.has("url") ? QStringLiteral("url") : QStringLiteral("port")));
        r.string("workflow", cfg.comfy.workflow);
        r.choice("preview_method", cfg.comfy.previewMethod, kPreviewMethods);
        r.string("client_id", cfg.comfy.clientId);
        r.string("name", cfg.comfy.name);
        // A label value of the metrics: short and plain, so that dashboards and queries can name it.
        static const QRegularExpression kBackendName(QStringLiteral("^[A-Za-z0-9_.-]{1,64}$"));
        if (!kBackendName.match(cfg.comfy.name).hasMatch())
            ctx.add(ConfigDiagnostic::Severity::Error, whereIs(root, "comfy", "name"),
                    QStringLiteral("[comfy] name: \"%1\" must be 1 to 64 letters, digits, '_', '-' or '.'")
                        .arg(cfg.comfy.name));
        r.seconds("request_timeout", cfg.comfy.requestTimeoutMs, 0.1, 3600);
        r.seconds("ping_interval", cfg.comfy.pingIntervalMs, 0.05, 3600);
        r.seconds("ping_timeout", cfg.comfy.pingTimeoutMs, 0.05, 3600);
        r.seconds("reconnect_max", cfg.comfy.reconnectMaxMs, 0.05, 3600);
        r.seconds("max_job_time", cfg.comfy.maxJobTimeMs, 0, 7 * 86400);
        if (cfg.comfy.pingTimeoutMs <= cfg.comfy.pingIntervalMs) {
            const toml::node *n = root.get("comfy") ? root.get("comfy")->as_table()->get("ping_timeout") : nullptr;
            ctx.add(ConfigDiagnostic::Severity::Error, n ? n->source() : root.source(),
                    QStringLiteral("[comfy] ping_timeout (%1 s) must be longer than ping_interval (%2 s)")
                        .arg(cfg.comfy.pingTimeoutMs / 1000.0)
                        .arg(cfg.comfy.pingIntervalMs / 1000.0));
        }
        r.finish();
    }
    { // [http-server]
        SectionReader r(section("http-server"), QStringLiteral("http-server"), ctx);
        r.bindHost("host", cfg.http.host);
        r.port("port", cfg.http.port);
        qint64 mb = cfg.http.maxBodyBytes / (1024 * 1024);
        r.integer("max_body_mb", mb, 1, 4096);
        cfg.http.maxBodyBytes = mb * 1024 * 1024;
        r.seconds("wait_timeout", cfg.http.waitTimeoutMs, 0.1, 86400);
        r.url("node_red_url", cfg.http.nodeRedUrl, {QStringLiteral("http"), QStringLiteral("https")});
        qint64 streams = cfg.http.maxEventStreams;
        r.integer("max_event_streams", streams, 1, 4096);
        cfg.http.maxEventStreams = int(streams);
        qint64 connections = cfg.http.maxConnections;
        r.integer("max_connections", connections, 1, 65536);
        cfg.http.maxConnections = int(connections);
        r.seconds("event_heartbeat", cfg.http.eventHeartbeatMs, 1, 3600);
        r.finish();
    }
    { // [server]: the relay; the name and ws_port come from the Python project
        SectionReader r(section("server"), QStringLiteral("server"), ctx);
        r.bindHost("host", cfg.relay.host);
        r.port("ws_port", cfg.relay.port);
        qint64 maxClients = cfg.relay.maxClients;
        r.integer("max_clients", maxClients, 1, 100000);
        cfg.relay.maxClients = int(maxClients);
        qint64 softKb = cfg.relay.softLimitBytes / 1024, hardKb = cfg.relay.hardLimitBytes / 1024;
        r.integer("client_soft_limit_kb", softKb, 16, 1024 * 1024);
        r.integer("client_hard_limit_kb", hardKb, 64, 4 * 1024 * 1024);
        cfg.relay.softLimitBytes = softKb * 1024;
        cfg.relay.hardLimitBytes = hardKb * 1024;
        if (cfg.relay.hardLimitBytes < cfg.relay.softLimitBytes)
            ctx.add(ConfigDiagnostic::Severity::Error, root.get("server")->source(),
                    QStringLiteral("[server] client_hard_limit_kb must not be below client_soft_limit_kb"));
        qint64 totalMb = cfg.relay.totalBacklogBytes / (1024 * 1024);
        r.integer("total_backlog_mb", totalMb, 1, 1024 * 1024);
        cfg.relay.totalBacklogBytes = totalMb * 1024 * 1024;
        if (cfg.relay.totalBacklogBytes < cfg.relay.hardLimitBytes)
            ctx.add(ConfigDiagnostic::Severity::Error, root.get("server")->source(),
                    QStringLiteral("[server] total_backlog_mb (%1 MiB) must not be below client_hard_limit_kb (%2 KiB)")
                        .arg(totalMb)
                        .arg(cfg.relay.hardLimitBytes / 1024));
        qint64 replay = cfg.relay.replayEvents;
        r.integer("replay_events", replay, 0, 1000000);
        cfg.relay.replayEvents = int(replay);
        r.finish();
    }
    { // [jobs]: retention of finished jobs and of their event logs
        SectionReader r(section("jobs"), QStringLiteral("jobs"), ctx);
        r.count("keep", cfg.jobs.keep, 1, 10'000'000);
        r.count("keep_days", cfg.jobs.keepDays, 0, 36500);
        r.count("keep_expired", cfg.jobs.keepExpired, 0, 10'000'000);
        r.count("log_events", cfg.jobs.logEvents, 1, 1'000'000);
        r.count("log_jobs", cfg.jobs.logJobs, 1, 1'000'000);
        r.count("max_attempts", cfg.jobs.maxAttempts, 1, 10);
        readRouting(r, cfg);
        r.finish();
    }
    { // [metrics]
        SectionReader r(section("metrics"), QStringLiteral("metrics"), ctx);
        r.boolean("enabled", cfg.metrics.enabled);
        r.boolean("public", cfg.metrics.publicAccess);
        r.finish();
    }
    readWebhooks(section("webhooks"), ctx, cfg);
    { // [paths]
        SectionReader r(section("paths"), QStringLiteral("paths"), ctx);
        r.path("workflows", cfg.paths.workflowsDir);
        r.path("data", cfg.paths.dataDir);
        r.finish();
    }
    { // [store]: where jobs are kept (checked here; resolved against the data folder at start)
        SectionReader r(section("store"), QStringLiteral("store"), ctx);
        r.string("url", cfg.store.url);
        r.finish();
        QString why;
        if (!cfg.store.url.isEmpty() && !parseStoreUrl(cfg.store.url, cfg.paths.dataDir, &why))
            ctx.add(ConfigDiagnostic::Severity::Error, whereIs(root, "store", "url"),
                    QStringLiteral("[store] url: %1").arg(why));
    }
    { // [cluster]: a runner's name and lease among the runners of one PostgreSQL store
        SectionReader r(section("cluster"), QStringLiteral("cluster"), ctx);
        r.string("node", cfg.cluster.node);
        r.seconds("lease", cfg.cluster.leaseMs, 1, 3600);
        r.string("live_url", cfg.cluster.liveUrl);
        r.finish();
        QString ignored;
        const std::optional<StoreUrl> store = parseStoreUrl(cfg.store.url, cfg.paths.dataDir, &ignored);
        const ClusterSettings defaults;
        const bool set
            = !cfg.cluster.node.isEmpty() || !cfg.cluster.liveUrl.isEmpty() || cfg.cluster.leaseMs != defaults.leaseMs;
        if (const toml::node *n = root.get("cluster"); n && set && store && store->engine != StoreUrl::Engine::Postgres)
            ctx.add(ConfigDiagnostic::Severity::Warning, n->source(),
                    QStringLiteral("[cluster] has no effect: the [store] url is not PostgreSQL (docs/cluster.md)"));
        static const QRegularExpression nodeName(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"));
        if (!cfg.cluster.node.isEmpty() && !nodeName.match(cfg.cluster.node).hasMatch())
            ctx.add(ConfigDiagnostic::Severity::Error, whereIs(root, "cluster", "node"),
                    QStringLiteral("[cluster] node must be 1 to 63 letters, digits, '.', '_' or '-'"));
        const QUrl live(cfg.cluster.liveUrl, QUrl::StrictMode);
        if (!cfg.cluster.liveUrl.isEmpty()
            && (!live.isValid() || live.host().isEmpty()
                || (live.scheme() != QLatin1String("ws") && live.scheme() != QLatin1String("wss"))))
            ctx.add(ConfigDiagnostic::Severity::Error, whereIs(root, "cluster", "live_url"),
                    QStringLiteral("[cluster] live_url must be a ws:// or wss:// URL with a host"));
    }
    { // [auth]
        SectionReader r(section("auth"), QStringLiteral("auth"), ctx);
        r.string("token", cfg.authToken);
        r.boolean("allow_unauthenticated_network", cfg.allowUnauthenticatedNetwork);
        r.finish();
    }
    { // [log]: logging rules, applied at start and on every reload (SIGHUP)
        SectionReader r(section("log"), QStringLiteral("log"), ctx);
        r.logRules("rules", cfg.log.rules);
        r.finish();
    }
    readBackends(root, ctx, cfg);
    checkRelations(root, ctx, cfg);
    readNodeMappings(section("node_mappings"), ctx, cfg.nodeMappings);

    static const QStringList known{
        QStringLiteral("comfy"),    QStringLiteral("http-server"), QStringLiteral("server"),
        QStringLiteral("jobs"),     QStringLiteral("metrics"),     QStringLiteral("paths"),
        QStringLiteral("auth"),     QStringLiteral("log"),         QStringLiteral("node_mappings"),
        QStringLiteral("backends"), QStringLiteral("webhooks"),    QStringLiteral("store"),
        QStringLiteral("cluster")};
    for (auto &&[k, v] : root) {
        if (!known.contains(qs(k.str())))
            ctx.add(ConfigDiagnostic::Severity::Warning, k.source(),
                    QStringLiteral("unknown %1 \"%2\" (ignored)")
                        .arg(v.is_table() ? QStringLiteral("section") : QStringLiteral("key"), qs(k.str())));
    }
}

} // namespace

QString ConfigDiagnostic::toString() const
{
    QString where = file;
    if (line > 0) {
        where += QLatin1Char(':') + QString::number(line);
        if (column > 0)
            where += QLatin1Char(':') + QString::number(column);
    }
    const QString kind = severity == Severity::Error ? QStringLiteral("error") : QStringLiteral("warning");
    return where.isEmpty() ? kind + QLatin1String(": ") + message
                           : where + QLatin1String(": ") + kind + QLatin1String(": ") + message;
}

Config ConfigLoader::defaults(const QString &baseDir)
{
    Config cfg;
    const QDir base(baseDir);
    cfg.paths.workflowsDir = base.absoluteFilePath(cfg.paths.workflowsDir);
    cfg.paths.dataDir = base.absoluteFilePath(cfg.paths.dataDir);
    cfg.comfy.workflow = QStringLiteral("sd15_txt2img");
    return cfg;
}

ConfigResult ConfigLoader::loadString(const QByteArray &toml, const QString &sourceName, const QString &baseDir)
{
    LoadContext ctx{sourceName, baseDir, {}};
    Config cfg = defaults(baseDir);
    cfg.sourceFile = sourceName;
    const std::string source = sourceName.toStdString();
    try {
        const toml::table root
            = toml::parse(std::string_view(toml.constData(), size_t(toml.size())), std::string_view{source});
        readTable(root, ctx, cfg);
    } catch (const toml::parse_error &e) {
        ctx.add(ConfigDiagnostic::Severity::Error, e.source(),
                QStringLiteral("invalid TOML: %1").arg(qs(e.description())));
    }
    // The Python project named the workflow by file; accept "x.json" and "workflows/x.json" as "x".
    if (cfg.comfy.workflow.endsWith(QLatin1String(".json"), Qt::CaseInsensitive))
        cfg.comfy.workflow = QFileInfo(cfg.comfy.workflow).completeBaseName();
    if (ctx.result.errors.isEmpty())
        ctx.result.config = cfg;
    return ctx.result;
}

ConfigResult ConfigLoader::loadFile(const QString &path)
{
    QFile file(path);
    const QFileInfo info(path);
    if (!info.exists() || info.isDir() || !file.open(QIODevice::ReadOnly)) {
        ConfigResult r;
        // A file in a folder we may not search looks missing to stat(): name the folder instead.
        QString folder = info.absolutePath();
        while (!QFileInfo::exists(folder) && QFileInfo(folder).absolutePath() != folder)
            folder = QFileInfo(folder).absolutePath();
        const QFileInfo folderInfo(folder);
        const QString why = !info.exists() && folderInfo.isDir() && !folderInfo.isExecutable()
            ? QStringLiteral("the folder %1 cannot be searched (permission denied)").arg(folder)
            : !info.exists() ? QStringLiteral("it does not exist")
            : info.isDir()   ? QStringLiteral("it is a folder")
                             : file.errorString();
        r.errors.append({ConfigDiagnostic::Severity::Error, QString(), 0, 0,
                         QStringLiteral("cannot read the configuration file %1: %2").arg(path, why)});
        return r;
    }
    return loadString(file.readAll(), path, info.absolutePath());
}

} // namespace cr
