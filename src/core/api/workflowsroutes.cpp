// /api/v1/workflows (read-only view of the workflows folder) and /api/v1/draft (the active workflow's
// editable draft that GET /queue runs).

#include "core/api/apijson.h"
#include "core/api/controllers.h"

#include "core/workflows/activedraft.h"
#include "core/workflows/workflowstore.h"

#include <QJsonArray>

namespace cr {

namespace {

Error noStore()
{
    // Permanent for this process: 404 like any route this configuration lacks (not a retryable 503).
    return Error::make(ErrorCode::NotFound, QStringLiteral("workflows are not configured in this service"));
}

QJsonObject parametersJson(const ParameterList &list)
{
    QJsonArray params, problems;
    for (const Parameter &p : list.parameters)
        params.append(p.toJson());
    for (const Error &e : list.problems)
        problems.append(e.toJson());
    return {{QStringLiteral("parameters"), params}, {QStringLiteral("problems"), problems}};
}

QJsonArray nodesJson(const Workflow &wf)
{
    QJsonArray nodes;
    for (const NodeInfo &n : wf.editableInputs())
        nodes.append(n.toJson());
    return nodes;
}

} // namespace

WorkflowsRoutes::WorkflowsRoutes(const ApiContext &ctx, QObject *parent) : QObject(parent), m_ctx(ctx) { }

QJsonObject WorkflowsRoutes::draftJson(const ApiContext &ctx)
{
    const ActiveDraft *d = ctx.draft;
    const Workflow wf = d->workflow();
    const QJsonObject params = parametersJson(d->parameters());
    return {
        {QStringLiteral("workflow"), d->name()},
        {QStringLiteral("loaded"), d->hasDraft()},
        {QStringLiteral("modified"), d->isModified()},
        {QStringLiteral("stale"), d->isStale()},
        {QStringLiteral("graph"), wf.graph()},
        {QStringLiteral("nodes"), nodesJson(wf)},
        {QStringLiteral("parameters"), params.value(QLatin1String("parameters"))},
        {QStringLiteral("problems"), params.value(QLatin1String("problems"))},
    };
}

void WorkflowsRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::ListWorkflows, [this](const ApiRequest &r, ApiReply reply) { list(r, reply); });
    h.insert(RouteId::GetWorkflow, [this](const ApiRequest &r, ApiReply reply) { get(r, reply); });
    h.insert(RouteId::GetDraft, [this](const ApiRequest &r, ApiReply reply) { draft(r, reply); });
    h.insert(RouteId::PatchDraft, [this](const ApiRequest &r, ApiReply reply) { patchDraft(r, reply); });
    h.insert(RouteId::ResetDraft, [this](const ApiRequest &r, ApiReply reply) { resetDraft(r, reply); });
    h.insert(RouteId::SwitchDraft, [this](const ApiRequest &r, ApiReply reply) { switchDraft(r, reply); });
}

// GET /api/v1/workflows -> {"workflows": [{name, file, nodes, active}], "errors": [{name, file, error}],
//   "active": name}
void WorkflowsRoutes::list(const ApiRequest &, ApiReply reply)
{
    if (!m_ctx.workflows)
        return reply.error(noStore());
    QJsonArray list;
    for (const QString &name : m_ctx.workflows->names()) {
        const std::optional<Workflow> wf = m_ctx.workflows->find(name);
        if (!wf)
            continue;
        list.append(QJsonObject{{QStringLiteral("name"), name},
                                {QStringLiteral("file"), wf->filePath()},
                                {QStringLiteral("nodes"), int(wf->nodeIds().size())},
                                {QStringLiteral("active"), m_ctx.draft && m_ctx.draft->name() == name}});
    }
    QJsonArray errors;
    for (const WorkflowLoadError &e : m_ctx.workflows->errors())
        errors.append(e.toJson());
    reply.json(200,
               QJsonObject{{QStringLiteral("workflows"), list},
                           {QStringLiteral("errors"), errors},
                           {QStringLiteral("active"),
                            m_ctx.draft ? QJsonValue(m_ctx.draft->name()) : QJsonValue(QJsonValue::Null)}});
}

