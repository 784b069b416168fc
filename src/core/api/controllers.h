#pragma once
// The API's controllers, one per resource. Each installs its handlers into the route-id -> handler map of
// ApiServer; handlers take a copied ApiRequest and an ApiReply (answer now or later, exactly once). One
// style everywhere: a private member function per route (its doc comment above its definition), and
// install() a table of one-line forwards.

#include "core/api/apicontext.h"
#include "core/api/apijson.h"
#include "core/api/apiserver.h"
#include "core/api/ssestream.h"
#include "core/jobs/jobmanager.h"

#include <QObject>

class QNetworkAccessManager;

namespace cr {

class EventsRoutes;
class JobWaiter;

// GET /api/v1/health, /ready, /system, /openapi.json (systemroutes.cpp).
class SystemRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SystemRoutes)
public:
    // events: the SSE controller whose statistics /system shows; may be null.
    SystemRoutes(const ApiContext &ctx, const EventsRoutes *events, QObject *parent);
    void install(RouteHandlers &handlers);
    // The readiness verdict: empty when ready, else one sentence per reason.
    static QStringList notReadyReasons(const ApiContext &ctx);

private:
    void health(const ApiRequest &req, ApiReply reply);
    void ready(const ApiRequest &req, ApiReply reply);
    void system(const ApiRequest &req, ApiReply reply);
    void openApi(const ApiRequest &req, ApiReply reply);
    void metrics(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
    const EventsRoutes *m_events;
};

// GET /api/v1/events (Server-Sent Events of every JSON event, filtered like the WebSocket relay) and
// GET /api/v1/jobs/{id}/events (the job's event log as JSON, or with follow=true an SSE stream that ends
// with the job) (eventsroutes.cpp; one SseStream per open stream). Needs ctx.hub.
class EventsRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventsRoutes)
public:
    EventsRoutes(const ApiContext &ctx, QObject *parent);
    void install(RouteHandlers &handlers);
    const SseLimits &limits() const { return m_limits; } // SseLimits::from(config)
    int streamCount() const { return int(m_streams.size()); }
    // Ends every open stream (after what is queued); returns how many (the token changed).
    int endAll();
    // {"streams", "max_streams", "opened", "rejected", "ended": {"completed", "client_left", "too_slow"},
    //  "per_stream": [{"peer", "events_sent", "queued_bytes", "live_queued_bytes", "bytes_to_write"}]}
    QJsonObject statsJson() const;

private:
    void allEvents(const ApiRequest &req, ApiReply reply);
    void jobEvents(const ApiRequest &req, ApiReply reply);
    SseStream *openStream(ApiReply reply, SseStream::Options options);
    void onPublished(const RelayEventPtr &event);
    void onEnded(SseStream *stream, SseStream::EndReason reason);
    const ApiContext &m_ctx;
    SseLimits m_limits;
    QList<SseStream *> m_streams; // open streams, in the order they were opened
    quint64 m_opened = 0;
    quint64 m_rejected = 0;
    quint64 m_completed = 0;
    quint64 m_clientLeft = 0;
    quint64 m_tooSlow = 0;
};

// /api/v1/jobs... (jobsroutes.cpp, output streaming in outputstream.cpp).
class JobsRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobsRoutes)
public:
    JobsRoutes(const ApiContext &ctx, JobWaiter *waiter, QObject *parent);
    void install(RouteHandlers &handlers);
    // Output downloads in progress (their objects; one may linger until the event loop deletes it).
    int downloadCount() const { return int(m_downloads->children().size()); }

private:
    void create(const ApiRequest &req, ApiReply reply);
    void submit(JobRequest request, ApiReply reply, int waitFor); // create()'s last step
    void list(const ApiRequest &req, ApiReply reply);
    void get(const ApiRequest &req, ApiReply reply);
    void cancel(const ApiRequest &req, ApiReply reply);
    void output(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
    JobWaiter *m_waiter;
    QObject *m_downloads;  // parent of the downloads in progress (streamOutput)
    JobBodyCache m_bodies; // GET /api/v1/jobs/{id} of finished jobs
};

// /api/v1/workflows and the active draft (workflowsroutes.cpp).
class WorkflowsRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkflowsRoutes)
public:
    WorkflowsRoutes(const ApiContext &ctx, QObject *parent);
    void install(RouteHandlers &handlers);
    static QJsonObject draftJson(const ApiContext &ctx);

private:
    void list(const ApiRequest &req, ApiReply reply);
    void get(const ApiRequest &req, ApiReply reply);
    void draft(const ApiRequest &req, ApiReply reply);
    void patchDraft(const ApiRequest &req, ApiReply reply);
    void resetDraft(const ApiRequest &req, ApiReply reply);
    void switchDraft(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
};

// The routes of the Python project (legacyroutes.cpp).
class LegacyRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LegacyRoutes)
public:
    LegacyRoutes(const ApiContext &ctx, JobWaiter *waiter, QObject *parent);
    void install(RouteHandlers &handlers);

private:
    void status(const ApiRequest &req, ApiReply reply);
    void queue(const ApiRequest &req, ApiReply reply);
    void updateText(const ApiRequest &req, ApiReply reply);
    void updateImage(const ApiRequest &req, ApiReply reply);
    void generateImage(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
    JobWaiter *m_waiter;
    QNetworkAccessManager *m_nam;
};

// POST /api/v1/uploads: multipart/form-data passed on to ComfyUI's /upload/image (uploadsroutes.cpp).
class UploadsRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(UploadsRoutes)
public:
    UploadsRoutes(const ApiContext &ctx, QObject *parent);
    void install(RouteHandlers &handlers);

private:
    void upload(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
};

// /api/v1/backends: the pool's ComfyUIs, and draining one (backendsroutes.cpp).
class BackendsRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BackendsRoutes)
public:
    BackendsRoutes(const ApiContext &ctx, QObject *parent);
    void install(RouteHandlers &handlers);

private:
    void list(const ApiRequest &req, ApiReply reply);
    void get(const ApiRequest &req, ApiReply reply);
    void setDraining(const ApiRequest &req, ApiReply reply, bool draining);
    void refresh(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
};

// /api/v1/webhooks/deliveries: list, one, redeliver (webhooksroutes.cpp). Needs ctx.webhooks.
class WebhooksRoutes final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WebhooksRoutes)
public:
    WebhooksRoutes(const ApiContext &ctx, QObject *parent);
    void install(RouteHandlers &handlers);
    // The "webhook" object of GET /api/v1/jobs/{id}: {"url", "events", "deliveries": [...]}; null without one.
    static QJsonValue jobWebhookJson(const ApiContext &ctx, const Job &job);
    // POST /api/v1/jobs "webhook": absent/null (the [webhooks] url default applies), false (none, not even
    // the default), or {"url", "events"?}; checked by WebhookDispatcher::check.
    static Result<std::optional<JobWebhook>> parseJobWebhook(const ApiContext &ctx, const QJsonValue &value);

private:
    void list(const ApiRequest &req, ApiReply reply);
    void get(const ApiRequest &req, ApiReply reply);
    void redeliver(const ApiRequest &req, ApiReply reply);
    const ApiContext &m_ctx;
};

// Streams one output file from ComfyUI's /view to the client, with backpressure (outputstream.cpp), honouring
// one byte range of `rangeHeader` (byterange.h); an inline text output is answered from the job. The
// download is a child of `owner` until it ends; deleting it earlier closes the client's connection.
void streamOutput(const ApiContext &ctx, const QString &jobId, int index, ApiReply reply, QObject *owner,
                  const QByteArray &rangeHeader = {});

} // namespace cr
