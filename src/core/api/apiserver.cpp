#include "core/api/apiserver.h"
#include "core/api/apilog.h"

#include "core/api/apierrors.h"
#include "core/api/controllers.h"
#include "core/api/jobwaiter.h"
#include "core/common/auth.h"
#include "core/config/bindhost.h"
#include "core/metrics/httpmetrics.h"
#include "core/metrics/metricsregistry.h"

#include <QHostAddress>
#include <QHttpServer>
#include <QHttpServerRequest>
#include <QHttpServerResponder>

Q_LOGGING_CATEGORY(lcApi, "comfyrunner.api")

using namespace Qt::StringLiterals;

namespace cr {

namespace {

QByteArray methodName(QHttpServerRequest::Method m)
{
    using M = QHttpServerRequest::Method;
    switch (m) {
    case M::Get:
        return "GET";
    case M::Put:
        return "PUT";
    case M::Delete:
        return "DELETE";
    case M::Post:
        return "POST";
    case M::Head:
        return "HEAD";
    case M::Options:
        return "OPTIONS";
    case M::Patch:
        return "PATCH";
    case M::Connect:
        return "CONNECT";
    case M::Trace:
        return "TRACE";
    default:
        return "UNKNOWN";
    }
}

} // namespace

ApiServer::ApiServer(ApiContext context, QObject *parent)
    : QObject(parent), m_ctx(std::move(context)), m_http(new QHttpServer(this)), m_waiter(nullptr)
{
    m_limits.maxBodyBytes = m_ctx.config.http.maxBodyBytes;
    m_limits.maxConnections = m_ctx.config.http.maxConnections;
    if (m_ctx.jobs)
        m_waiter = new JobWaiter(m_ctx.jobs, this);

    if (m_ctx.hub) {
        m_events = new EventsRoutes(m_ctx, this);
        m_events->install(m_handlers);
    }
    auto *system = new SystemRoutes(m_ctx, m_events, this);
    system->install(m_handlers);
    auto *workflows = new WorkflowsRoutes(m_ctx, this);
    workflows->install(m_handlers);
    auto *uploads = new UploadsRoutes(m_ctx, this);
    uploads->install(m_handlers);
    if (m_ctx.pool) {
        auto *backends = new BackendsRoutes(m_ctx, this);
        backends->install(m_handlers);
    }
    if (m_waiter) {
        auto *jobs = new JobsRoutes(m_ctx, m_waiter, this);
        jobs->install(m_handlers);
        m_jobsRoutes = jobs;
        auto *legacy = new LegacyRoutes(m_ctx, m_waiter, this);
        legacy->install(m_handlers);
        auto *webhooks = new WebhooksRoutes(m_ctx, this);
        webhooks->install(m_handlers);
    }
    if (m_ctx.metrics)
        addMetricsCollectors();
    // Every request goes through our own route table (JSON 404, 405 + Allow, HEAD, auth).
    m_http->setMissingHandler([this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
        dispatch(request, std::move(responder));
    });
}

ApiServer::~ApiServer()
{
    // Every connection is aborted while all parts are alive: its `disconnected` ends the SSE stream, the job
    // wait or the download on it. Then QHttpServer goes first; were it left to ~QObject, its sockets would
    // signal from their destructors into the streams, waiters and downloads.
    if (m_tcp) {
        m_tcp->close();
        const QList<GuardedSocket *> sockets = m_tcp->findChildren<GuardedSocket *>(Qt::FindDirectChildrenOnly);
        for (GuardedSocket *socket : sockets)
            socket->abort();
    }
    delete m_http;
    m_http = nullptr;
}

void ApiServer::addMetricsCollectors()
{
    // Label values are the route patterns of the table ("/api/v1/jobs/{id}"), never raw paths.
    QList<QByteArray> patterns;
    for (const RouteSpec &spec : routeTable())
        patterns.append(spec.path);
    m_httpMetrics = std::make_unique<HttpMetrics>(patterns);
    for (const RouteSpec &spec : routeTable())
        m_metricsRoute.append(m_httpMetrics->routeIndex(spec.path));
    m_ctx.metrics->add(this, [this](MetricsWriter &w) {
        m_httpMetrics->write(w);
        if (!m_events)
            return;
        // Read at scrape time from the SSE controller's own counters.
        const QJsonObject sse = m_events->statsJson();
        const QJsonObject ended = sse.value("ended"_L1).toObject();
        w.single("comfyrunner_sse_streams", MetricType::Gauge, "Server-Sent Events streams open now.",
                 sse.value("streams"_L1).toDouble());
        w.single("comfyrunner_sse_streams_opened_total", MetricType::Counter, "Server-Sent Events streams opened.",
                 sse.value("opened"_L1).toDouble());
        w.single("comfyrunner_sse_streams_rejected_total", MetricType::Counter,
                 "Server-Sent Events streams refused (503 too_many_streams).", sse.value("rejected"_L1).toDouble());
        w.family("comfyrunner_sse_streams_closed_total", MetricType::Counter,
                 "Server-Sent Events streams ended, by reason (too_slow: closed as too slow a reader).");
        for (const char *reason : {"completed", "client_left", "too_slow"})
            w.value({{"reason", reason}}, ended.value(QLatin1String(reason)).toDouble());
    });
}

int ApiServer::downloadCount() const { return m_jobsRoutes ? m_jobsRoutes->downloadCount() : 0; }

int ApiServer::waitingCount() const { return m_waiter ? m_waiter->waitingCount() : 0; }

void ApiServer::setLimits(const HttpLimits &limits)
{
    m_limits = limits;
    if (m_tcp)
        m_tcp->setLimits(limits);
}

void ApiServer::setConfig(const Config &config)
{
    const bool tokenChanged = config.authToken != m_ctx.config.authToken && !config.authToken.isEmpty();
    const HttpSettings bound = m_ctx.config.http;
    m_ctx.config = config;
    m_ctx.config.http.host = bound.host;
    m_ctx.config.http.port = bound.port;
    m_limits.maxBodyBytes = config.http.maxBodyBytes;
    m_limits.maxConnections = config.http.maxConnections;
    setLimits(m_limits);
    if (tokenChanged && m_events) {
        if (const int ended = m_events->endAll(); ended > 0)
            qCInfo(lcApi).noquote() << QStringLiteral("the token changed: ended %1 event stream(s)").arg(ended);
    }
}

SseLimits ApiServer::sseLimits() const { return m_events ? m_events->limits() : SseLimits::from(m_ctx.config); }

QJsonObject ApiServer::sseStatsJson() const { return m_events ? m_events->statsJson() : QJsonObject(); }

bool ApiServer::listen(QString *error)
{
    const QString host = m_ctx.config.http.host;
    const std::optional<QHostAddress> address = resolveBindHost(host);
    if (!address) {
        if (error)
            *error = QStringLiteral("[http-server] host \"%1\" is not an IP address").arg(host);
        return false;
    }
    auto *tcp = new GuardedTcpServer(m_limits, this);
    if (!tcp->listen(*address, m_ctx.config.http.port)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(host)
                         .arg(m_ctx.config.http.port)
                         .arg(tcp->errorString());
        delete tcp;
        return false;
    }
    m_http->bind(tcp);
    m_tcp = tcp;
    m_port = tcp->serverPort();
    m_address = tcp->serverAddress();
    qCInfo(lcApi).noquote() << QStringLiteral("REST API listening on http://%1").arg(hostPortString(m_address, m_port));
    return true;
}

bool ApiServer::authorized(const ApiRequest &request, bool queryToken) const
{
    TokenCheck check;
    check.queryTokenAllowed = queryToken;
    for (const auto &h : request.headers)
        if (h.first.compare("Authorization", Qt::CaseInsensitive) == 0) {
            check.authorization = h.second;
            break;
        }
    if (request.query.hasQueryItem(QStringLiteral("token")))
        check.queryToken = request.query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded).toUtf8();
    return tokenAccepted(m_ctx.config.authToken.toUtf8(), check);
}

