#pragma once
// One ComfyUI backend of the runner's pool as the REST API answers it (GET /api/v1/backends and
// /api/v1/backends/{name}), one definition for the service and the monitor.

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr::protocol {

// The GPU of a backend, from the first device of its /system_stats (absent until it was read).
struct BackendGpu {
    QString name;          // ComfyUI's device name, e.g. "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync"
    qint64 vramTotal = -1; // bytes; -1 when unknown
    qint64 vramFree = -1;
    bool operator==(const BackendGpu &) const = default;
};

struct BackendStatus {
    QString name;
    QString url;
    QString state; // "connected" | "connecting" | "disconnected" | "draining"
    bool connected = false;
    bool draining = false;
    int inFlight = 0;     // prompts handed to it and not finished
    int maxInFlight = -1; // -1: no limit reported
    int queueLength = 0;  // queue_remaining of its last status event
    QString lastCheckpoint;
    bool capabilitiesKnown = false;
    int nodeCount = 0;
    int modelCount = 0;
    QStringList tags;
    QString lastError;
    QDateTime since;
    std::optional<BackendGpu> gpu;
    bool operator==(const BackendStatus &) const = default;
};

// {name, url, state, connected, draining, in_flight, max_in_flight, queue_length, last_checkpoint,
//  capabilities_known, node_count, model_count, tags, last_error, since, gpu}; empty strings and a missing
// gpu are JSON null; gpu is {name, vram_total, vram_free}.
QJsonObject encodeBackend(const BackendStatus &backend);
// Lenient like parseJob: nullopt without a non-empty string "name".
std::optional<BackendStatus> parseBackend(const QJsonObject &object);
// {"backends": [...]}: the entries that parse, in order.
QList<BackendStatus> parseBackendList(const QJsonObject &object);
// The first device of a ComfyUI /system_stats answer; nullopt when there is none.
std::optional<BackendGpu> gpuFromSystemStats(const QJsonObject &systemStats);

} // namespace cr::protocol

Q_DECLARE_METATYPE(cr::protocol::BackendStatus)
