// GET /api/v1/health, /api/v1/ready, /api/v1/system, /api/v1/openapi.json.

#include "core/api/apierrors.h"
#include "core/api/controllers.h"
#include "core/pool/backendpool.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/metrics/metricsregistry.h"
#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "core/workflows/activedraft.h"
#include "core/workflows/workflowstore.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonArray>
#include <QPointer>

namespace cr {

namespace {

QJsonValue timeOrNull(const QDateTime &t)
{
    return t.isNull() ? QJsonValue(QJsonValue::Null) : QJsonValue(t.toUTC().toString(Qt::ISODateWithMs));
}

// {"file", "loaded_at", "reloads", "failed_reloads", "last_reload_at", "last_reload_error", "not_applied",
//  "notes"}: what SIGHUP did last (README, "Reloading the configuration").
QJsonObject configStatusJson(const ConfigStatus &s)
{
    return {
        {QStringLiteral("file"), s.file.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(s.file)},
        {QStringLiteral("loaded_at"), timeOrNull(s.loadedAt)},
        {QStringLiteral("reloads"), s.reloads},
        {QStringLiteral("failed_reloads"), s.failedReloads},
        {QStringLiteral("last_reload_at"), timeOrNull(s.lastReloadAt)},
        {QStringLiteral("last_reload_error"),
         s.lastReloadError.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(s.lastReloadError)},
        {QStringLiteral("not_applied"), QJsonArray::fromStringList(s.notApplied)},
        {QStringLiteral("notes"), QJsonArray::fromStringList(s.notes)},
    };
}

} // namespace

SystemRoutes::SystemRoutes(const ApiContext &ctx, const EventsRoutes *events, QObject *parent)
    : QObject(parent), m_ctx(ctx), m_events(events)
{ }

QStringList SystemRoutes::notReadyReasons(const ApiContext &ctx)
{
    QStringList reasons;
    if (ctx.pool && !ctx.pool->isPoolOfOne()) {
        // A pool is ready while at least one backend is.
        if (ctx.pool->connectedCount() == 0) {
            QStringList states;
            for (const Backend *b : ctx.pool->backends())
                states << QStringLiteral("%1 %2").arg(b->name(), b->stateName());
            reasons << QStringLiteral("no ComfyUI backend is connected (%1)").arg(states.join(QStringLiteral(", ")));
        }
    } else if (!ctx.comfy || ctx.comfy->state() != ConnectionState::Connected)
        reasons << QStringLiteral("ComfyUI is not connected (%1)")
                       .arg(ctx.comfy ? connectionStateName(ctx.comfy->state()) : QStringLiteral("no client"));
    if (!ctx.workflows || ctx.workflows->names().isEmpty())
        reasons << QStringLiteral("no workflow is loaded");
    if (ctx.jobs && !ctx.jobs->storeProblem().isEmpty())
        reasons << QStringLiteral("the job store is unavailable (new jobs get 503 store_unavailable): %1")
                       .arg(ctx.jobs->storeProblem());
    if (ctx.draft && !ctx.draft->hasDraft())
        reasons << QStringLiteral("the active workflow \"%1\" is not loaded").arg(ctx.draft->name());
    return reasons;
}

void SystemRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::Health, [this](const ApiRequest &r, ApiReply reply) { health(r, reply); });
    h.insert(RouteId::Ready, [this](const ApiRequest &r, ApiReply reply) { ready(r, reply); });
    h.insert(RouteId::System, [this](const ApiRequest &r, ApiReply reply) { system(r, reply); });
    h.insert(RouteId::OpenApi, [this](const ApiRequest &r, ApiReply reply) { openApi(r, reply); });
    // Not installed when [metrics] enabled = false: the dispatcher then answers 404 not_found.
    if (m_ctx.metrics)
        h.insert(RouteId::Metrics, [this](const ApiRequest &r, ApiReply reply) { metrics(r, reply); });
}

// GET /metrics -> 200, Prometheus text format 0.0.4 (docs/metrics.md).
void SystemRoutes::metrics(const ApiRequest &, ApiReply reply)
{
    reply.raw(200, m_ctx.metrics->scrape(), MetricsRegistry::kContentType);
}

// GET /api/v1/health -> 200 {"status": "ok"}: the process is alive (public).
void SystemRoutes::health(const ApiRequest &, ApiReply reply)
{
    reply.json(200, QJsonObject{{QStringLiteral("status"), QStringLiteral("ok")}});
}

// GET /api/v1/ready -> 200 {"ready": true} | 503 not_ready {details: {reasons: [...]}}.
void SystemRoutes::ready(const ApiRequest &, ApiReply reply)
{
    const QStringList reasons = notReadyReasons(m_ctx);
    if (reasons.isEmpty()) {
        reply.json(200, QJsonObject{{QStringLiteral("ready"), true}});
        return;
    }
    reply.error(Error::make(ErrorCode::NotReady, reasons.join(QStringLiteral("; ")),
                            {{QStringLiteral("reasons"), QJsonArray::fromStringList(reasons)}}));
}

