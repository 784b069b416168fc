// FakeSimControl: the /sim/ routes (state and faults) over FakeComfy's public API.
#include "sim/fakesimcontrol.h"

#include "protocol/error.h"
#include "sim/fakecomfy.h"
#include "sim/fakehttpserver.h"
#include "sim/fakenodecatalog.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

#include <optional>

Q_LOGGING_CATEGORY(lcFakeControl, "comfyrunner.fake.control")

namespace cr::sim {

namespace {

constexpr int kMaxMs = 3600 * 1000;

FakeHttpResponse jsonAnswer(const QJsonObject &object, int status = 200)
{
    return FakeHttpResponse::json(QJsonDocument(object).toJson(QJsonDocument::Compact), status);
}

FakeHttpResponse errorAnswer(int status, const char *code, const QString &message, const QJsonObject &details = {})
{
    return jsonAnswer(QJsonObject{{QStringLiteral("error"), Error::make(code, message, details).toJson()}}, status);
}

QJsonValue idOrNull(const QString &id) { return id.isEmpty() ? QJsonValue() : QJsonValue(id); }

// The parameters each fault accepts (besides "fault").
QStringList parametersOf(const QString &fault)
{
    if (fault == u"restart")
        return {QStringLiteral("down_ms")};
    if (fault == u"refuse_connections" || fault == u"delay_http")
        return {QStringLiteral("ms")};
    if (fault == u"fail_next_prompt")
        return {QStringLiteral("node"), QStringLiteral("message")};
    return {};
}

} // namespace

FakeSimControl::FakeSimControl(FakeComfy &comfy, QObject *parent) : QObject(parent), m_comfy(comfy) { }

QStringList FakeSimControl::faultNames()
{
    return {QStringLiteral("drop_websockets"),    QStringLiteral("restart"),    QStringLiteral("refuse_connections"),
            QStringLiteral("accept_connections"), QStringLiteral("stall_http"), QStringLiteral("unstall_http"),
            QStringLiteral("delay_http"),         QStringLiteral("ws_silent"),  QStringLiteral("ws_unsilent"),
            QStringLiteral("fail_next_prompt")};
}

FakeHttpResponse FakeSimControl::handle(const FakeHttpRequest &request)
{
    const QString route = request.path.mid(prefix().size());
    const QByteArray method = request.method == "HEAD" ? QByteArray("GET") : request.method;
    auto wrongMethod = [&](const char *allowed) {
        FakeHttpResponse r = errorAnswer(
            405, ErrorCode::MethodNotAllowed,
            QStringLiteral("%1 %2 is not supported").arg(QString::fromLatin1(request.method), request.path),
            QJsonObject{{QStringLiteral("allowed"), QString::fromLatin1(allowed)}});
        r.headers.append(std::pair<QByteArray, QByteArray>("Allow", allowed));
        return r;
    };
    if (route == u"state")
        return method == "GET" ? jsonAnswer(state()) : wrongMethod("GET");
    if (route == u"fault")
        return method == "POST" ? postFault(request) : wrongMethod("POST");
    if (route == u"prompts")
        return method == "GET" ? jsonAnswer(prompts()) : wrongMethod("GET");
    return errorAnswer(404, ErrorCode::NotFound, QStringLiteral("no simulator route %1").arg(request.path),
                       QJsonObject{{QStringLiteral("routes"),
                                    QJsonArray{QStringLiteral("GET /sim/state"), QStringLiteral("GET /sim/prompts"),
                                               QStringLiteral("POST /sim/fault")}}});
}

QJsonObject FakeSimControl::state() const
{
    QJsonObject models;
    for (const QString &folder : FakeNodeCatalog::modelFolders()) {
        const QStringList names = m_comfy.models(folder);
        if (!names.isEmpty())
            models.insert(folder, QJsonArray::fromStringList(names));
    }
    const FakeComfyOptions options = m_comfy.options();
    return QJsonObject{
        {QStringLiteral("name"), options.name},
        {QStringLiteral("port"), int(m_comfy.port())},
        {QStringLiteral("running"), idOrNull(m_comfy.runningPromptId())},
        {QStringLiteral("pending"), QJsonArray::fromStringList(m_comfy.pendingPromptIds())},
        {QStringLiteral("prompts_received"), m_comfy.promptCount()},
        {QStringLiteral("prompts_accepted"), int(m_comfy.acceptedPromptIds().size())},
        {QStringLiteral("history"), int(m_comfy.historyIds().size())},
        {QStringLiteral("websockets"), m_comfy.webSocketCount()},
        {QStringLiteral("loaded_checkpoint"), idOrNull(m_comfy.loadedCheckpoint())},
        {QStringLiteral("model_loads"), m_comfy.modelLoads()},
        {QStringLiteral("models"), models},
        {QStringLiteral("options"),
         QJsonObject{{QStringLiteral("steps"), options.steps},
                     {QStringLiteral("step_ms"), options.stepIntervalMs},
                     {QStringLiteral("node_ms"), options.nodeDelayMs},
                     {QStringLiteral("model_load_ms"), options.modelLoadMs},
                     {QStringLiteral("preview_size"), options.previewSize},
                     {QStringLiteral("previews"), options.previews}}},
        {QStringLiteral("faults"),
         QJsonObject{{QStringLiteral("http_stalled"), m_comfy.isStallingHttp()},
                     {QStringLiteral("ws_silent"), m_comfy.isWsSilent()},
                     {QStringLiteral("refusing_connections"), !m_comfy.isListening()},
                     {QStringLiteral("response_delay_ms"), m_comfy.responseDelay()},
                     {QStringLiteral("fail_next_prompt"), m_comfy.isFailureArmed()}}},
    };
}

QJsonObject FakeSimControl::prompts() const
{
    QJsonArray list;
    for (const FakeComfy::PromptArrival &a : m_comfy.promptArrivals())
        list.append(QJsonObject{
            {QStringLiteral("prompt_id"), idOrNull(a.promptId)},
            {QStringLiteral("received_mono_ns"), double(a.monotonicNs)},
            {QStringLiteral("status"), a.status},
            {QStringLiteral("finished_mono_ns"), a.finishedNs > 0 ? QJsonValue(double(a.finishedNs)) : QJsonValue()}});
    return QJsonObject{{QStringLiteral("prompts"), list}};
}

FakeHttpResponse FakeSimControl::postFault(const FakeHttpRequest &request)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(request.body, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return errorAnswer(400, ErrorCode::InvalidJson,
                           QStringLiteral("the body is not JSON: %1").arg(parseError.errorString()));
    if (!doc.isObject())
        return errorAnswer(400, ErrorCode::InvalidJson, QStringLiteral("the body must be a JSON object"));
    const QJsonObject body = doc.object();
    if (!body.contains(u"fault"))
        return errorAnswer(400, ErrorCode::MissingField, QStringLiteral("\"fault\" is required"),
                           QJsonObject{{QStringLiteral("field"), QStringLiteral("fault")},
                                       {QStringLiteral("allowed"), QJsonArray::fromStringList(faultNames())}});
    const QString fault = body.value(u"fault").toString();
    if (!faultNames().contains(fault))
        return errorAnswer(400, ErrorCode::InvalidField,
                           QStringLiteral("\"fault\" must be one of: %1").arg(faultNames().join(u", ")),
                           QJsonObject{{QStringLiteral("field"), QStringLiteral("fault")},
                                       {QStringLiteral("allowed"), QJsonArray::fromStringList(faultNames())}});
    const QStringList allowed = parametersOf(fault);
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (it.key() != u"fault" && !allowed.contains(it.key()))
            return errorAnswer(400, ErrorCode::UnknownParameter,
                               QStringLiteral("%1 takes no parameter \"%2\"").arg(fault, it.key()),
                               QJsonObject{{QStringLiteral("parameter"), it.key()},
                                           {QStringLiteral("allowed"), QJsonArray::fromStringList(allowed)}});
    }
    // An optional integer parameter in [0, kMaxMs]; nullopt with *bad set when it is not one.
    std::optional<FakeHttpResponse> bad;
    auto msParam = [&](const QString &name) {
        const QJsonValue v = body.value(name);
        if (v.isUndefined())
            return 0;
        const double d = v.toDouble(-1);
        if (!v.isDouble() || d < 0 || d > kMaxMs || d != double(qint64(d))) {
            bad = errorAnswer(
                400, ErrorCode::InvalidField,
                QStringLiteral("\"%1\" must be an integer number of milliseconds in [0, %2]").arg(name).arg(kMaxMs),
                QJsonObject{{QStringLiteral("field"), name}});
            return 0;
        }
        return int(d);
    };
    auto stringParam = [&](const QString &name, const QString &fallback) {
        const QJsonValue v = body.value(name);
        if (v.isUndefined())
            return fallback;
        if (!v.isString())
            bad = errorAnswer(400, ErrorCode::InvalidField, QStringLiteral("\"%1\" must be a string").arg(name),
                              QJsonObject{{QStringLiteral("field"), name}});
        return v.toString();
    };

