#include "core/config/effectiveconfig.h"

#include "core/config/bindhost.h"
#include "core/config/configloader.h"

#include <QDir>

namespace cr {

EffectiveConfig loadEffectiveConfig(const QString &file, const CommandLine &commandLine)
{
    EffectiveConfig out;
    const ConfigResult loaded = file.isEmpty() ? ConfigResult{ConfigLoader::defaults(QDir::currentPath()), {}, {}}
                                               : ConfigLoader::loadFile(file);
    for (const ConfigDiagnostic &w : loaded.warnings)
        out.warnings << w.toString();
    for (const ConfigDiagnostic &e : loaded.errors)
        out.errors << e.toString();
    if (!loaded.ok())
        return out;

    Config config = *loaded.config;
    out.problems = commandLine.applyTo(config);
    if (!out.problems.isEmpty())
        return out;
    if (const QByteArray token = qgetenv("COMFY_RUNNER_TOKEN"); !token.isEmpty())
        config.authToken = QString::fromUtf8(token);
    // A listener reachable from the network without a token is refused unless the file says so on purpose.
    if (const QString exposure = networkExposureError(config); !exposure.isEmpty()) {
        out.problems << exposure;
        return out;
    }
    out.config = std::move(config);
    return out;
}

namespace {

// One restart-only key: puts the running value back into the loaded configuration; true when they differed.
template <auto Section, auto Field>
bool keepRunning(Config &loaded, const Config &running)
{
    auto &value = loaded.*Section.*Field;
    const auto &current = running.*Section.*Field;
    if (value == current)
        return false;
    value = current;
    return true;
}

// [[backends]] as a whole: the pool is built once.
bool keepBackends(Config &loaded, const Config &running)
{
    if (loaded.backends == running.backends)
        return false;
    loaded.backends = running.backends;
    return true;
}

} // namespace

QStringList keepRestartOnlyValues(Config &loaded, const Config &running)
{
    // What the running service holds fixed: the listeners, the ComfyUI connection, the folders, the event
    // hub's rings and the SSE limits. This table is the one place that says so (README, "Reloading").
    using Keep = bool (*)(Config &, const Config &);
    static const QList<std::pair<const char *, Keep>> fixed{
        {"comfy.url", &keepRunning<&Config::comfy, &ComfySettings::url>},
        {"comfy.name", &keepRunning<&Config::comfy, &ComfySettings::name>},
        {"comfy.preview_method", &keepRunning<&Config::comfy, &ComfySettings::previewMethod>},
        {"comfy.client_id", &keepRunning<&Config::comfy, &ComfySettings::clientId>},
        {"comfy.request_timeout", &keepRunning<&Config::comfy, &ComfySettings::requestTimeoutMs>},
        {"comfy.ping_interval", &keepRunning<&Config::comfy, &ComfySettings::pingIntervalMs>},
        {"comfy.ping_timeout", &keepRunning<&Config::comfy, &ComfySettings::pingTimeoutMs>},
        {"comfy.reconnect_max", &keepRunning<&Config::comfy, &ComfySettings::reconnectMaxMs>},
        {"http-server.host", &keepRunning<&Config::http, &HttpSettings::host>},
        {"http-server.port", &keepRunning<&Config::http, &HttpSettings::port>},
        {"http-server.max_event_streams", &keepRunning<&Config::http, &HttpSettings::maxEventStreams>},
        {"http-server.event_heartbeat", &keepRunning<&Config::http, &HttpSettings::eventHeartbeatMs>},
        {"server.host", &keepRunning<&Config::relay, &RelaySettings::host>},
        {"server.ws_port", &keepRunning<&Config::relay, &RelaySettings::port>},
        {"server.replay_events", &keepRunning<&Config::relay, &RelaySettings::replayEvents>},
        {"jobs.log_events", &keepRunning<&Config::jobs, &JobSettings::logEvents>},
        {"jobs.log_jobs", &keepRunning<&Config::jobs, &JobSettings::logJobs>},
        {"metrics.enabled", &keepRunning<&Config::metrics, &MetricsSettings::enabled>},
        {"paths.workflows", &keepRunning<&Config::paths, &PathSettings::workflowsDir>},
        {"paths.data", &keepRunning<&Config::paths, &PathSettings::dataDir>},
        {"store.url", &keepRunning<&Config::store, &StoreSettings::url>},
        {"cluster.node", &keepRunning<&Config::cluster, &ClusterSettings::node>},
        {"cluster.lease", &keepRunning<&Config::cluster, &ClusterSettings::leaseMs>},
        {"cluster.live_url", &keepRunning<&Config::cluster, &ClusterSettings::liveUrl>},
        {"backends", &keepBackends},
    };
    QStringList kept;
    for (const auto &[key, keep] : fixed) {
        if (keep(loaded, running))
            kept << QLatin1String(key);
    }
    return kept;
}

} // namespace cr
