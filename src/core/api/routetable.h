#pragma once
// The API's routes as data: one row per (method, path) with the handler it runs. ApiServer registers its
// handlers from this table and the OpenAPI test compares the table with resources/openapi.json.

#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr {

enum class RouteId {
    // Legacy routes of the Python project.
    LegacyHealth,
    LegacyStatus,
    LegacyQueue,
    LegacyUpdateText,
    LegacyUpdatePrompt,
    LegacyUpdateImage,
    LegacyGenerateImage,
    LegacyInterrupt,
    // /api/v1
    Health,
    Ready,
    System,
    OpenApi,
    ListWorkflows,
    GetWorkflow,
    GetDraft,
    PatchDraft,
    ResetDraft,
    SwitchDraft,
    CreateJob,
    ListJobs,
    GetJob,
    CancelJob,
    GetJobOutput,
    Upload,
    Events,
    GetJobEvents,
    ListBackends,
    GetBackend,
    DrainBackend,
    ResumeBackend,
    RefreshBackend,
    ListWebhookDeliveries,
    GetWebhookDelivery,
    RedeliverWebhook,
    Metrics, // GET /metrics (Prometheus); public when [metrics] public = true
};

struct RouteSpec {
    const char *method; // "GET", "POST", "PATCH", "PUT"
    const char *path;   // OpenAPI style: "/api/v1/jobs/{id}"
    RouteId id;
    bool public_ = false;    // reachable without the bearer token
    bool queryToken = false; // the token may also come as ?token= (EventSource cannot set headers)
};

const QList<RouteSpec> &routeTable();

// The Python project's routes, whose answers (errors included) keep its "STATUS" key.
inline bool isLegacyRoute(RouteId id) { return id <= RouteId::LegacyInterrupt; }
// True when the request line at the start of `bytes` ("GET /queue?x HTTP/1.1...") names a path of one of
// them: the socket guard's own refusals (408, 413, 431, ...) then carry "STATUS" too.
bool requestNamesLegacyRoute(QByteArrayView bytes);

// Matches a request path against a route path; fills the {placeholder} values. Segments are compared
// exactly; a placeholder matches one non-empty segment.
bool matchRoute(QLatin1StringView pattern, QStringView path, QStringList *args);
bool matchRoute(const QString &pattern, const QString &path, QStringList *args);

// A number in its one canonical decimal spelling ("0", "7", "42"; not "+0", " 0", "00", "0x1", "1e3", a NUL
// or anything after the digits) that is at most `max`; nullopt otherwise. Path indexes, query integers and
// Content-Length all go through it, so "0%00garbage" can never be read as 0.
std::optional<qint64> canonicalNumber(QStringView text, qint64 max);

} // namespace cr
