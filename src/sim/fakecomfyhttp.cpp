// FakeComfy's HTTP dispatch and its job routes (/prompt, /queue, /interrupt, /history, /system_stats) as
// server.py of ComfyUI 0.8 answers them, with the captured shapes; the file routes are in fakecomfyfiles.cpp.
#include "sim/fakecomfy.h"

#include "sim/fakecomfyhttp_p.h"
#include "sim/fakehttpserver.h"
#include "sim/fakesimcontrol.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QUrlQuery>
#include <QUuid>

#include <ctime>

namespace cr::sim {

namespace { } // namespace

// comfy_api/feature_flags.py: SERVER_FEATURE_FLAGS (GET /features and the WebSocket's feature_flags reply);
// a modern ComfyUI (FakeComfyOptions::modernApi) also advertises the jobs-namespace cancel endpoint.
OrderedJson FakeComfy::serverFeatures() const
{
    OrderedJson flags = OrderedJson::object(
        {{QStringLiteral("supports_preview_metadata"), true},
         {QStringLiteral("max_upload_size"), 104857600},
         {QStringLiteral("extension"),
          OrderedJson::object(
              {{QStringLiteral("manager"), OrderedJson::object({{QStringLiteral("supports_v4"), true}})}})}});
    if (m_options.modernApi)
        flags.insert(QStringLiteral("supports_job_cancel"), true);
    return flags;
}

qint64 FakeComfy::monotonicNs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

constexpr qsizetype kMaxArrivals = 1000;

// Python int() of a query value; nullopt means ValueError (ComfyUI answers 500).
std::optional<qint64> queryInt(const QString &value)
{
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    return ok ? std::optional<qint64>(n) : std::nullopt;
}

bool isLoopbackHost(const QString &host)
{
    if (host == u"localhost")
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

// "host:port" -> (host, port or -1); handles [v6]:port.
std::pair<QString, int> splitHostPort(const QString &hostPort)
{
    if (hostPort.startsWith(u'[')) {
        const qsizetype close = hostPort.indexOf(u']');
        const QString host = hostPort.mid(1, close - 1);
        const QString rest = hostPort.mid(close + 1);
        return {host, rest.startsWith(u':') ? rest.mid(1).toInt() : -1};
    }
    const qsizetype colon = hostPort.lastIndexOf(u':');
    if (colon < 0)
        return {hostPort, -1};
    return {hostPort.left(colon), hostPort.mid(colon + 1).toInt()};
}

} // namespace

std::optional<FakeHttpResponse> FakeComfy::checkOrigin(const FakeHttpRequest &request) const
{
    // server.py: create_origin_only_middleware
    if (!request.hasHeader("host") || !request.hasHeader("origin"))
        return std::nullopt;
    const auto [host, hostPort] = splitHostPort(QString::fromLatin1(request.header("host")).toLower());
    if (!isLoopbackHost(host))
        return std::nullopt;
    const QUrl origin(QString::fromLatin1(request.header("origin")).toLower());
    const QString originHost = origin.host();
    const int originPort = origin.port(-1);
    const bool portsMatch = hostPort < 0 || originPort < 0 || hostPort == originPort;
    if (originHost == host && portsMatch)
        return std::nullopt;
    return FakeHttpResponse::empty(403);
}

FakeHttpResponse FakeComfy::handle(const FakeHttpRequest &request)
{
    if (m_control && request.path.startsWith(FakeSimControl::prefix()))
        return m_control->handle(request);
    if (std::optional<FakeHttpResponse> refusal = checkOrigin(request))
        return *refusal;
    QString path = request.path;
    if (!m_basePath.isEmpty()) { // served under a prefix, as behind a reverse proxy
        if (!path.startsWith(m_basePath + u'/'))
            return notFound();
        path = path.mid(m_basePath.size());
    }
    const bool underApi = path.startsWith(QLatin1String("/api/"));
    if (underApi && !(m_options.modernApi && path.startsWith(QLatin1String("/api/jobs/"))))
        path = path.mid(4);
    const QByteArray method = request.method == "HEAD" ? QByteArray("GET") : request.method;
    if (method == "OPTIONS")
        return FakeHttpResponse::empty(200);
    const bool get = method == "GET", post = method == "POST";
    auto wrongMethod = [] { return FakeHttpResponse::text("405: Method Not Allowed", 405); };

    if (path == u"/prompt") {
        if (post) {
            const qint64 at = monotonicNs();
            FakeHttpResponse response = postPrompt(request);
            const QString id = response.status == 200
                ? OrderedJson::parse(response.body).value_or(OrderedJson()).value(u"prompt_id").pyStr()
                : QString();
            if (m_arrivals.size() >= kMaxArrivals)
                m_arrivals.removeFirst();
            m_arrivals.append(PromptArrival{id, at, response.status, 0});
            return response;
        }
        if (get)
            return json(OrderedJson::object({{QStringLiteral("exec_info"), queueInfo().value(u"exec_info")}}));
        return wrongMethod();
    }
    if (path == u"/queue")
        return get ? getQueue() : post ? postQueue(request) : wrongMethod();
    // POST /api/jobs/{id}/cancel exists only under /api (declared there) and only on a modern ComfyUI.
    if (m_options.modernApi && path.startsWith(QLatin1String("/api/jobs/")) && path.endsWith(QLatin1String("/cancel"))
        && underApi)
        return post ? postJobCancel(path.mid(10, path.size() - 10 - 7)) : wrongMethod();
    if (path == u"/interrupt")
        return post ? postInterrupt(request) : wrongMethod();
    if (path == u"/free") {
        if (!post)
            return wrongMethod();
        const std::optional<OrderedJson> body = OrderedJson::parse(request.body);
        if (!body)
            return serverError();
        if (pyTruthyFlag(body->value(u"free_memory")))
            m_cache.clear(); // the next run is uncached
        if (pyTruthyFlag(body->value(u"unload_models")))
            m_loadedCheckpoint.clear(); // the next loader pays --model-load-ms again
        return FakeHttpResponse::empty(200);
    }
    if (path == u"/history" || path.startsWith(QLatin1String("/history/")))
        return get ? getHistory(request) : (post && path == u"/history") ? postHistory(request) : wrongMethod();
    if (path == u"/view")
        return get ? getView(request) : wrongMethod();
    if (path == u"/upload/image" || path == u"/upload/mask")
        return post ? postUpload(request) : wrongMethod();
    if (!get)
        return path == u"/ws" ? wrongMethod() : notFound();
    if (path == u"/system_stats")
        return getSystemStats();
    if (path == u"/features")
        return json(serverFeatures());
    if (path == u"/node_replacements" && m_options.modernApi)
        return json(m_nodeReplacements);
    if (path == u"/object_info")
        return json(m_catalog.objectInfo());
    if (path.startsWith(QLatin1String("/object_info/")))
        return json(m_catalog.objectInfo(path.mid(13)));
    if (path == u"/embeddings" || path == u"/extensions")
        return json(OrderedJson::array());
    if (path == u"/models")
        return json(OrderedJson::fromStrings(FakeNodeCatalog::modelFolders()));
    if (path.startsWith(QLatin1String("/models/"))) {
        const QString folder = path.mid(8);
        if (!FakeNodeCatalog::modelFolders().contains(folder))
            return notFound();
        return json(OrderedJson::fromStrings(m_catalog.models(folder)));
    }
    if (path == u"/ws")
        return FakeHttpResponse::text("400: Bad Request", 400); // a GET without the Upgrade header
    if (path == u"/") {
        FakeHttpResponse page;
        page.contentType = "text/html";
        page.body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ComfyUI (fake)</title></head>\n"
                    "<body><p>comfy_runner's fake ComfyUI 0.8: API only, no frontend.</p></body></html>\n";
        return page;
    }
    return notFound();
}

bool FakeComfy::pyTruthyFlag(const OrderedJson &value)
{
    switch (value.type()) {
    case OrderedJson::Type::Bool:
        return value.toBool();
    case OrderedJson::Type::Int:
    case OrderedJson::Type::Float:
        return value.toDouble() != 0;
    case OrderedJson::Type::String:
        return !value.toString().isEmpty();
    case OrderedJson::Type::Array:
    case OrderedJson::Type::Object:
        return value.size() > 0;
    default:
        return false;
    }
}

FakeHttpResponse FakeComfy::postPrompt(const FakeHttpRequest &request)
{
    const std::optional<OrderedJson> parsed = OrderedJson::parse(request.body);
    m_promptBodies.append(parsed ? parsed->toQJson().toObject() : QJsonObject());
    if (!parsed)
        return serverError(); // JSONDecodeError escapes the handler
    const OrderedJson &body = *parsed;

    OrderedJson number;
    if (body.isObject() && body.contains(u"number")) {
        const OrderedJson given = body.value(u"number");
        if (!given.isNumber() && !given.isString() && !given.isBool())
            return serverError();
        bool ok = true;
        const double value = given.isString() ? given.toString().trimmed().toDouble(&ok) : given.toDouble();
        if (!ok)
            return serverError();
        number = OrderedJson(value);
    } else {
        number = OrderedJson(body.isObject() && pyTruthyFlag(body.value(u"front")) ? -m_number : m_number);
        ++m_number;
    }
    if (!body.isObject() || !body.contains(u"prompt")) {
        const OrderedJson error = OrderedJson::object({{QStringLiteral("type"), "no_prompt"},
                                                       {QStringLiteral("message"), "No prompt provided"},
                                                       {QStringLiteral("details"), "No prompt provided"},
                                                       {QStringLiteral("extra_info"), OrderedJson::object()}});
        return json(OrderedJson::object(
                        {{QStringLiteral("error"), error}, {QStringLiteral("node_errors"), OrderedJson::object()}}),
                    400);
    }
    OrderedJson prompt = body.value(u"prompt");
    const QString promptId = body.contains(u"prompt_id") ? body.value(u"prompt_id").pyStr()
                                                         : QUuid::createUuid().toString(QUuid::WithoutBraces);
    if (m_options.modernApi && !isCanonicalUuid(promptId)) {
        // A newer ComfyUI accepts only canonical lowercase UUIDs as prompt ids.
        const OrderedJson error
            = OrderedJson::object({{QStringLiteral("type"), "invalid_prompt_id"},
                                   {QStringLiteral("message"), "prompt_id must be a canonical lowercase UUID"},
                                   {QStringLiteral("details"), QStringLiteral("Invalid prompt_id: %1").arg(promptId)},
                                   {QStringLiteral("extra_info"), OrderedJson::object()}});
        return json(OrderedJson::object(
                        {{QStringLiteral("error"), error}, {QStringLiteral("node_errors"), OrderedJson::object()}}),
                    400);
    }
    std::optional<QStringList> partial;
    if (body.contains(u"partial_execution_targets")) {
        const OrderedJson targets = body.value(u"partial_execution_targets");
        if (targets.isArray())
            partial = targets.toStringList();
    }
    const FakeValidation validation = m_catalog.validate(prompt, partial);
    if (validation.serverError)
        return serverError();
    OrderedJson extra = body.value(u"extra_data").isObject() ? body.value(u"extra_data") : OrderedJson::object();
    if (body.contains(u"client_id"))
        extra.insert(QStringLiteral("client_id"), body.value(u"client_id"));
    if (!validation.ok)
        return json(OrderedJson::object({{QStringLiteral("error"), validation.error},
                                         {QStringLiteral("node_errors"), validation.nodeErrors}}),
                    400);

    extra.remove(u"auth_token_comfy_org"); // SENSITIVE_EXTRA_DATA_KEYS never appear in /queue or /history
    extra.remove(u"api_key_comfy_org");
    extra.insert(QStringLiteral("create_time"), QDateTime::currentMSecsSinceEpoch());
    FakeQueueItem item;
    item.number = number;
    item.promptId = promptId;
    item.prompt = prompt;
    item.extraData = extra;
    item.outputs = validation.goodOutputs;
    enqueue(std::move(item));
    return json(OrderedJson::object({{QStringLiteral("prompt_id"), promptId},
                                     {QStringLiteral("number"), number},
                                     {QStringLiteral("node_errors"), validation.nodeErrors}}));
}

FakeHttpResponse FakeComfy::getQueue() const
{
    OrderedJson running = OrderedJson::array();
    if (m_run)
        running.append(m_run->item().toJson());
    OrderedJson pending = OrderedJson::array();
    for (const FakeQueueItem &item : m_pending)
        pending.append(item.toJson());
    return json(
        OrderedJson::object({{QStringLiteral("queue_running"), running}, {QStringLiteral("queue_pending"), pending}}));
}

FakeHttpResponse FakeComfy::postQueue(const FakeHttpRequest &request)
{
    const std::optional<OrderedJson> body = OrderedJson::parse(request.body);
    if (!body || !body->isObject())
        return serverError();
    if (body->contains(u"clear") && pyTruthyFlag(body->value(u"clear"))) {
        ++m_clears;
        m_pending.clear();
        broadcastStatus();
    }
    if (body->contains(u"delete")) {
        for (const OrderedJson &id : body->value(u"delete").items()) {
            m_deletes.append(id.pyStr());
            if (!id.isString())
                continue;
            const auto it = std::find_if(m_pending.begin(), m_pending.end(),
                                         [&id](const FakeQueueItem &item) { return item.promptId == id.toString(); });
            if (it != m_pending.end()) {
                m_pending.erase(it);
                broadcastStatus();
            }
        }
    }
    return FakeHttpResponse::empty(200);
}

bool FakeComfy::isCanonicalUuid(const QString &id)
{
    const QUuid uuid = QUuid::fromString(id);
    return !uuid.isNull() && uuid.toString(QUuid::WithoutBraces) == id;
}

// POST /api/jobs/{id}/cancel (a modern ComfyUI): dequeues a pending prompt, interrupts it while it runs; an
// id that is done or unknown is "nothing to do", still 200.
FakeHttpResponse FakeComfy::postJobCancel(const QString &promptId)
{
    m_jobCancels.append(promptId);
    QString outcome = QStringLiteral("not_found");
    const auto it = std::find_if(m_pending.begin(), m_pending.end(),
                                 [&promptId](const FakeQueueItem &item) { return item.promptId == promptId; });
    if (it != m_pending.end()) {
        m_pending.erase(it);
        broadcastStatus();
        outcome = QStringLiteral("cancelled");
    } else if (m_run && m_run->item().promptId == promptId) {
        m_interruptFlag = true;
        m_run->wake();
        outcome = QStringLiteral("interrupted");
    } else if (m_history.contains(promptId)) {
        outcome = QStringLiteral("already_finished");
    }
    return json(OrderedJson::object({{QStringLiteral("job_id"), promptId}, {QStringLiteral("status"), outcome}}));
}

FakeHttpResponse FakeComfy::postInterrupt(const FakeHttpRequest &request)
{
    const std::optional<OrderedJson> body = OrderedJson::parse(request.body);
    OrderedJson data = body ? *body : OrderedJson::object(); // a missing or invalid body is a global interrupt
    if (!data.isObject())
        return serverError();
    const OrderedJson promptId = data.value(u"prompt_id");
    bool interrupt = true;
    QString target;
    if (pyTruthyFlag(promptId)) {
        target = promptId.pyStr();
        interrupt = m_run && promptId.isString() && m_run->item().promptId == promptId.toString();
    }
    m_interrupts.append(target);
    emit interruptReceived(target);
    if (interrupt) {
        m_interruptFlag = true; // reset when the next prompt starts
        if (m_run)
            m_run->wake();
    }
    return FakeHttpResponse::empty(200);
}

FakeHttpResponse FakeComfy::getHistory(const FakeHttpRequest &request) const
{
    if (request.path.endsWith(QLatin1String("/history"))) {
        std::optional<qint64> maxItems;
        qint64 offset = -1;
        if (request.query.hasQueryItem(QStringLiteral("max_items"))) {
            maxItems = queryInt(request.query.queryItemValue(QStringLiteral("max_items")));
            if (!maxItems)
                return serverError();
        }
        if (request.query.hasQueryItem(QStringLiteral("offset"))) {
            const std::optional<qint64> given = queryInt(request.query.queryItemValue(QStringLiteral("offset")));
            if (!given)
                return serverError();
            offset = *given;
        }
        if (offset < 0 && maxItems)
            offset = m_historyOrder.size() - *maxItems;
        OrderedJson out = OrderedJson::object();
        for (qsizetype i = 0; i < m_historyOrder.size(); ++i) {
            if (i < offset)
                continue;
            out.insert(m_historyOrder.at(i), m_history.value(m_historyOrder.at(i)));
            if (maxItems && out.size() >= *maxItems)
                break;
        }
        return json(out);
    }
    const QString id = request.path.section(u'/', -1);
    if (!m_history.contains(id))
        return json(OrderedJson::object());
    return json(OrderedJson::object({{id, m_history.value(id)}}));
}

FakeHttpResponse FakeComfy::postHistory(const FakeHttpRequest &request)
{
    const std::optional<OrderedJson> body = OrderedJson::parse(request.body);
    if (!body || !body->isObject())
        return serverError();
    if (body->contains(u"clear") && pyTruthyFlag(body->value(u"clear"))) {
        m_history.clear();
        m_historyOrder.clear();
    }
    for (const OrderedJson &id : body->value(u"delete").items()) {
        if (id.isString() && m_history.remove(id.toString()))
            m_historyOrder.removeOne(id.toString());
    }
    return FakeHttpResponse::empty(200);
}

FakeHttpResponse FakeComfy::getSystemStats() const
{
    const OrderedJson argv
        = OrderedJson::fromStrings({QStringLiteral("main.py"), QStringLiteral("--port"), QString::number(port()),
                                    QStringLiteral("--preview-method"),
                                    m_options.previews ? QStringLiteral("latent2rgb") : QStringLiteral("none")});
    const OrderedJson system = OrderedJson::object({{QStringLiteral("os"), "linux"},
                                                    {QStringLiteral("ram_total"), qint64(34359738368)},
                                                    {QStringLiteral("ram_free"), qint64(30064771072)},
                                                    {QStringLiteral("comfyui_version"), "0.8.0"},
                                                    {QStringLiteral("required_frontend_version"), "1.35.9"},
                                                    {QStringLiteral("installed_templates_version"), OrderedJson()},
                                                    {QStringLiteral("required_templates_version"), "0.7.67"},
                                                    {QStringLiteral("python_version"), "3.12.3 (fake)"},
                                                    {QStringLiteral("pytorch_version"), "2.11.0+cpu"},
                                                    {QStringLiteral("embedded_python"), false},
                                                    {QStringLiteral("argv"), argv}});
    // Unnamed: a CPU install (index null). Named: one CUDA device, as in the capture ("cuda:0 NVIDIA H200 :
    // native"), so that a pool's backends tell apart.
    const bool named = !m_options.name.isEmpty();
    const OrderedJson device = OrderedJson::object(
        {{QStringLiteral("name"),
          named ? OrderedJson(QStringLiteral("cuda:0 %1 (simulated)").arg(m_options.name)) : OrderedJson("cpu")},
         {QStringLiteral("type"), named ? "cuda" : "cpu"},
         {QStringLiteral("index"), named ? OrderedJson(0) : OrderedJson()},
         {QStringLiteral("vram_total"), qint64(34359738368)},
         {QStringLiteral("vram_free"), qint64(30064771072)},
         {QStringLiteral("torch_vram_total"), qint64(34359738368)},
         {QStringLiteral("torch_vram_free"), qint64(30064771072)}});
    return json(OrderedJson::object(
        {{QStringLiteral("system"), system}, {QStringLiteral("devices"), OrderedJson::array({device})}}));
}

} // namespace cr::sim
