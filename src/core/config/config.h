#pragma once
// The effective configuration of the service: what the TOML file says, with command-line overrides applied.
// Plain values only; loading lives in ConfigLoader, the command line in CommandLine.

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace cr {

// Where ComfyUI is and how the service talks to it ([comfy]).
struct ComfySettings {
    QUrl url{QStringLiteral("http://127.0.0.1:8188")}; // from url, or host + port
    QString workflow;                                  // active workflow (file stem in the workflows folder)
    QString previewMethod = QStringLiteral("auto");    // extra_data.preview_method: none|auto|latent2rgb|taesd|default
    QString clientId;                                  // empty: a stable id derived from the data folder
    int requestTimeoutMs = 30'000;
    int pingIntervalMs = 5'000;
    int pingTimeoutMs = 10'000;               // a connection silent this long after a ping is declared dead
    int reconnectMaxMs = 10'000;              // cap of the exponential reconnect backoff
    int maxJobTimeMs = 0;                     // a job running longer is interrupted and fails (0 = no limit)
    QString name = QStringLiteral("default"); // the backend's name: the `backend` label of the metrics
};

// One ComfyUI of the pool ([[backends]]); the shared keys of [comfy] (timeouts, preview_method, client_id)
// apply to every backend.
struct BackendSettings {
    QString name;        // unique, [A-Za-z0-9._-]{1,64}: shown everywhere, the metrics' `backend` label
    QUrl url;            // like [comfy] url
    QStringList tags;    // a job may require tags ("tags" of POST /api/v1/jobs)
    int maxInFlight = 2; // prompts handed to this ComfyUI at once (running + queued there), 1..64; 0 = no limit
    bool operator==(const BackendSettings &) const = default;
};

// How a waiting job picks among the backends that can take it ([jobs] routing).
enum class RoutingMode { Affinity, LeastLoaded };

// The REST API ([http-server]).
struct HttpSettings {
    QString host = QStringLiteral("127.0.0.1"); // what it means: config/bindhost.h
    quint16 port = 8189;
    qint64 maxBodyBytes = 64ll * 1024 * 1024;
    int waitTimeoutMs = 600'000; // bound of blocking calls (GET /queue, POST /api/v1/jobs?wait=true)
    QUrl nodeRedUrl{QStringLiteral("http://127.0.0.1:1880/generate")}; // POST /generate/image forwards here
    int maxEventStreams = 64;      // concurrent Server-Sent Events streams; more get 503 too_many_streams
    int eventHeartbeatMs = 15'000; // a keep-alive comment on idle event streams this often
    // Open connections at once (event streams and waiting requests included); more get 503
    // too_many_connections and are closed. Bounds the buffered request bodies to about
    // maxConnections x maxBodyBytes (x2 with a pipelined request held).
    int maxConnections = 128;
};

// The event relay ([server]).
struct RelaySettings {
    QString host = QStringLiteral("127.0.0.1"); // what it means: config/bindhost.h
    quint16 port = 8190;
    int maxClients = 256;
    qint64 softLimitBytes = 1024ll * 1024;          // above this a client's previews are dropped
    qint64 hardLimitBytes = 16ll * 1024 * 1024;     // above this a client is closed (it may resume with since=)
    qint64 totalBacklogBytes = 256ll * 1024 * 1024; // all clients' backlogs together; above it the worst is closed
    int replayEvents = 4096;                        // ring of recent events for since= resume
};

// How long jobs and their event logs are kept ([jobs]).
struct JobSettings {
    int keep = 1000;         // finished jobs kept (the oldest are pruned first)
    int keepDays = 30;       // finished jobs older than this are pruned (0 = no age limit)
    int keepExpired = 10000; // ids (and client_refs) of pruned jobs remembered for 410 job_expired
    int logEvents = 2048;    // events kept in one job's event log (the newest)
    int logJobs = 256;       // jobs whose event log is kept in memory (least recently active forgotten first)
    int maxAttempts = 2;     // runs of one job at most: a job whose backend dropped mid-run is re-run elsewhere
    RoutingMode routing = RoutingMode::Affinity; // "affinity": same checkpoint first; "least_loaded": ignore it
};

// The Prometheus endpoint GET /metrics ([metrics], docs/metrics.md).
struct MetricsSettings {
    bool enabled = true;       // false: /metrics is 404 and nothing is counted
    bool publicAccess = false; // true: /metrics needs no bearer token even when [auth] token is set
};

// Signed, durable webhook deliveries ([webhooks], docs/webhooks.md). Every key applies on a reload.
struct WebhookSettings {
    QUrl url;                               // default webhook of every job that names none (empty: none)
    QStringList events;                     // the events the default url gets (empty: the terminal ones)
    QString secret;                         // Standard Webhooks "whsec_<base64>" (24 to 64 bytes); deliveries need it
    int maxAttempts = 8;                    // attempts per delivery (1..100)
    int retryDelayMs = 20'000;              // wait before the first retry; x4 each retry, +-20 % jitter
    int retryMaxDelayMs = 12 * 3600 * 1000; // cap of one wait (8 attempts: about 20 hours in all)
    int timeoutMs = 10'000;                 // one attempt, DNS to the last byte of the answer
    int concurrency = 4;                    // attempts in flight at once (the memory window)
    QStringList allowHosts; // host names, addresses or subnets ("10.0.0.0/8") let through the link-local guard
    bool operator==(const WebhookSettings &) const = default;
};

// Folders ([paths]); relative paths are resolved against the config file's folder.
struct PathSettings {
    QString workflowsDir = QStringLiteral("workflows");
    QString dataDir = QStringLiteral("data");
};

// Where jobs are kept ([store], core/config/storeurl.h): "sqlite:PATH" (relative: in the data folder) or
// "postgresql://user@host:port/db". Empty: kDefaultStoreUrl.
struct StoreSettings {
    QString url;
};

// [cluster]: several runners sharing one PostgreSQL store (docs/cluster.md). Used only with a PostgreSQL
// [store] url; an SQLite store is one runner's.
struct ClusterSettings {
    QString node;         // this runner's name in the cluster ("" = the host name)
    int leaseMs = 15'000; // how long a claim holds without renewal before another runner may take the job over
    QString liveUrl;      // where relay clients reach this runner's live events ("" = ws://<host name>:<relay port>)
};

// Logging ([log]).
struct LogSettings {
    // QLoggingCategory::setFilterRules rules, one per line ("comfyrunner.api.debug=true"); applied over the
    // default "*.debug=false". QT_LOGGING_RULES in the environment wins over them (Qt's order).
    QString rules;
};

// [node_mappings]: flat keys apply to every workflow; sub-tables to the workflow of that name.
// Values are "node" or "node.input" strings (integers in the file are accepted and stored as text).
struct NodeMappings {
    QMap<QString, QString> global;
    QMap<QString, QMap<QString, QString>> perWorkflow;
    // Mappings for one workflow: its own table over the global keys.
    QMap<QString, QString> forWorkflow(const QString &workflow) const;
};

struct Config {
    QString sourceFile; // empty when running on defaults
    ComfySettings comfy;
    HttpSettings http;
    RelaySettings relay;
    JobSettings jobs;
    MetricsSettings metrics;
    WebhookSettings webhooks;
    PathSettings paths;
    StoreSettings store;
    ClusterSettings cluster;
    NodeMappings nodeMappings;
    LogSettings log;
    QList<BackendSettings> backends;          // [[backends]]; empty: the pool is [comfy] alone (see poolBackends())
    QString authToken;                        // [auth] token; empty = no auth
    bool allowUnauthenticatedNetwork = false; // [auth] allow_unauthenticated_network: no token on a non-loopback host

    // The ComfyUIs the service fronts: [[backends]], or one backend from [comfy] (url, name) with no in-flight
    // limit (every job goes straight to its queue, as before pools existed).
    QList<BackendSettings> poolBackends() const;
    bool isPoolOfOne() const { return backends.isEmpty(); } // [comfy] alone: ComfyUI validates every graph

    // The effective configuration as TOML, secrets masked, for --check-config and the start-up log.
    QString toToml() const;
};

} // namespace cr
