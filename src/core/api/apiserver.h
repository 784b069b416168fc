#pragma once
// The REST API: owns the QHttpServer (every QHttpServer call of the project lives in src/core/api), the
// socket guard below it, the route table dispatch (JSON 404, 405 with Allow, HEAD for GET routes), bearer
// auth, and the controllers that implement the routes, one per resource (Server-Sent Events when ctx.hub
// is set).

#include "core/api/apicontext.h"
#include "core/api/apiexchange.h"
#include "core/api/httpguard.h"
#include "core/api/routetable.h"
#include "core/api/ssestream.h"

#include <QHash>
#include <QHostAddress>
#include <QJsonObject>
#include <QObject>

#include <functional>
#include <memory>

class QHttpServer;
class QHttpServerRequest;
class QHttpServerResponder;

namespace cr {

class EventsRoutes;
class HttpMetrics;
class JobsRoutes;
class JobWaiter;

using RouteHandler = std::function<void(const ApiRequest &, ApiReply)>;
using RouteHandlers = QHash<RouteId, RouteHandler>;

class ApiServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ApiServer)

public:
    explicit ApiServer(ApiContext context, QObject *parent = nullptr);
    ~ApiServer() override;

    // Limits of the socket guard (defaults: config.http.maxBodyBytes, 64 KiB head, 60 s idle, 30 s to receive
    // a request head, 30 s without a body byte); they apply to connections accepted afterwards.
    void setLimits(const HttpLimits &limits);
    HttpLimits limits() const { return m_limits; }
    // Bounds of the Server-Sent Events streams: SseLimits::from(config).
    SseLimits sseLimits() const;
    // The SSE statistics shown under "sse" by /api/v1/system (EventsRoutes::statsJson); empty without a hub.
    QJsonObject sseStatsJson() const;
    // Binds config.http.host:port (port 0: any free port). False with a sentence in *error.
    bool listen(QString *error);
    quint16 port() const { return m_port; }
    QHostAddress address() const { return m_address; } // the bound address
    // Output downloads (GET /api/v1/jobs/{id}/outputs/{i}) in progress, and requests parked until their job
    // ends (GET /queue, POST /api/v1/jobs with "wait"); both 0 without a JobManager.
    int downloadCount() const;
    int waitingCount() const;
    const ApiContext &context() const { return m_ctx; }
    // A reload: the controllers see the new configuration from the next request on (token, wait_timeout,
    // node_red_url, node mappings); max_body_mb and max_connections apply to connections accepted
    // afterwards. When the token changed to another non-empty one, open event streams are ended (their
    // clients reconnect with the new token). Host, port and the SSE limits stay as they were.
    void setConfig(const Config &config);

private:
    void dispatch(const QHttpServerRequest &request, QHttpServerResponder &&responder);
    bool authorized(const ApiRequest &request, bool queryToken) const;
    void addMetricsCollectors(); // HTTP requests and SSE streams, into ctx.metrics

    ApiContext m_ctx;
    HttpLimits m_limits;
    QHttpServer *m_http;
    GuardedTcpServer *m_tcp = nullptr;
    JobWaiter *m_waiter;
    EventsRoutes *m_events = nullptr;
    JobsRoutes *m_jobsRoutes = nullptr;
    RouteHandlers m_handlers;
    QList<QObject *> m_controllers;
    std::unique_ptr<HttpMetrics> m_httpMetrics; // null when ctx.metrics is null
    QList<int> m_metricsRoute;                  // route table row -> HttpMetrics route index
    quint16 m_port = 0;
    QHostAddress m_address;
};

} // namespace cr
