// /api/v1/jobs: create (optionally waiting), list, get, cancel, outputs.

#include "core/api/apijson.h"
#include "core/api/controllers.h"
#include "core/api/jobwaiter.h"
#include "core/api/routetable.h"

#include "core/jobs/jobmanager.h"
#include "core/pool/backendpool.h"
#include "core/webhooks/webhookdispatcher.h"
#include "core/workflows/workflowstore.h"

#include <QJsonArray>

#include <cmath>
#include <limits>

namespace cr {

namespace {

// "wait": true (the configured bound) | seconds > 0 (capped by the bound) | false/absent (0).
Result<int> waitMs(const QJsonValue &v, int boundMs)
{
    if (v.isUndefined() || v.isNull() || (v.isBool() && !v.toBool()))
        return 0;
    if (v.isBool())
        return boundMs;
    if (v.isDouble() && v.toDouble() > 0)
        return int(qMin<double>(v.toDouble() * 1000.0, boundMs));
    return Error::make(ErrorCode::TypeMismatch,
                       QStringLiteral("\"wait\" must be true/false or a number of seconds > 0"),
                       {{QStringLiteral("field"), QStringLiteral("wait")}});
}

Error fieldType(const QString &field, const QString &expected)
{
    return Error::make(ErrorCode::TypeMismatch, QStringLiteral("\"%1\" must be %2").arg(field, expected),
                       {{QStringLiteral("field"), field}});
}

// "priority": an integer (higher runs first), "backend": a backend name, "tags": an array of strings.
Status routingFields(const QJsonObject &b, JobRequest &out)
{
    const QJsonValue priority = b.value(QLatin1String("priority"));
    if (!priority.isUndefined() && !priority.isNull()) {
        const double p = priority.toDouble();
        if (!priority.isDouble() || p != std::floor(p) || std::abs(p) > 1'000'000)
            return fieldType(QStringLiteral("priority"), QStringLiteral("an integer from -1000000 to 1000000"));
        out.priority = int(p);
    }
    const Result<QString> backend = stringField(b, QStringLiteral("backend"), false);
    if (!backend)
        return backend.error();
    out.backend = *backend;
    const QJsonValue tags = b.value(QLatin1String("tags"));
    if (!tags.isUndefined() && !tags.isNull()) {
        if (!tags.isArray())
            return fieldType(QStringLiteral("tags"), QStringLiteral("an array of strings"));
        for (const QJsonValue &t : tags.toArray()) {
            if (!t.isString() || t.toString().isEmpty())
                return fieldType(QStringLiteral("tags"), QStringLiteral("an array of non-empty strings"));
            out.requiredTags << t.toString();
        }
    }
    return std::nullopt;
}

} // namespace

JobsRoutes::JobsRoutes(const ApiContext &ctx, JobWaiter *waiter, QObject *parent)
    : QObject(parent), m_ctx(ctx), m_waiter(waiter), m_downloads(new QObject(this))
{ }

void JobsRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::CreateJob, [this](const ApiRequest &r, ApiReply reply) { create(r, reply); });
    h.insert(RouteId::ListJobs, [this](const ApiRequest &r, ApiReply reply) { list(r, reply); });
    h.insert(RouteId::GetJob, [this](const ApiRequest &r, ApiReply reply) { get(r, reply); });
    h.insert(RouteId::CancelJob, [this](const ApiRequest &r, ApiReply reply) { cancel(r, reply); });
    h.insert(RouteId::GetJobOutput, [this](const ApiRequest &r, ApiReply reply) { output(r, reply); });
}

