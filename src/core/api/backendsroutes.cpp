// /api/v1/backends: the ComfyUIs of the pool, their state and what they hold; drain and resume one.

#include "core/api/controllers.h"
#include "core/api/routetable.h"

#include "core/jobs/jobmanager.h"
#include "core/pool/backendpool.h"

#include <QJsonArray>

namespace cr {

namespace {

Error notFound(const QString &name)
{
    return Error::make(ErrorCode::BackendNotFound, QStringLiteral("no backend named \"%1\"").arg(name),
                       {{QStringLiteral("backend"), name}});
}

} // namespace

BackendsRoutes::BackendsRoutes(const ApiContext &ctx, QObject *parent) : QObject(parent), m_ctx(ctx) { }

void BackendsRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::ListBackends, [this](const ApiRequest &r, ApiReply reply) { list(r, reply); });
    h.insert(RouteId::GetBackend, [this](const ApiRequest &r, ApiReply reply) { get(r, reply); });
    h.insert(RouteId::DrainBackend, [this](const ApiRequest &r, ApiReply reply) { setDraining(r, reply, true); });
    h.insert(RouteId::ResumeBackend, [this](const ApiRequest &r, ApiReply reply) { setDraining(r, reply, false); });
    h.insert(RouteId::RefreshBackend, [this](const ApiRequest &r, ApiReply reply) { refresh(r, reply); });
}

// GET /api/v1/backends -> {"backends": [Backend::toJson()...] in configuration order, "waiting": jobs in the
// runner's queue}.
void BackendsRoutes::list(const ApiRequest &, ApiReply reply)
{
    QJsonArray out;
    for (const Backend *b : m_ctx.pool->backends())
        out.append(b->toJson());
    reply.json(200,
               QJsonObject{{QStringLiteral("backends"), out},
                           {QStringLiteral("waiting"), m_ctx.jobs ? m_ctx.jobs->waitingCount() : 0}});
}

// GET /api/v1/backends/{name} -> the backend | 404 backend_not_found.
void BackendsRoutes::get(const ApiRequest &req, ApiReply reply)
{
    const Backend *b = m_ctx.pool->find(req.arg(0));
    if (!b)
        return reply.error(notFound(req.arg(0)));
    reply.json(200, b->toJson());
}

// POST /api/v1/backends/{name}/drain | /resume -> 200 the backend | 404 backend_not_found. Draining: no new
// jobs are handed to it; what it holds (running or queued there) finishes.
void BackendsRoutes::setDraining(const ApiRequest &req, ApiReply reply, bool draining)
{
    Backend *b = m_ctx.pool->find(req.arg(0));
    if (!b)
        return reply.error(notFound(req.arg(0)));
    b->setDraining(draining);
    reply.json(200, b->toJson());
}

// POST /api/v1/backends/{name}/refresh -> 202 the backend | 404 backend_not_found: its /object_info and model
// folders are read again (after models were added to it, say); node_count and model_count follow.
void BackendsRoutes::refresh(const ApiRequest &req, ApiReply reply)
{
    Backend *b = m_ctx.pool->find(req.arg(0));
    if (!b)
        return reply.error(notFound(req.arg(0)));
    b->refresh();
    reply.json(202, b->toJson());
}

} // namespace cr
