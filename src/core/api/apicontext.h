#pragma once
// What the API's controllers work on, handed in by the composition root (Service). Pointers are not owned;
// all of them must outlive the ApiServer. workflows/draft may be null (then the workflow routes say so).

#include "core/config/config.h"

#include <QDateTime>

namespace cr {

class ActiveDraft;
class ComfyClient;
class EventHub;
class JobManager;
class MetricsRegistry;
class RelayServer;
class WorkflowStore;

struct ApiContext {
    JobManager *jobs = nullptr;
    ComfyClient *comfy = nullptr;
    WorkflowStore *workflows = nullptr;
    ActiveDraft *draft = nullptr;
    EventHub *hub = nullptr;       // recent events (SSE, job event logs); may be null
    RelayServer *relay = nullptr;  // relay client statistics for /api/v1/system; may be null
    MetricsRegistry *metrics = nullptr; // what GET /metrics serves; null: [metrics] enabled = false (404)
    Config config;
    QDateTime startedAt = QDateTime::currentDateTimeUtc();
};

} // namespace cr