// POST /api/v1/jobs {"workflow": name | "graph": {...}, "inputs"?: {...}, "client_ref"?: str, "wait"?: bool|s,
//                   "priority"?: int, "backend"?: name, "tags"?: [str], "prompt_id"?: uuid,
//                   "webhook"?: {"url", "events"?: [...]} | false (docs/webhooks.md)}
// -> 202 + Location + job (also when a wait ran out: the job as it is); 200 + job when waited (finished) or
// when client_ref was seen before.
// Errors: invalid_json, invalid_request, missing_field, type_mismatch, unknown_workflow, unknown_node,
// unknown_input, linked_input, invalid_workflow, comfy_validation (422, ComfyUI's node_errors intact),
// comfy_unreachable, no_backend_can_run (422: no backend of the pool has the graph's nodes, models or the
// tags, or the pinned backend does not exist; details.backends says what each lacks), job_expired (410:
// client_ref of a pruned job, details.job_id), invalid_field (webhook.url, webhook.events, prompt_id not a UUID),
// webhook_url_forbidden (422: the webhook's host is or resolves to a link-local/metadata address),
// webhooks_not_configured (422: a webhook without [webhooks] secret), job_conflict (409: the prompt_id is already a
// job's).
void JobsRoutes::create(const ApiRequest &req, ApiReply reply)
{
    const Result<QJsonObject> body = parseJsonObject(req);
    if (!body)
        return reply.error(body.error());
    const QJsonObject &b = *body;
    const bool hasName = b.contains(QLatin1String("workflow")), hasGraph = b.contains(QLatin1String("graph"));
    if (hasName == hasGraph)
        return reply.error(Error::make(
            ErrorCode::InvalidRequest,
            QStringLiteral("give exactly one of \"workflow\" (a name) and \"graph\" (an API-format graph)")));
    const QJsonValue inputs = b.value(QLatin1String("inputs"));
    if (!inputs.isUndefined() && !inputs.isNull() && !inputs.isObject())
        return reply.error(Error::make(ErrorCode::TypeMismatch, QStringLiteral("\"inputs\" must be an object"),
                                       {{QStringLiteral("field"), QStringLiteral("inputs")}}));
    const Result<QString> clientRef = stringField(b, QStringLiteral("client_ref"), false);
    if (!clientRef)
        return reply.error(clientRef.error());
    const Result<QString> promptId = stringField(b, QStringLiteral("prompt_id"), false);
    if (!promptId)
        return reply.error(promptId.error());
    std::optional<QString> canonicalId;
    if (!promptId->isEmpty()) {
        canonicalId = ComfyClient::canonicalPromptId(*promptId);
        if (!canonicalId)
            return reply.error(Error::make(
                ErrorCode::InvalidField,
                QStringLiteral("\"prompt_id\" must be a UUID (it is sent to ComfyUI as the canonical lowercase form)"),
                {{QStringLiteral("field"), QStringLiteral("prompt_id")},
                 {QStringLiteral("reason"), QStringLiteral("not a UUID")}}));
    }
    const Result<int> wait = waitMs(b.value(QLatin1String("wait")), m_ctx.config.http.waitTimeoutMs);
    if (!wait)
        return reply.error(wait.error());
    JobRequest jr;
    if (const Status bad = routingFields(b, jr))
        return reply.error(*bad);
    Result<std::optional<JobWebhook>> webhook
        = WebhooksRoutes::parseJobWebhook(m_ctx, b.value(QLatin1String("webhook")));
    if (!webhook)
        return reply.error(webhook.error());
    jr.webhook = *webhook;

    Workflow wf;
    QString name;
    if (hasName) {
        const Result<QString> n = stringField(b, QStringLiteral("workflow"), true);
        if (!n)
            return reply.error(n.error());
        name = WorkflowStore::normaliseName(*n);
        std::optional<Workflow> found = m_ctx.workflows ? m_ctx.workflows->find(name) : std::nullopt;
        if (!found) {
            QJsonObject details{{QStringLiteral("workflow"), name}};
            if (m_ctx.workflows) {
                if (const auto le = m_ctx.workflows->errorFor(name))
                    details.insert(QStringLiteral("load_error"), le->error.toJson());
            }
            return reply.error(
                Error::make(ErrorCode::UnknownWorkflow, QStringLiteral("no workflow named \"%1\"").arg(name), details));
        }
        wf = *found;
    } else {
        if (!b.value(QLatin1String("graph")).isObject())
            return reply.error(Error::make(ErrorCode::TypeMismatch,
                                           QStringLiteral("\"graph\" must be an API-format object"),
                                           {{QStringLiteral("field"), QStringLiteral("graph")}}));
        Result<Workflow> parsed = Workflow::fromGraph(QString(), b.value(QLatin1String("graph")).toObject());
        if (!parsed)
            return reply.error(parsed.error());
        wf = *parsed;
    }
    if (inputs.isObject()) {
        if (m_ctx.pool) { // a parameter naming an input a node replacement renamed follows it
            NodeReplacements known;
            for (const Backend *backend : m_ctx.pool->backends())
                known.merge(NodeReplacements::fromJson(backend->nodeReplacements()));
            wf.setNodeReplacements(known);
        }
        const auto applied = wf.applyInputs(inputs.toObject(), m_ctx.config.nodeMappings.forWorkflow(name));
        if (!applied)
            return reply.error(applied.error());
    }

    const int waitFor = *wait;
    jr.workflow = name;
    jr.graph = wf.graph();
    jr.clientRef = *clientRef;
    jr.id = canonicalId.value_or(QString());
    if (jr.webhook && !jr.webhook->url.isEmpty()) {
        // The host may name a refused address only once resolved: submit after that answer.
        const QUrl url(jr.webhook->url);
        m_ctx.webhooks->checkAddress(url, this, [this, reply, waitFor, jr = std::move(jr)](Status bad) mutable {
            if (bad)
                return reply.error(*bad);
            submit(std::move(jr), reply, waitFor);
        });
        return;
    }
    submit(std::move(jr), reply, waitFor);
}