// GET /api/v1/workflows/{name} -> {name, file, graph, nodes: [{id, class_type, title, inputs: [{name,
//   type, value}]}], parameters: [{name, node, input, type, value, source}], problems: [...], active}
//   | 404 unknown_workflow (details.load_error when the file exists but failed to load).
void WorkflowsRoutes::get(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.workflows)
        return reply.error(noStore());
    const QString name = WorkflowStore::normaliseName(req.arg(0));
    const std::optional<Workflow> wf = m_ctx.workflows->find(name);
    if (!wf) {
        QJsonObject details{{QStringLiteral("workflow"), name}};
        if (const auto le = m_ctx.workflows->errorFor(name))
            details.insert(QStringLiteral("load_error"), le->error.toJson());
        return reply.error(
            Error::make(ErrorCode::UnknownWorkflow, QStringLiteral("no workflow named \"%1\"").arg(name), details));
    }
    const QJsonObject params = parametersJson(wf->parameters(m_ctx.config.nodeMappings.forWorkflow(name)));
    reply.json(200,
               QJsonObject{
                   {QStringLiteral("name"), name},
                   {QStringLiteral("file"), wf->filePath()},
                   {QStringLiteral("active"), m_ctx.draft && m_ctx.draft->name() == name},
                   {QStringLiteral("graph"), wf->graph()},
                   {QStringLiteral("nodes"), nodesJson(*wf)},
                   {QStringLiteral("parameters"), params.value(QLatin1String("parameters"))},
                   {QStringLiteral("problems"), params.value(QLatin1String("problems"))},
               });
}

// GET /api/v1/draft -> {workflow, loaded, modified, stale, graph, nodes, parameters, problems}
void WorkflowsRoutes::draft(const ApiRequest &, ApiReply reply)
{
    if (!m_ctx.draft)
        return reply.error(noStore());
    reply.json(200, draftJson(m_ctx));
}

// PATCH /api/v1/draft {"inputs": {"prompt": "a cat", "3.seed": 5, "6": {"text": "x"}}}
//   -> {"changes": [{node_id, input, value}], "draft": {...}}; all or nothing (unknown_node, unknown_input,
//   unknown_parameter, type_mismatch, linked_input, invalid_request with details.key).
void WorkflowsRoutes::patchDraft(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.draft)
        return reply.error(noStore());
    const Result<QJsonObject> body = parseJsonObject(req);
    if (!body)
        return reply.error(body.error());
    const QJsonValue inputs = body->value(QLatin1String("inputs"));
    if (inputs.isUndefined())
        return reply.error(Error::make(ErrorCode::MissingField, QStringLiteral("field \"inputs\" is required"),
                                       {{QStringLiteral("field"), QStringLiteral("inputs")}}));
    if (!inputs.isObject())
        return reply.error(Error::make(ErrorCode::TypeMismatch, QStringLiteral("\"inputs\" must be an object"),
                                       {{QStringLiteral("field"), QStringLiteral("inputs")}}));
    const auto changes = m_ctx.draft->applyInputs(inputs.toObject());
    if (!changes)
        return reply.error(changes.error());
    QJsonArray list;
    for (const InputChange &c : *changes)
        list.append(QJsonObject{{QStringLiteral("node_id"), c.nodeId},
                                {QStringLiteral("input"), c.input},
                                {QStringLiteral("value"), c.value}});
    reply.json(200, QJsonObject{{QStringLiteral("changes"), list}, {QStringLiteral("draft"), draftJson(m_ctx)}});
}

// POST /api/v1/draft/reset -> the draft (the file's content again).
void WorkflowsRoutes::resetDraft(const ApiRequest &, ApiReply reply)
{
    if (!m_ctx.draft)
        return reply.error(noStore());
    if (Status s = m_ctx.draft->reset())
        return reply.error(*s);
    reply.json(200, draftJson(m_ctx));
}

// PUT /api/v1/draft/workflow {"name": "sdxl"} -> the new draft | 404 unknown_workflow.
void WorkflowsRoutes::switchDraft(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.draft)
        return reply.error(noStore());
    const Result<QJsonObject> body = parseJsonObject(req);
    if (!body)
        return reply.error(body.error());
    const Result<QString> name = stringField(*body, QStringLiteral("name"), true);
    if (!name)
        return reply.error(name.error());
    if (Status s = m_ctx.draft->switchTo(WorkflowStore::normaliseName(*name)))
        return reply.error(*s);
    reply.json(200, draftJson(m_ctx));
}

} // namespace cr
