#pragma once
// What the API's controllers work on, handed in by the composition root (Service). Pointers are not owned;
// all of them must outlive the ApiServer. workflows/draft may be null (then the workflow routes say so).

#include "core/config/config.h"

#include <QDateTime>
#include <QStringList>

namespace cr {

class ActiveDraft;
class BackendPool;
class ComfyClient;
class EventHub;
class JobManager;
class MetricsRegistry;
class RelayServer;
class WebhookDispatcher;
class WorkflowStore;

// How the configuration was loaded and reloaded (SIGHUP), for the "config" object of /api/v1/system.
struct ConfigStatus {
    QString file;            // the configuration file; empty on the built-in defaults
    QDateTime loadedAt;      // the last successful load (start or reload)
    int reloads = 0;         // successful reloads
    int failedReloads = 0;   // reloads refused (bad file, network rule); nothing changed then
    QDateTime lastReloadAt;  // the last reload attempt; null before the first
    QString lastReloadError; // why the last attempt was refused; empty when it succeeded
    QStringList notApplied;  // keys changed in the file that wait for a restart ("http-server.port")
    QStringList notes;       // what the last reload did differently from the file (the edited draft kept)
};

struct ApiContext {
    JobManager *jobs = nullptr;
    ComfyClient *comfy = nullptr; // the first backend's (the only one without [[backends]])
    BackendPool *pool = nullptr;  // every backend; may be null (then `comfy` is the only one)
    WorkflowStore *workflows = nullptr;
    ActiveDraft *draft = nullptr;
    EventHub *hub = nullptr;                    // recent events (SSE, job event logs); may be null
    RelayServer *relay = nullptr;               // relay client statistics for /api/v1/system; may be null
    WebhookDispatcher *webhooks = nullptr;      // job webhooks and their deliveries; null: refused
    MetricsRegistry *metrics = nullptr;         // what GET /metrics serves; null: [metrics] enabled = false (404)
    Config config;                              // the running configuration (ApiServer::setConfig on a reload)
    const ConfigStatus *configStatus = nullptr; // for /api/v1/system; may be null
    QDateTime startedAt = QDateTime::currentDateTimeUtc();
};

} // namespace cr