    FakeHttpResponse ok = jsonAnswer(QJsonObject{{QStringLiteral("ok"), true}, {QStringLiteral("fault"), fault}});
    const QPointer<FakeSimControl> self(this);
    if (fault == u"drop_websockets") {
        ok.afterWrite = [self] {
            if (self)
                self->m_comfy.dropWebSockets();
        };
    } else if (fault == u"restart") {
        const int downMs = msParam(QStringLiteral("down_ms"));
        if (bad)
            return *bad;
        ok.closeConnection = true; // the restart cuts every connection, this one too
        const int generation = ++m_generation;
        ok.afterWrite = [self, downMs, generation] {
            if (!self)
                return;
            self->m_comfy.restart();
            if (downMs <= 0)
                return;
            self->m_comfy.setRefuseConnections(true);
            QTimer::singleShot(downMs, self, [self, generation] {
                if (self && self->m_generation == generation && !self->m_comfy.setRefuseConnections(false))
                    qCWarning(lcFakeControl) << "could not listen again after the restart";
            });
        };
    } else if (fault == u"refuse_connections") {
        const int ms = msParam(QStringLiteral("ms"));
        if (bad)
            return *bad;
        const int generation = ++m_generation;
        m_comfy.setRefuseConnections(true);
        if (ms > 0) {
            QTimer::singleShot(ms, this, [this, generation] {
                if (m_generation == generation && !m_comfy.setRefuseConnections(false))
                    qCWarning(lcFakeControl) << "could not listen again on port" << m_comfy.port();
            });
        }
    } else if (fault == u"accept_connections") {
        ++m_generation;
        if (!m_comfy.setRefuseConnections(false))
            return errorAnswer(500, ErrorCode::Internal,
                               QStringLiteral("could not listen again on port %1").arg(m_comfy.port()));
    } else if (fault == u"stall_http" || fault == u"unstall_http") {
        m_comfy.setStallHttp(fault == u"stall_http");
    } else if (fault == u"delay_http") {
        if (!body.contains(u"ms"))
            return errorAnswer(400, ErrorCode::MissingField, QStringLiteral("delay_http needs \"ms\""),
                               QJsonObject{{QStringLiteral("field"), QStringLiteral("ms")}});
        const int ms = msParam(QStringLiteral("ms"));
        if (bad)
            return *bad;
        m_comfy.setResponseDelay(ms);
    } else if (fault == u"ws_silent" || fault == u"ws_unsilent") {
        m_comfy.setWsSilent(fault == u"ws_silent");
    } else if (fault == u"fail_next_prompt") {
        const QString node = stringParam(QStringLiteral("node"), QString());
        const QString message = stringParam(QStringLiteral("message"), QStringLiteral("Simulated failure"));
        if (bad)
            return *bad;
        m_comfy.failNextPrompt(node, message);
    }
    qCInfo(lcFakeControl).noquote() << "fault" << QString::fromUtf8(QJsonDocument(body).toJson(QJsonDocument::Compact));
    return ok;
}

} // namespace cr::sim