void JobsRoutes::submit(JobRequest jr, ApiReply reply, int waitFor)
{
    // `this` as the context: the answer may come after the ApiServer (and this controller) is gone.
    m_ctx.jobs->submit(std::move(jr), this, [this, reply, waitFor](Result<Job> r, bool created) {
        if (!r)
            return reply.error(r.error());
        const Job &job = *r;
        const QByteArray location = QStringLiteral("/api/v1/jobs/%1").arg(job.id).toUtf8();
        if (waitFor > 0) {
            // Still running when the wait runs out: 202 with the job as it is, like a call without wait.
            m_waiter->wait(
                job.id, reply, waitFor,
                [location](const Job &done, ApiReply rep) {
                    rep.json(200, jobToJson(done), {{"Location", location}});
                },
                [location](const Job &running, ApiReply rep) {
                    rep.json(202, jobToJson(running), {{"Location", location}});
                });
            return;
        }
        reply.json(created ? 202 : 200, jobToJson(job), {{"Location", location}});
    });
}

// GET /api/v1/jobs?state=&workflow=&offset=&limit= -> {"jobs": [...newest first], "total", "offset", "limit"}.
void JobsRoutes::list(const ApiRequest &req, ApiReply reply)
{
    JobFilter f;
    const QString state = req.query.queryItemValue(QStringLiteral("state"), QUrl::FullyDecoded);
    if (!state.isEmpty()) {
        const JobState named = jobStateFromName(state);
        if (named == JobState::Unknown)
            return reply.error(
                Error::make(ErrorCode::InvalidRequest, QStringLiteral("unknown state \"%1\"").arg(state),
                            {{QStringLiteral("allowed"), QJsonArray::fromStringList(protocol::jobStateNames())}}));
        f.state = named;
    }
    f.workflow = req.query.queryItemValue(QStringLiteral("workflow"), QUrl::FullyDecoded);
    if (Status s = queryInt(req, "offset", 0, 0, 1'000'000'000, &f.offset))
        return reply.error(*s);
    if (Status s = queryInt(req, "limit", 50, 1, 500, &f.limit))
        return reply.error(*s);
    const JobPage page = m_ctx.jobs->list(f);
    QJsonArray jobs;
    for (const Job &j : page.jobs)
        jobs.append(jobToJson(j));
    reply.json(200, pageJson(QStringLiteral("jobs"), jobs, page.total, f.offset, f.limit));
}

// GET /api/v1/jobs/{id} -> the job (with "webhook": {"url", "events", "deliveries"} when it has one) |
// 404 job_not_found | 410 job_expired (pruned by retention).
void JobsRoutes::get(const ApiRequest &req, ApiReply reply)
{
    const Job *job = m_ctx.jobs->find(req.arg(0));
    if (!job)
        return reply.error(m_ctx.jobs->missingJob(req.arg(0)));
    if (const QJsonValue webhook = WebhooksRoutes::jobWebhookJson(m_ctx, *job); webhook.isObject()) {
        QJsonObject o = jobToJson(*job);
        o.insert(QStringLiteral("webhook"), webhook);
        return reply.json(200, o);
    }
    reply.raw(200, m_bodies.body(*job), "application/json");
}

// POST /api/v1/jobs/{id}/cancel -> 202 + the job (cancel_requested; the final state follows) |
// 404 job_not_found | 409 job_conflict (already finished) | 410 job_expired.
void JobsRoutes::cancel(const ApiRequest &req, ApiReply reply)
{
    if (Status s = m_ctx.jobs->cancel(req.arg(0)))
        return reply.error(*s);
    reply.json(202, jobToJson(*m_ctx.jobs->find(req.arg(0))));
}

// GET /api/v1/jobs/{id}/outputs/{index} -> the file, streamed from ComfyUI with its content type (206 for one
// byte range) | 404 job_not_found / output_not_found | 410 job_expired | 416 range_not_satisfiable | 502
// comfy_unreachable | 502 comfy_error (ComfyUI answered anything but 200 or 404; details.status).
void JobsRoutes::output(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.jobs->find(req.arg(0)))
        return reply.error(m_ctx.jobs->missingJob(req.arg(0)));
    // Only the canonical spelling names an output: "0%00garbage", "+0", " 0", "00", "0x1" or a huge number do not.
    const std::optional<qint64> index = canonicalNumber(req.arg(1), std::numeric_limits<int>::max());
    if (!index)
        return reply.error(Error::make(
            ErrorCode::OutputNotFound,
            QStringLiteral("output index must be a decimal number >= 0 without sign, spaces or leading zeros"),
            {{QStringLiteral("index"), req.arg(1)}}));
    streamOutput(m_ctx, req.arg(0), int(*index), reply, m_downloads, req.header("Range"));
}

} // namespace cr