// GET /api/v1/system -> 200 {"service": {version, uptime_s, started_at, jobs_active, ...},
//   "comfyui": {url, state, system_stats | null, error?}, "relay"?: RelayServer::statsJson(),
//   "event_hub"?: EventHub::statsJson(), "sse"?: EventsRoutes::statsJson(), "config"?: the reload state
//   (configStatusJson)}. ComfyUI trouble is reported, not an error; the last four are present when the
//   service has them.
void SystemRoutes::system(const ApiRequest &, ApiReply reply)
{
    QJsonObject service{
        {QStringLiteral("name"), QStringLiteral("comfy_runner")},
        {QStringLiteral("version"), QCoreApplication::applicationVersion()},
        {QStringLiteral("started_at"), m_ctx.startedAt.toUTC().toString(Qt::ISODateWithMs)},
        {QStringLiteral("uptime_s"), m_ctx.startedAt.secsTo(QDateTime::currentDateTimeUtc())},
        {QStringLiteral("jobs_active"), m_ctx.jobs ? m_ctx.jobs->activeCount() : 0},
        {QStringLiteral("workflows"), m_ctx.workflows ? int(m_ctx.workflows->names().size()) : 0},
        {QStringLiteral("active_workflow"), m_ctx.draft ? m_ctx.draft->name() : QString()},
        {QStringLiteral("relay_port"), m_ctx.relay ? QJsonValue(m_ctx.relay->port()) : QJsonValue(QJsonValue::Null)},
    };
    QJsonObject comfy{
        {QStringLiteral("url"), m_ctx.config.comfy.url.toString()},
        {QStringLiteral("state"), m_ctx.comfy ? connectionStateName(m_ctx.comfy->state()) : QStringLiteral("none")},
    };
    QJsonObject body{{QStringLiteral("service"), service}};
    if (m_ctx.configStatus)
        body.insert(QStringLiteral("config"), configStatusJson(*m_ctx.configStatus));
    if (m_ctx.relay)
        body.insert(QStringLiteral("relay"), m_ctx.relay->statsJson());
    if (m_ctx.hub)
        body.insert(QStringLiteral("event_hub"), m_ctx.hub->statsJson());
    if (m_events)
        body.insert(QStringLiteral("sse"), m_events->statsJson());
    if (!m_ctx.comfy) {
        body.insert(QStringLiteral("comfyui"), comfy);
        reply.json(200, body);
        return;
    }
    if (!m_ctx.pool) {
        m_ctx.comfy->http()->systemStats([reply, body, comfy](Result<QJsonObject> r) mutable {
            if (r)
                comfy.insert(QStringLiteral("system_stats"), r.value());
            else {
                comfy.insert(QStringLiteral("system_stats"), QJsonValue::Null);
                comfy.insert(QStringLiteral("error"), r.error().toJson());
            }
            body.insert(QStringLiteral("comfyui"), comfy);
            reply.json(200, body);
        });
        return;
    }
    // Every backend's stats, asked at once; "comfyui" stays the first backend's (the only one without a pool).
    struct Pending {
        QJsonObject body;
        QJsonObject comfy;
        QList<QJsonObject> backends;
        int left = 0;
    };
    auto pending = std::make_shared<Pending>();
    pending->body = body;
    pending->comfy = comfy;
    const QList<Backend *> &all = m_ctx.pool->backends();
    pending->left = int(all.size());
    for (int i = 0; i < all.size(); ++i) {
        QPointer<Backend> b = all.at(i);
        pending->backends.append({{QStringLiteral("name"), b->name()},
                                  {QStringLiteral("url"), b->settings().url.toString()},
                                  {QStringLiteral("state"), b->stateName()}});
        b->client()->http()->systemStats([reply, pending, b, i](Result<QJsonObject> r) {
            QJsonObject &entry = pending->backends[i];
            if (r) {
                entry.insert(QStringLiteral("system_stats"), r.value());
                if (b)
                    b->setLastSystemStats(r.value());
            } else {
                entry.insert(QStringLiteral("system_stats"), QJsonValue::Null);
                entry.insert(QStringLiteral("error"), r.error().toJson());
            }
            if (i == 0) {
                pending->comfy.insert(QStringLiteral("system_stats"), entry.value(QStringLiteral("system_stats")));
                if (!r)
                    pending->comfy.insert(QStringLiteral("error"), r.error().toJson());
            }
            if (--pending->left > 0)
                return;
            QJsonArray list;
            for (const QJsonObject &o : pending->backends)
                list.append(o);
            pending->body.insert(QStringLiteral("comfyui"), pending->comfy);
            pending->body.insert(QStringLiteral("backends"), list);
            reply.json(200, pending->body);
        });
    }
}

// GET /api/v1/openapi.json -> the OpenAPI 3.1 document of this API.
void SystemRoutes::openApi(const ApiRequest &, ApiReply reply)
{
    QFile f(QStringLiteral(":/comfyrunner/api/openapi.json"));
    if (!f.open(QIODevice::ReadOnly)) {
        reply.error(Error::make(ErrorCode::Internal, QStringLiteral("the OpenAPI document is missing from the build")));
        return;
    }
    reply.raw(200, f.readAll(), "application/json");
}

} // namespace cr
