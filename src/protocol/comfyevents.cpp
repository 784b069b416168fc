#include "protocol/comfyevents.h"

#include "protocol/jsonutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>
#include <QLatin1StringView>

#include <array>
#include <cmath>
#include <utility>

namespace cr::protocol {

namespace {

using namespace Qt::StringLiterals;

// Wire names in EventType order (Unknown has none).
constexpr std::array<std::pair<EventType, QLatin1StringView>, 11> kEventNames{{
    {EventType::Status, "status"_L1},
    {EventType::ExecutionStart, "execution_start"_L1},
    {EventType::ExecutionCached, "execution_cached"_L1},
    {EventType::Executing, "executing"_L1},
    {EventType::Progress, "progress"_L1},
    {EventType::ProgressState, "progress_state"_L1},
    {EventType::Executed, "executed"_L1},
    {EventType::ExecutionSuccess, "execution_success"_L1},
    {EventType::ExecutionError, "execution_error"_L1},
    {EventType::ExecutionInterrupted, "execution_interrupted"_L1},
    {EventType::FeatureFlags, "feature_flags"_L1},
}};

// Millisecond timestamps: exact for integers, truncated for other finite numbers, 0 otherwise.
qint64 toInt64(const QJsonValue &v)
{
    if (!v.isDouble())
        return 0;
    const double d = v.toDouble();
    const qint64 fallback = (std::isfinite(d) && std::fabs(d) < 9.2e18) ? static_cast<qint64>(d) : 0;
    return v.toInteger(fallback);
}

QStringList idList(const QJsonValue &v)
{
    QStringList out;
    const QJsonArray array = v.toArray();
    out.reserve(array.size());
    for (const QJsonValue &item : array)
        out.append(idString(item));
    return out;
}

QStringList stringList(const QJsonValue &v)
{
    QStringList out;
    const QJsonArray array = v.toArray();
    out.reserve(array.size());
    for (const QJsonValue &item : array)
        out.append(item.toString());
    return out;
}

StatusEvent parseStatus(const QJsonObject &d)
{
    StatusEvent e;
    e.queueRemaining
        = d.value("status"_L1).toObject().value("exec_info"_L1).toObject().value("queue_remaining"_L1).toInt();
    e.sid = d.value("sid"_L1).toString();
    return e;
}

ExecutingEvent parseExecuting(const QJsonObject &d, const QString &promptId)
{
    ExecutingEvent e;
    e.promptId = promptId;
    const QJsonValue node = d.value("node"_L1);
    e.finished = node.isNull();
    e.node = idString(node);
    e.displayNode = idString(d.value("display_node"_L1));
    return e;
}

ProgressStateEvent parseProgressState(const QJsonObject &d, const QString &promptId)
{
    ProgressStateEvent e;
    e.promptId = promptId;
    const QJsonObject nodes = d.value("nodes"_L1).toObject();
    e.nodes.reserve(nodes.size());
    for (auto it = nodes.constBegin(); it != nodes.constEnd(); ++it) {
        const QJsonObject n = it.value().toObject();
        NodeProgress p;
        p.nodeId = n.contains("node_id"_L1) ? idString(n.value("node_id"_L1)) : it.key();
        p.displayNodeId = idString(n.value("display_node_id"_L1));
        p.realNodeId = idString(n.value("real_node_id"_L1));
        p.parentNodeId = idString(n.value("parent_node_id"_L1));
        p.state = n.value("state"_L1).toString();
        p.value = n.value("value"_L1).toDouble();
        p.max = n.value("max"_L1).toDouble();
        e.nodes.append(std::move(p));
    }
    return e;
}

ExecutionErrorEvent parseExecutionError(const QJsonObject &d, const QString &promptId)
{
    ExecutionErrorEvent e;
    e.promptId = promptId;
    e.nodeId = idString(d.value("node_id"_L1));
    e.nodeType = d.value("node_type"_L1).toString();
    e.exceptionMessage = d.value("exception_message"_L1).toString();
    e.exceptionType = d.value("exception_type"_L1).toString();
    e.traceback = stringList(d.value("traceback"_L1));
    e.executed = idList(d.value("executed"_L1));
    e.currentOutputs = idList(d.value("current_outputs"_L1));
    const QJsonValue ts = d.value("timestamp"_L1);
    e.terminal = ts.isDouble();
    e.timestamp = toInt64(ts);
    e.blocked = e.exceptionType == "ExecutionBlocked"_L1;
    return e;
}

// Builds the typed payload; `d` is the data object, `promptId` its prompt_id (already extracted).
EventPayload parsePayload(EventType type, const QJsonObject &d, const QString &promptId)
{
    switch (type) {
    case EventType::Status:
        return parseStatus(d);
    case EventType::ExecutionStart:
        return ExecutionStartEvent{promptId, toInt64(d.value("timestamp"_L1))};
    case EventType::ExecutionCached:
        return ExecutionCachedEvent{promptId, idList(d.value("nodes"_L1)), toInt64(d.value("timestamp"_L1))};
    case EventType::Executing:
        return parseExecuting(d, promptId);
    case EventType::Progress:
        return ProgressEvent{promptId, idString(d.value("node"_L1)), d.value("value"_L1).toDouble(),
                             d.value("max"_L1).toDouble()};
    case EventType::ProgressState:
        return parseProgressState(d, promptId);
    case EventType::Executed: {
        ExecutedEvent e;
        e.promptId = promptId;
        e.node = idString(d.value("node"_L1));
        e.displayNode = idString(d.value("display_node"_L1));
        e.output = d.value("output"_L1).toObject();
        e.files = outputFilesFrom(e.output);
        return e;
    }
    case EventType::ExecutionSuccess:
        return ExecutionSuccessEvent{promptId, toInt64(d.value("timestamp"_L1))};
    case EventType::ExecutionError:
        return parseExecutionError(d, promptId);
    case EventType::ExecutionInterrupted:
        return ExecutionInterruptedEvent{promptId, idString(d.value("node_id"_L1)), d.value("node_type"_L1).toString(),
                                         idList(d.value("executed"_L1)), toInt64(d.value("timestamp"_L1))};
    case EventType::FeatureFlags: {
        const QJsonValue preview = d.value("supports_preview_metadata"_L1);
        const QJsonValue cancel = d.value("supports_job_cancel"_L1);
        return FeatureFlagsEvent{preview.isBool() && preview.toBool(), d.value("max_upload_size"_L1).toDouble(),
                                 cancel.isBool() && cancel.toBool()};
    }
    case EventType::Unknown:
        break;
    }
    return std::monostate{};
}

} // namespace

QList<OutputFile> outputFilesFrom(const QJsonObject &uiOutput)
{
    QList<OutputFile> files;
    bool animated = false;
    for (const QJsonValue &v : uiOutput.value("animated"_L1).toArray())
        animated = animated || (v.isBool() && v.toBool());
    for (auto it = uiOutput.constBegin(); it != uiOutput.constEnd(); ++it) {
        if (!it.value().isArray())
            continue;
        const QJsonArray items = it.value().toArray();
        for (const QJsonValue &item : items) {
            if (item.isString() && it.key() == "text"_L1) {
                OutputFile text;
                text.kind = it.key();
                text.text = item.toString();
                files.append(text);
                continue;
            }
            const QJsonObject o = item.toObject();
            const QJsonValue filename = o.value("filename"_L1);
            if (!filename.isString() || filename.toString().isEmpty())
                continue;
            OutputFile f;
            f.kind = it.key();
            f.filename = filename.toString();
            f.subfolder = o.value("subfolder"_L1).toString();
            f.type = o.value("type"_L1).toString();
            f.format = o.value("format"_L1).toString();
            f.animated = animated;
            files.append(f);
        }
    }
    return files;
}

EventType eventTypeFromName(const QString &name)
{
    for (const auto &[type, wire] : kEventNames) {
        if (name == wire)
            return type;
    }
    return EventType::Unknown;
}

QString eventTypeName(EventType type)
{
    for (const auto &[t, wire] : kEventNames) {
        if (t == type)
            return QString(wire);
    }
    return {};
}

std::optional<ComfyEvent> parseTextFrame(const QByteArray &frame, QString *error)
{
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(frame, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        if (error)
            *error = QStringLiteral("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset);
        return std::nullopt;
    }
    if (!doc.isObject()) {
        if (error)
            *error = QStringLiteral("not a JSON object");
        return std::nullopt;
    }
    return parseEventObject(doc.object(), frame, error);
}

std::optional<ComfyEvent> parseEventObject(const QJsonObject &root, const QByteArray &raw, QString *error)
{
    const QJsonValue typeValue = root.value("type"_L1);
    if (!typeValue.isString()) {
        if (error)
            *error
                = typeValue.isUndefined() ? QStringLiteral("no \"type\"") : QStringLiteral("\"type\" is not a string");
        return std::nullopt;
    }

    ComfyEvent event;
    event.typeName = typeValue.toString();
    event.type = eventTypeFromName(event.typeName);
    if (root.contains("data"_L1)) {
        event.data = root.value("data"_L1).toObject();
    } else { // a flat event (the Python project's image_generated): the other members are its data
        event.data = root;
        event.data.remove("type"_L1);
    }
    event.promptId = event.data.value("prompt_id"_L1).toString();
    event.raw = raw;
    event.payload = parsePayload(event.type, event.data, event.promptId);
    if (error)
        error->clear();
    return event;
}

} // namespace cr::protocol
