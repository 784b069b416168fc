// The routes of the Python project, same paths and answer shapes (its "STATUS" sentences, legacyanswers.h),
// with proper status codes and the common error object beside them. State changes on GET /queue are the
// documented exception to "no state change on GET".

#include "core/api/apierrors.h"
#include "core/api/apijson.h"
#include "core/api/controllers.h"
#include "core/api/jobwaiter.h"
#include "core/api/legacyanswers.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/relay/relayserver.h"
#include "core/workflows/activedraft.h"

#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTcpSocket>
#include <QTimer>

namespace cr {

namespace {

// The legacy routes need a loaded active workflow: 400 no_workflow ("No workflow loaded") otherwise.
Error noDraft(const ApiContext &ctx)
{
    if (!ctx.draft)
        return Error::make(ErrorCode::NoWorkflow,
                           QStringLiteral("no active workflow is configured ([comfy] workflow)"));
    return Error::make(ErrorCode::NoWorkflow,
                       QStringLiteral("the active workflow \"%1\" is not loaded").arg(ctx.draft->name()),
                       {{QStringLiteral("workflow"), ctx.draft->name()}});
}

bool hasDraft(const ApiContext &ctx) { return ctx.draft && ctx.draft->hasDraft(); }

void answerNoDraft(const ApiContext &ctx, const ApiReply &reply)
{
    const Error e = noDraft(ctx);
    reply.json(httpStatusFor(e.code), legacy::errorBody(e, legacy::noWorkflowLoaded()));
}

// "node_id": "6", "194:45" (subgraph ids) or 6 -> the id; absent -> ""; other types -> type_mismatch.
Result<QString> nodeIdField(const QJsonObject &body)
{
    const QJsonValue v = body.value(QLatin1String("node_id"));
    if (v.isUndefined() || v.isNull())
        return QString();
    if (v.isString() && !v.toString().isEmpty())
        return v.toString();
    if (v.isDouble() && v.toDouble() == double(qint64(v.toDouble())))
        return QString::number(qint64(v.toDouble()));
    return Error::make(ErrorCode::TypeMismatch, QStringLiteral("\"node_id\" must be a non-empty string or an integer"),
                       {{QStringLiteral("field"), QStringLiteral("node_id")}});
}

// The body of POST /update/text and /update/image: a JSON object and its optional node_id ("" without).
struct UpdateBody {
    QJsonObject fields;
    QString nodeId;
};

Result<UpdateBody> parseUpdateBody(const ApiRequest &req)
{
    const Result<QJsonObject> body = parseJsonObject(req);
    if (!body)
        return body.error();
    const Result<QString> node = nodeIdField(*body);
    if (!node)
        return node.error();
    return UpdateBody{*body, *node};
}

// The answer of an edit that failed on a node: the Python project's "Failed to update ... in node N".
void answerEditFailed(const ApiReply &reply, const Error &e, const QString &status)
{
    reply.json(httpStatusFor(e.code), legacy::errorBody(e, status));
}

// ComfyUI's "host:port" (the Python project's comfy_server).
QString hostPort(const QUrl &url)
{
    const QString host
        = url.host().contains(QLatin1Char(':')) ? QLatin1Char('[') + url.host() + QLatin1Char(']') : url.host();
    return host + QLatin1Char(':') + QString::number(url.port(url.scheme() == QLatin1String("https") ? 443 : 80));
}

// A failed, cancelled or lost run of GET /queue: the error, the Python sentence and execution_status.
void answerRunFailed(const Job &job, const ApiReply &rep)
{
    const bool cancelled = job.state == JobState::Cancelled;
    const Error e = cancelled
        ? Error::make(ErrorCode::JobConflict, QStringLiteral("the run was cancelled"),
                      {{QStringLiteral("job"), jobToJson(job)}})
        : Error::make(ErrorCode::ComfyError,
                      job.comfyError
                          ? job.comfyError->exceptionMessage
                          : QStringLiteral("the run ended as %1: %2").arg(jobStateName(job.state), job.reason),
                      {{QStringLiteral("job"), jobToJson(job)}});
    rep.json(httpStatusFor(e.code),
             legacy::errorBody(e, legacy::queueFailed(job.state),
                               {{QStringLiteral("execution_status"), legacy::executionStatus(&job)},
                                {QStringLiteral("prompt_id"), job.id},
                                {QStringLiteral("job_id"), job.id}}));
}

} // namespace

LegacyRoutes::LegacyRoutes(const ApiContext &ctx, JobWaiter *waiter, QObject *parent)
    : QObject(parent), m_ctx(ctx), m_waiter(waiter), m_nam(new QNetworkAccessManager(this))
{ }

void LegacyRoutes::install(RouteHandlers &h)
{
    // GET /health -> 200 {"STATUS": "ComfyUI Workflow Runner is running", "status": "ok"} (public).
    h.insert(RouteId::LegacyHealth, [](const ApiRequest &, ApiReply reply) {
        reply.json(200, legacy::withStatus(legacy::healthStatus(), {{QStringLiteral("status"), QStringLiteral("ok")}}));
    });
    h.insert(RouteId::LegacyStatus, [this](const ApiRequest &r, ApiReply reply) { status(r, reply); });
    h.insert(RouteId::LegacyQueue, [this](const ApiRequest &r, ApiReply reply) { queue(r, reply); });
    h.insert(RouteId::LegacyUpdateText, [this](const ApiRequest &r, ApiReply reply) { updateText(r, reply); });
    h.insert(RouteId::LegacyUpdatePrompt, [this](const ApiRequest &r, ApiReply reply) { updateText(r, reply); });
    h.insert(RouteId::LegacyUpdateImage, [this](const ApiRequest &r, ApiReply reply) { updateImage(r, reply); });
    h.insert(RouteId::LegacyGenerateImage, [this](const ApiRequest &r, ApiReply reply) { generateImage(r, reply); });
    // POST /interrupt -> {"STATUS": "Interrupt request received, processing...", "status": "success",
    //   "cancelled": n}: cancels this service's unfinished jobs only (never other clients' work in ComfyUI).
    h.insert(RouteId::LegacyInterrupt, [this](const ApiRequest &, ApiReply reply) {
        const int n = m_ctx.jobs->cancelAll();
        reply.json(200,
                   legacy::withStatus(
                       legacy::interruptReceived(),
                       {{QStringLiteral("status"), QStringLiteral("success")}, {QStringLiteral("cancelled"), n}}));
    });
}

// GET /status -> {"STATUS": "Server running", "execution_status": idle|running|completed|error|interrupted,
//   "current_prompt_id": id | null, "workflow_loaded", "connected_ws_clients", "comfy_server": "host:port",
//   "save_image_node_id": id | null, and ours: "status": "ok" | "degraded", "comfyui": connection state,
//   "workflow": name | null, "draft_modified", "queue": active jobs, "jobs": {active, total}}.
// execution_status and current_prompt_id follow the running job, else the newest one.
void LegacyRoutes::status(const ApiRequest &, ApiReply reply)
{
    const ConnectionState cs = m_ctx.comfy ? m_ctx.comfy->state() : ConnectionState::Disconnected;
    const bool loaded = hasDraft(m_ctx);
    const int active = m_ctx.jobs->activeCount();
    JobFilter newest;
    newest.limit = 1;
    const JobPage all = m_ctx.jobs->list(newest);
    newest.state = JobState::Running;
    const JobPage running = m_ctx.jobs->list(newest);
    const Job *current = !running.jobs.isEmpty() ? &running.jobs.first()
        : all.jobs.isEmpty()                     ? nullptr
                                                 : &all.jobs.first();
    const QString saveNode = loaded ? m_ctx.draft->workflow().saveImageNodeId() : QString();
    auto orNull = [](const QString &s) { return s.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(s); };
    reply.json(
        200,
        legacy::withStatus(
            legacy::serverRunning(),
            {
                {QStringLiteral("execution_status"), legacy::executionStatus(current)},
                {QStringLiteral("current_prompt_id"), current ? QJsonValue(current->id) : QJsonValue(QJsonValue::Null)},
                {QStringLiteral("workflow_loaded"), loaded},
                {QStringLiteral("connected_ws_clients"), m_ctx.relay ? m_ctx.relay->clientCount() : 0},
                // The first backend's (the only one without [[backends]]).
                {QStringLiteral("comfy_server"),
                 hostPort(m_ctx.comfy ? m_ctx.comfy->http()->baseUrl() : m_ctx.config.comfy.url)},
                {QStringLiteral("save_image_node_id"), orNull(saveNode)},
                {QStringLiteral("status"),
                 cs == ConnectionState::Connected && loaded ? QStringLiteral("ok") : QStringLiteral("degraded")},
                {QStringLiteral("comfyui"), connectionStateName(cs)},
                {QStringLiteral("workflow"),
                 m_ctx.draft ? QJsonValue(m_ctx.draft->name()) : QJsonValue(QJsonValue::Null)},
                {QStringLiteral("draft_modified"), loaded && m_ctx.draft->isModified()},
                {QStringLiteral("queue"), active},
                {QStringLiteral("jobs"),
                 QJsonObject{{QStringLiteral("active"), active}, {QStringLiteral("total"), all.total}}},
            }));
}

// GET /queue: runs a copy of the active draft and blocks until it ends (bounded by wait_timeout_ms).
// -> 200 {"STATUS": "completed successfully", "type": "image_generated", "image_filename", "image_url",
//   "prompt_id", and ours: "status": "success", "job_id", "images": [{filename, subfolder, type, node_id, url}]}
//   (URLs absolute, through the request's Host).
// Errors (each with "STATUS" and "error"): 400 no_workflow "No workflow loaded"; 502 no_output "completed but
// no image found" (+ prompt_id); 502 comfy_error / 409 job_conflict (cancelled) / 422 comfy_validation /
// 502 comfy_unreachable "generation failed - error|interrupted" (+ execution_status); 504 wait_timeout
// "workflow timeout - check /status for completion" (+ current_prompt_id, Location of the job).
void LegacyRoutes::queue(const ApiRequest &request, ApiReply reply)
{
    // Python clients fetch image_url as it is: make it absolute, through the host the client used.
    const QByteArray host = request.header("Host");
    const QString base = host.isEmpty() ? QString() : QStringLiteral("http://") + QString::fromLatin1(host);
    if (!hasDraft(m_ctx))
        return answerNoDraft(m_ctx, reply);
    JobRequest jr{m_ctx.draft->name(), m_ctx.draft->workflow().graph(), QString()};
    const int bound = m_ctx.config.http.waitTimeoutMs;
    m_ctx.jobs->submit(std::move(jr), this, [this, reply, bound, base](Result<Job> r, bool) {
        if (!r)
            return reply.json(httpStatusFor(r.error().code),
                              legacy::errorBody(r.error(), legacy::queueFailed(JobState::Failed),
                                                {{QStringLiteral("execution_status"), QStringLiteral("error")}}));
        m_waiter->wait(
            r->id, reply, bound,
            [base](const Job &job, ApiReply rep) {
                if (job.state != JobState::Succeeded)
                    return answerRunFailed(job, rep);
                if (job.outputs.isEmpty()) {
                    const Error e = Error::make(ErrorCode::NoOutput,
                                                QStringLiteral("the run succeeded but produced no output file"),
                                                {{QStringLiteral("job"), jobToJson(job)}});
                    return rep.json(
                        httpStatusFor(e.code),
                        legacy::errorBody(e, legacy::queueNoImage(),
                                          {{QStringLiteral("prompt_id"), job.id}, {QStringLiteral("job_id"), job.id}}));
                }
                QJsonArray images;
                for (int i = 0; i < job.outputs.size(); ++i) {
                    const NodeOutputFile &f = job.outputs.at(i);
                    images.append(QJsonObject{{QStringLiteral("filename"), f.file.filename},
                                              {QStringLiteral("subfolder"), f.file.subfolder},
                                              {QStringLiteral("type"), f.file.type},
                                              {QStringLiteral("node_id"), f.nodeId},
                                              {QStringLiteral("url"), base + outputUrl(job.id, i)}});
                }
                rep.json(200,
                         legacy::withStatus(legacy::queueCompleted(),
                                            {
                                                {QStringLiteral("type"), QStringLiteral("image_generated")},
                                                {QStringLiteral("status"), QStringLiteral("success")},
                                                {QStringLiteral("prompt_id"), job.id},
                                                {QStringLiteral("job_id"), job.id},
                                                {QStringLiteral("image_filename"), job.outputs.first().file.filename},
                                                {QStringLiteral("image_url"), base + outputUrl(job.id, 0)},
                                                {QStringLiteral("images"), images},
                                            }));
            },
            [](const Job &job, ApiReply rep) {
                const QString &id = job.id;
                const QString location = QStringLiteral("/api/v1/jobs/%1").arg(id);
                const Error e = Error::make(ErrorCode::WaitTimeout,
                                            QStringLiteral("job %1 is still running; poll its URL or /status").arg(id),
                                            {{QStringLiteral("job_id"), id}, {QStringLiteral("url"), location}});
                rep.json(httpStatusFor(e.code),
                         legacy::errorBody(e, legacy::queueTimeout(),
                                           {{QStringLiteral("current_prompt_id"), id}, {QStringLiteral("job_id"), id}}),
                         {{"Location", location.toUtf8()}});
            });
    });
}

// POST /update/text and /update/prompt {"node_id"?: "6" | 6 | "194:45", "text": "..."} ->
//   {"STATUS": "Updated text in node 6 successfully", "status": "success", "node_id", "input", "text"}.
//   Without node_id the `prompt` parameter ([node_mappings] or node title) is set.
// Errors (each with "STATUS" and "error"): 400 with what is wrong in the body; 400 no_workflow; 404
//   unknown_node and other failed edits "Failed to update text in node N".
void LegacyRoutes::updateText(const ApiRequest &req, ApiReply reply)
{
    const Result<UpdateBody> update = parseUpdateBody(req);
    if (!update)
        return reply.error(update.error());
    const QJsonObject &body = update->fields;
    const Result<QString> text = stringField(body, QStringLiteral("text"), false);
    if (!text)
        return reply.error(text.error());
    if (!body.contains(QLatin1String("text")))
        return reply.error(Error::make(ErrorCode::MissingField, QStringLiteral("field \"text\" is required"),
                                       {{QStringLiteral("field"), QStringLiteral("text")}}));
    if (!hasDraft(m_ctx))
        return answerNoDraft(m_ctx, reply);
    QString nodeId = update->nodeId, input;
    if (nodeId.isEmpty()) {
        const Result<Parameter> p
            = m_ctx.draft->workflow().resolveParameter(QStringLiteral("prompt"), m_ctx.draft->mappings());
        if (!p)
            return reply.error(p.error());
        nodeId = p->nodeId;
        input = p->input;
        if (Status s = m_ctx.draft->setParameter(QStringLiteral("prompt"), *text))
            return answerEditFailed(reply, *s, legacy::failedText(nodeId));
    } else {
        const Result<QString> in = m_ctx.draft->workflow().textInput(nodeId);
        input = in ? *in : QString();
        if (Status s = m_ctx.draft->setText(nodeId, *text))
            return answerEditFailed(reply, *s, legacy::failedText(nodeId));
    }
    reply.json(200,
               legacy::withStatus(legacy::updatedText(nodeId),
                                  {{QStringLiteral("status"), QStringLiteral("success")},
                                   {QStringLiteral("node_id"), nodeId},
                                   {QStringLiteral("input"), input},
                                   {QStringLiteral("text"), *text}}));
}

// POST /update/image {"node_id"?: "10", "image" | "filename": "name.png"} -> {"STATUS": "Updated image in
//   node 10 to name.png successfully", "status": "success", "node_id", "image"}. Without node_id the `image`
//   parameter is set. Errors as /update/text ("Failed to update image in node N").
void LegacyRoutes::updateImage(const ApiRequest &req, ApiReply reply)
{
    const Result<UpdateBody> update = parseUpdateBody(req);
    if (!update)
        return reply.error(update.error());
    const QJsonObject &body = update->fields;
    const QString key = body.contains(QLatin1String("image")) ? QStringLiteral("image") : QStringLiteral("filename");
    const Result<QString> image = stringField(body, key, true);
    if (!image)
        return reply.error(!body.contains(key) ? Error::make(
                               ErrorCode::MissingField, QStringLiteral("field \"image\" (or \"filename\") is required"),
                               {{QStringLiteral("field"), QStringLiteral("image")}})
                                               : image.error());
    if (!hasDraft(m_ctx))
        return answerNoDraft(m_ctx, reply);
    QString nodeId = update->nodeId;
    if (nodeId.isEmpty()) {
        const Result<Parameter> p
            = m_ctx.draft->workflow().resolveParameter(QStringLiteral("image"), m_ctx.draft->mappings());
        if (!p)
            return reply.error(p.error());
        nodeId = p->nodeId;
        if (Status s = m_ctx.draft->setParameter(QStringLiteral("image"), *image))
            return answerEditFailed(reply, *s, legacy::failedImage(nodeId));
    } else if (Status s = m_ctx.draft->setImage(nodeId, *image)) {
        return answerEditFailed(reply, *s, legacy::failedImage(nodeId));
    }
    reply.json(200,
               legacy::withStatus(legacy::updatedImage(nodeId, *image),
                                  {{QStringLiteral("status"), QStringLiteral("success")},
                                   {QStringLiteral("node_id"), nodeId},
                                   {QStringLiteral("image"), *image}}));
}

namespace {

// Why a Node-RED answer was cut off (set on the reply before abort(), read when it finishes).
constexpr char kAbortReason[] = "cr_upstream_abort";

// 502 upstream_error: Node-RED answered, but not with something to pass on. reason: timeout, too_large,
// status, invalid_response.
Error upstreamError(const QUrl &target, const QString &reason, const QString &message, QJsonObject details = {})
{
    details.insert(QStringLiteral("url"), target.toString());
    details.insert(QStringLiteral("reason"), reason);
    return Error::make(ErrorCode::UpstreamError, message, details);
}

} // namespace

// POST /generate/image: the body is forwarded to [http-server] node_red_url. A 2xx or 4xx answer comes back
// with its status, content type and body as they are. 502 upstream_unreachable when it cannot be reached;
// 502 upstream_error (details.reason) when it answers with another status ("status", details.status), a body
// over max_body_mb ("too_large"), no answer within wait_timeout ("timeout") or something that is not HTTP
// ("invalid_response").
void LegacyRoutes::generateImage(const ApiRequest &req, ApiReply reply)
{
    const QUrl target = m_ctx.config.http.nodeRedUrl;
    if (!target.isValid() || target.isEmpty())
        return reply.error(
            Error::make(ErrorCode::UpstreamUnreachable, QStringLiteral("no node_red_url is configured")));
    QNetworkRequest nr(target);
    const QByteArray type = req.header("Content-Type");
    nr.setHeader(QNetworkRequest::ContentTypeHeader, type.isEmpty() ? QByteArray("application/json") : type);
    nr.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                    QNetworkRequest::ManualRedirectPolicy); // 3xx: upstream_error
    QNetworkReply *up = m_nam->post(nr, req.body);
    const auto abortWith = [up](const char *reason) {
        if (!up->property(kAbortReason).isValid()) {
            up->setProperty(kAbortReason, QByteArray(reason));
            up->abort();
        }
    };
    // The whole exchange is bounded (a trickling upstream resets a transfer timeout forever), and so is the
    // body kept in memory: the declared length and the bytes received so far.
    const qint64 cap = m_ctx.config.http.maxBodyBytes;
    const int timeoutMs = m_ctx.config.http.waitTimeoutMs;
    QTimer::singleShot(timeoutMs, up, [abortWith] { abortWith("timeout"); });
    connect(up, &QNetworkReply::downloadProgress, up, [abortWith, cap](qint64 received, qint64 total) {
        if (received > cap || total > cap)
            abortWith("too_large");
    });
    // A client that leaves stops the forwarded request too.
    if (QTcpSocket *socket = reply.socket())
        connect(socket, &QAbstractSocket::disconnected, up, &QNetworkReply::abort);
    connect(up, &QNetworkReply::finished, this, [up, reply, target, cap, timeoutMs]() mutable {
        up->deleteLater();
        const QByteArray aborted = up->property(kAbortReason).toByteArray();
        if (aborted == "timeout")
            return reply.error(
                upstreamError(target, QStringLiteral("timeout"),
                              QStringLiteral("%1 did not answer within %2 ms").arg(target.toString()).arg(timeoutMs)));
        if (aborted == "too_large")
            return reply.error(
                upstreamError(target, QStringLiteral("too_large"),
                              QStringLiteral("%1 sent a body over %2 bytes").arg(target.toString()).arg(cap),
                              {{QStringLiteral("limit"), double(cap)}}));
        const int status = up->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QNetworkReply::NetworkError error = up->error();
        // Connected, then no HTTP answer came (garbage, or closed without one): it misbehaves, it is not unreachable.
        if (status == 0
            && (error == QNetworkReply::RemoteHostClosedError || error == QNetworkReply::ProtocolFailure
                || error == QNetworkReply::ProtocolUnknownError))
            return reply.error(upstreamError(
                target, QStringLiteral("invalid_response"),
                QStringLiteral("%1 did not answer with HTTP: %2").arg(target.toString(), up->errorString())));
        if (status == 0)
            return reply.error(
                Error::make(ErrorCode::UpstreamUnreachable,
                            QStringLiteral("cannot reach %1: %2").arg(target.toString(), up->errorString()),
                            {{QStringLiteral("url"), target.toString()}}));
        const QByteArray body = up->readAll();
        if (status < 200 || (status > 299 && status < 400) || status > 499)
            return reply.error(upstreamError(
                target, QStringLiteral("status"),
                QStringLiteral("%1 answered HTTP %2").arg(target.toString()).arg(status),
                {{QStringLiteral("status"), status}, {QStringLiteral("body"), QString::fromUtf8(body.left(2048))}}));
        const QByteArray ctype = up->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        reply.raw(status, body, ctype.isEmpty() ? QByteArray("application/octet-stream") : ctype);
    });
}

} // namespace cr
