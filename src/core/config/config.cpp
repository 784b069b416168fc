#include "core/config/config.h"

#include "core/config/storeurl.h"
#include "core/config/webhookpolicy.h"

#include <QStringList>

namespace cr {

namespace {

QString quoted(const QString &s)
{
    QString out = s;
    out.replace(QLatin1Char('\\'), QLatin1String("\\\\")).replace(QLatin1Char('"'), QLatin1String("\\\""));
    return QLatin1Char('"') + out + QLatin1Char('"');
}

QString seconds(int ms) { return QString::number(ms / 1000.0); }

} // namespace

QMap<QString, QString> NodeMappings::forWorkflow(const QString &workflow) const
{
    QMap<QString, QString> merged = global;
    const QMap<QString, QString> own = perWorkflow.value(workflow);
    for (auto it = own.cbegin(); it != own.cend(); ++it)
        merged.insert(it.key(), it.value());
    return merged;
}

QList<BackendSettings> Config::poolBackends() const
{
    if (!backends.isEmpty())
        return backends;
    return {BackendSettings{comfy.name, comfy.url, {}, 0}};
}

QString Config::toToml() const
{
    QStringList l;
    l << QStringLiteral("# effective configuration (%1)")
             .arg(sourceFile.isEmpty() ? QStringLiteral("built-in defaults") : sourceFile);
    l << QStringLiteral("[comfy]")
      << (backends.isEmpty() ? QStringLiteral("url = %1").arg(quoted(comfy.url.toString()))
                             : QStringLiteral("# url: every ComfyUI is a [[backends]] table"))
      << QStringLiteral("workflow = %1").arg(quoted(comfy.workflow))
      << QStringLiteral("preview_method = %1").arg(quoted(comfy.previewMethod))
      << QStringLiteral("client_id = %1").arg(quoted(comfy.clientId))
      << QStringLiteral("name = %1").arg(quoted(comfy.name))
      << QStringLiteral("request_timeout = %1").arg(seconds(comfy.requestTimeoutMs))
      << QStringLiteral("ping_interval = %1").arg(seconds(comfy.pingIntervalMs))
      << QStringLiteral("ping_timeout = %1").arg(seconds(comfy.pingTimeoutMs))
      << QStringLiteral("reconnect_max = %1").arg(seconds(comfy.reconnectMaxMs))
      << QStringLiteral("max_job_time = %1").arg(seconds(comfy.maxJobTimeMs)) << QString();
    l << QStringLiteral("[http-server]") << QStringLiteral("host = %1").arg(quoted(http.host))
      << QStringLiteral("port = %1").arg(http.port)
      << QStringLiteral("max_body_mb = %1").arg(http.maxBodyBytes / (1024 * 1024))
      << QStringLiteral("wait_timeout = %1").arg(seconds(http.waitTimeoutMs))
      << QStringLiteral("node_red_url = %1").arg(quoted(http.nodeRedUrl.toString()))
      << QStringLiteral("max_event_streams = %1").arg(http.maxEventStreams)
      << QStringLiteral("max_connections = %1").arg(http.maxConnections)
      << QStringLiteral("event_heartbeat = %1").arg(seconds(http.eventHeartbeatMs)) << QString();
    l << QStringLiteral("[server]") << QStringLiteral("host = %1").arg(quoted(relay.host))
      << QStringLiteral("ws_port = %1").arg(relay.port) << QStringLiteral("max_clients = %1").arg(relay.maxClients)
      << QStringLiteral("client_soft_limit_kb = %1").arg(relay.softLimitBytes / 1024)
      << QStringLiteral("client_hard_limit_kb = %1").arg(relay.hardLimitBytes / 1024)
      << QStringLiteral("total_backlog_mb = %1").arg(relay.totalBacklogBytes / (1024 * 1024))
      << QStringLiteral("replay_events = %1").arg(relay.replayEvents) << QString();
    l << QStringLiteral("[jobs]") << QStringLiteral("keep = %1").arg(jobs.keep)
      << QStringLiteral("keep_days = %1").arg(jobs.keepDays)
      << QStringLiteral("keep_expired = %1").arg(jobs.keepExpired)
      << QStringLiteral("log_events = %1").arg(jobs.logEvents) << QStringLiteral("log_jobs = %1").arg(jobs.logJobs)
      << QStringLiteral("max_attempts = %1").arg(jobs.maxAttempts)
      << QStringLiteral("routing = %1")
             .arg(quoted(jobs.routing == RoutingMode::Affinity ? QStringLiteral("affinity")
                                                               : QStringLiteral("least_loaded")))
      << QString();
    for (const BackendSettings &b : backends) {
        QStringList tags;
        for (const QString &t : b.tags)
            tags << quoted(t);
        l << QStringLiteral("[[backends]]") << QStringLiteral("name = %1").arg(quoted(b.name))
          << QStringLiteral("url = %1").arg(quoted(b.url.toString()))
          << QStringLiteral("tags = [%1]").arg(tags.join(QStringLiteral(", ")))
          << QStringLiteral("max_in_flight = %1").arg(b.maxInFlight) << QString();
    }
    l << QStringLiteral("[metrics]")
      << QStringLiteral("enabled = %1").arg(metrics.enabled ? QStringLiteral("true") : QStringLiteral("false"))
      << QStringLiteral("public = %1").arg(metrics.publicAccess ? QStringLiteral("true") : QStringLiteral("false"))
      << QString();
    QStringList allow, events;
    for (const QString &h : webhooks.allowHosts)
        allow << quoted(h);
    for (const QString &e : webhooks.events.isEmpty() ? webhookpolicy::defaultEvents() : webhooks.events)
        events << quoted(e);
    l << QStringLiteral("[webhooks]") << QStringLiteral("url = %1").arg(quoted(webhooks.url.toString()))
      << QStringLiteral("events = [%1]").arg(events.join(QStringLiteral(", ")))
      << QStringLiteral("secret = %1")
             .arg(webhooks.secret.isEmpty() ? QStringLiteral("\"\"") : QStringLiteral("\"***\" # set, not shown"))
      << QStringLiteral("max_attempts = %1").arg(webhooks.maxAttempts)
      << QStringLiteral("retry_delay = %1").arg(seconds(webhooks.retryDelayMs))
      << QStringLiteral("retry_max_delay = %1").arg(seconds(webhooks.retryMaxDelayMs))
      << QStringLiteral("timeout = %1").arg(seconds(webhooks.timeoutMs))
      << QStringLiteral("concurrency = %1").arg(webhooks.concurrency)
      << QStringLiteral("allow_hosts = [%1]").arg(allow.join(QStringLiteral(", "))) << QString();
    l << QStringLiteral("[paths]") << QStringLiteral("workflows = %1").arg(quoted(paths.workflowsDir))
      << QStringLiteral("data = %1").arg(quoted(paths.dataDir)) << QString();
    l << QStringLiteral("[store]")
      << QStringLiteral("url = %1").arg(quoted(store.url.isEmpty() ? QString::fromLatin1(kDefaultStoreUrl) : store.url))
      << QString();
    l << QStringLiteral("[cluster]") << QStringLiteral("node = %1").arg(quoted(cluster.node))
      << QStringLiteral("lease = %1").arg(seconds(cluster.leaseMs))
      << QStringLiteral("live_url = %1").arg(quoted(cluster.liveUrl)) << QString();
    l << QStringLiteral("[auth]")
      << QStringLiteral("token = %1")
             .arg(authToken.isEmpty() ? QStringLiteral("\"\"") : QStringLiteral("\"***\" # set, not shown"))
      << QStringLiteral("allow_unauthenticated_network = %1")
             .arg(allowUnauthenticatedNetwork ? QStringLiteral("true") : QStringLiteral("false"))
      << QString();
    l << QStringLiteral("[log]")
      << QStringLiteral("rules = %1")
             .arg(quoted(log.rules.split(QLatin1Char('\n'), Qt::SkipEmptyParts).join(QLatin1Char(';'))))
      << QString();
    l << QStringLiteral("[node_mappings]");
    for (auto it = nodeMappings.global.cbegin(); it != nodeMappings.global.cend(); ++it)
        l << QStringLiteral("%1 = %2").arg(it.key(), quoted(it.value()));
    for (auto wf = nodeMappings.perWorkflow.cbegin(); wf != nodeMappings.perWorkflow.cend(); ++wf) {
        l << QString() << QStringLiteral("[node_mappings.%1]").arg(wf.key());
        for (auto it = wf->cbegin(); it != wf->cend(); ++it)
            l << QStringLiteral("%1 = %2").arg(it.key(), quoted(it.value()));
    }
    return l.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

} // namespace cr