void ApiServer::dispatch(const QHttpServerRequest &request, QHttpServerResponder &&responder)
{
    ApiRequest req;
    req.method = methodName(request.method());
    req.path = request.url().path();
    req.query = request.query();
    req.headers = request.headers();
    req.body = request.body();
    req.peer = request.remoteAddress().toString();
    const bool head = req.method == "HEAD";
    ApiReply reply(std::move(responder), head);
    qCDebug(lcApi).noquote() << req.method << req.path << "from" << req.peer;

    const QByteArray wanted = head ? QByteArray("GET") : req.method;
    const RouteSpec *hit = nullptr;
    QStringList allowed;
    int metricsRoute = -1; // the first route whose path matches, whatever the method
    const QList<RouteSpec> &table = routeTable();
    for (qsizetype row = 0; row < table.size(); ++row) {
        const RouteSpec &spec = table.at(row);
        QStringList args;
        if (!matchRoute(QLatin1StringView(spec.path), QStringView(req.path), &args))
            continue;
        if (m_httpMetrics && metricsRoute < 0)
            metricsRoute = m_metricsRoute.at(row);
        if (isLegacyRoute(spec.id))
            reply.useLegacyStatus(); // its 401 and 405 answers too
        const bool headable = qstrcmp(spec.method, "GET") == 0 && spec.id != RouteId::LegacyQueue;
        allowed << QLatin1String(spec.method);
        if (headable)
            allowed << QStringLiteral("HEAD");
        if (wanted == spec.method && (!head || headable)) {
            hit = &spec;
            req.args = args;
        }
    }
    if (m_httpMetrics)
        reply.countIn(m_httpMetrics.get(), metricsRoute < 0 ? m_httpMetrics->otherRoute() : metricsRoute,
                      HttpMetrics::methodIndex(req.method));
    const bool open = hit && (hit->public_ || (hit->id == RouteId::Metrics && m_ctx.config.metrics.publicAccess));
    if (!open && !authorized(req, hit && hit->queryToken)) {
        reply.error(Error::make(ErrorCode::Unauthorized, QStringLiteral("a valid bearer token is required")),
                    {{"WWW-Authenticate", "Bearer"}});
        return;
    }
    if (!hit && allowed.isEmpty()) {
        reply.error(Error::make(ErrorCode::NotFound,
                                QStringLiteral("no route for %1 %2").arg(QString::fromLatin1(req.method), req.path)));
        return;
    }
    if (!hit) {
        allowed.removeDuplicates();
        reply.error(
            Error::make(ErrorCode::MethodNotAllowed,
                        QStringLiteral("%1 is not allowed on %2").arg(QString::fromLatin1(req.method), req.path),
                        {{QStringLiteral("allow"), allowed.join(QStringLiteral(", "))}}),
            {{"Allow", allowed.join(QStringLiteral(", ")).toLatin1()}});
        return;
    }
    const auto handler = m_handlers.constFind(hit->id);
    if (handler == m_handlers.cend()) {
        // Permanent for this process (e.g. no JobManager or event hub was given): 404, not a retryable 503.
        reply.error(Error::make(ErrorCode::NotFound,
                                QStringLiteral("%1 %2 is not available in this configuration")
                                    .arg(QString::fromLatin1(req.method), req.path)));
        return;
    }
    (*handler)(req, reply);
}

} // namespace cr
