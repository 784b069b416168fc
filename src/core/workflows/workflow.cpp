// Workflow: parsing, validation and read access. Editing lives in workflowedit.cpp, named parameters in
// workflowparameters.cpp.

#include "core/workflows/workflow.h"

#include "core/workflows/floatscanner.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QVariant>

#include <algorithm>
#include <cmath>

Q_LOGGING_CATEGORY(lcWorkflows, "comfyrunner.workflows")

namespace cr {

namespace {

const QString kClassType = QStringLiteral("class_type");
const QString kInputs = QStringLiteral("inputs");
const QString kMeta = QStringLiteral("_meta");

// 1-based line and column of a byte offset, for parse errors.
QPair<int, int> lineColumn(const QByteArray &bytes, qsizetype offset)
{
    int line = 1;
    int column = 1;
    for (qsizetype i = 0; i < offset && i < bytes.size(); ++i) {
        if (bytes.at(i) == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return {line, column};
}

Error invalid(const QString &workflow, const QString &message, QJsonObject details = {})
{
    details.insert(QStringLiteral("workflow"), workflow);
    return Error::make(ErrorCode::InvalidWorkflow, message, std::move(details));
}

bool looksLikeUiExport(const QJsonObject &o)
{
    return (o.value(QStringLiteral("nodes")).isArray() && o.contains(QStringLiteral("links")))
        || o.contains(QStringLiteral("last_node_id"));
}

// Checks the graph's shape; nodes are visited in id order so the first error is stable.
Status validateGraph(const QString &name, const QJsonObject &graph, const QStringList &orderedIds)
{
    if (looksLikeUiExport(graph)) {
        return invalid(name,
                       QStringLiteral("Workflow '%1' is a ComfyUI UI-format file (the editor's own save format); "
                                      "comfy_runner needs the API format. In ComfyUI open the Workflow menu and "
                                      "choose 'Export (API)' (older versions: enable 'Dev mode options' in the "
                                      "settings, then use 'Save (API Format)').")
                           .arg(name),
                       {{QStringLiteral("format"), QStringLiteral("ui")}});
    }
    if (graph.isEmpty())
        return invalid(name, QStringLiteral("Workflow '%1' has no nodes.").arg(name));
    if (graph.size() == 1 && graph.value(QStringLiteral("prompt")).isObject()) {
        return invalid(name,
                       QStringLiteral("Workflow '%1' looks like a POST /prompt body; save only the object "
                                      "under \"prompt\" (the API-format graph).")
                           .arg(name),
                       {{QStringLiteral("node"), QStringLiteral("prompt")}});
    }
    for (const QString &id : orderedIds) {
        const QJsonValue nodeValue = graph.value(id);
        const QJsonObject nodeDetails{{QStringLiteral("node"), id}};
        if (!nodeValue.isObject()) {
            return invalid(name,
                           QStringLiteral("Node '%1' of workflow '%2' is not an object with class_type and "
                                          "inputs; is this an API-format workflow?")
                               .arg(id, name),
                           nodeDetails);
        }
        const QJsonObject node = nodeValue.toObject();
        const QString classType = node.value(kClassType).toString();
        if (classType.isEmpty()) {
            return invalid(name, QStringLiteral("Node '%1' of workflow '%2' has no class_type.").arg(id, name),
                           nodeDetails);
        }
        if (!node.value(kInputs).isObject()) {
            return invalid(
                name, QStringLiteral("Node '%1' (%2) of workflow '%3' has no inputs object.").arg(id, classType, name),
                nodeDetails);
        }
        const QJsonObject inputs = node.value(kInputs).toObject();
        for (auto it = inputs.begin(); it != inputs.end(); ++it) {
            if (!isLink(it.value()))
                continue;
            const QString target = it.value().toArray().at(0).toString();
            if (!graph.contains(target)) {
                return invalid(name,
                               QStringLiteral("Input '%1' of node '%2' (%3) in workflow '%4' links to node '%5', "
                                              "which is not in the workflow.")
                                   .arg(it.key(), id, classType, name, target),
                               {{QStringLiteral("node"), id},
                                {QStringLiteral("input"), it.key()},
                                {QStringLiteral("link_target"), target}});
            }
        }
    }
    return std::nullopt;
}

bool idLess(const QString &a, const QString &b)
{
    bool okA = false;
    bool okB = false;
    const qlonglong na = a.toLongLong(&okA);
    const qlonglong nb = b.toLongLong(&okB);
    if (okA && okB)
        return na < nb || (na == nb && a < b);
    if (okA != okB)
        return okA; // numeric ids first
    return a < b;
}

QStringList sortedIds(const QJsonObject &graph)
{
    QStringList ids = graph.keys();
    std::sort(ids.begin(), ids.end(), idLess);
    return ids;
}

bool isWholeNumber(const QJsonValue &v)
{
    if (v.toVariant().typeId() == QMetaType::LongLong)
        return true;
    const double d = v.toDouble();
    return std::isfinite(d) && std::trunc(d) == d;
}

} // namespace

QString inputTypeName(InputType type)
{
    switch (type) {
    case InputType::String:
        return QStringLiteral("string");
    case InputType::Integer:
        return QStringLiteral("integer");
    case InputType::Float:
        return QStringLiteral("float");
    case InputType::Boolean:
        return QStringLiteral("boolean");
    case InputType::Link:
        return QStringLiteral("link");
    case InputType::Other:
        break;
    }
    return QStringLiteral("other");
}

bool isLink(const QJsonValue &value)
{
    if (!value.isArray())
        return false;
    const QJsonArray a = value.toArray();
    return a.size() == 2 && a.at(0).isString() && a.at(1).isDouble() && isWholeNumber(a.at(1))
        && a.at(1).toDouble() >= 0;
}

const QStringList &textRuleInputs()
{
    static const QStringList names{
        QStringLiteral("text"),          QStringLiteral("value"),      QStringLiteral("text_positive"),
        QStringLiteral("text_negative"), QStringLiteral("prompt"),     QStringLiteral("system"),
        QStringLiteral("style"),         QStringLiteral("style_name"), QStringLiteral("key"),
        QStringLiteral("url"),           QStringLiteral("model")};
    return names;
}

QJsonObject InputInfo::toJson() const
{
    return {{QStringLiteral("name"), name},
            {QStringLiteral("type"), inputTypeName(type)},
            {QStringLiteral("value"), value}};
}

QJsonObject NodeInfo::toJson() const
{
    QJsonArray list;
    for (const InputInfo &i : inputs)
        list.append(i.toJson());
    return {{QStringLiteral("id"), id},
            {QStringLiteral("class_type"), classType},
            {QStringLiteral("title"), title},
            {QStringLiteral("inputs"), list}};
}

QJsonObject Parameter::toJson() const
{
    return {{QStringLiteral("name"), name},   {QStringLiteral("node"), nodeId},
            {QStringLiteral("input"), input}, {QStringLiteral("type"), inputTypeName(type)},
            {QStringLiteral("value"), value}, {QStringLiteral("source"), source}};
}

Result<Workflow> Workflow::fromJson(const QString &name, const QByteArray &fileBytes, const QString &filePath)
{
    // Editors on Windows like to start UTF-8 files with a byte order mark, which Qt's parser rejects.
    const QByteArray bytes = fileBytes.startsWith("\xEF\xBB\xBF") ? fileBytes.mid(3) : fileBytes;
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        const auto [line, column] = lineColumn(bytes, parseError.offset);
        return invalid(name,
                       QStringLiteral("Workflow '%1' is not valid JSON: %2 at line %3, column %4.")
                           .arg(name, parseError.errorString())
                           .arg(line)
                           .arg(column),
                       {{QStringLiteral("line"), line}, {QStringLiteral("column"), column}});
    }
    if (!doc.isObject()) {
        return invalid(name,
                       QStringLiteral("Workflow '%1' must be a JSON object of node ids to nodes (API "
                                      "format), not an array or a scalar.")
                           .arg(name));
    }
    const QJsonObject graph = doc.object();
    if (const Status bad = validateGraph(name, graph, sortedIds(graph)))
        return *bad;

    Workflow wf;
    wf.m_name = name;
    wf.m_filePath = filePath;
    wf.m_graph = graph;
    wf.m_hash = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256);
    wf.m_floatInputs = scanFloatInputs(bytes);
    return wf;
}

Result<Workflow> Workflow::fromGraph(const QString &name, const QJsonObject &graph)
{
    if (const Status bad = validateGraph(name, graph, sortedIds(graph)))
        return *bad;
    Workflow wf;
    wf.m_name = name;
    wf.m_graph = graph;
    wf.m_hash
        = QCryptographicHash::hash(QJsonDocument(graph).toJson(QJsonDocument::Compact), QCryptographicHash::Sha256);
    for (auto node = graph.begin(); node != graph.end(); ++node) {
        const QJsonObject inputs = node.value().toObject().value(kInputs).toObject();
        for (auto in = inputs.begin(); in != inputs.end(); ++in) {
            if (in.value().isDouble() && !isWholeNumber(in.value()))
                wf.m_floatInputs[node.key()].insert(in.key());
        }
    }
    return wf;
}

QStringList Workflow::nodeIds() const { return sortedIds(m_graph); }

QString Workflow::classType(const QString &nodeId) const
{
    return m_graph.value(nodeId).toObject().value(kClassType).toString();
}

QString Workflow::title(const QString &nodeId) const
{
    return m_graph.value(nodeId).toObject().value(kMeta).toObject().value(QStringLiteral("title")).toString();
}

std::optional<InputType> Workflow::inputType(const QString &nodeId, const QString &input) const
{
    const QJsonValue v = inputValue(nodeId, input);
    switch (v.type()) {
    case QJsonValue::Undefined:
        return std::nullopt;
    case QJsonValue::String:
        return InputType::String;
    case QJsonValue::Bool:
        return InputType::Boolean;
    case QJsonValue::Double:
        if (m_floatInputs.value(nodeId).contains(input) || !isWholeNumber(v))
            return InputType::Float;
        return InputType::Integer;
    case QJsonValue::Array:
        return isLink(v) ? InputType::Link : InputType::Other;
    case QJsonValue::Null:
    case QJsonValue::Object:
        break;
    }
    return InputType::Other;
}

QJsonValue Workflow::inputValue(const QString &nodeId, const QString &input) const
{
    return m_graph.value(nodeId).toObject().value(kInputs).toObject().value(input);
}

QString Workflow::saveImageNodeId() const
{
    const QStringList ids = nodeIds();
    for (const QString &id : ids) {
        if (classType(id) == QLatin1String("SaveImage"))
            return id;
    }
    for (const QString &id : ids) {
        if (classType(id).contains(QLatin1String("SaveImage")))
            return id;
    }
    return {};
}

QList<NodeInfo> Workflow::editableInputs() const
{
    QList<NodeInfo> nodes;
    for (const QString &id : nodeIds()) {
        NodeInfo info{id, classType(id), title(id), {}};
        const QJsonObject inputs = m_graph.value(id).toObject().value(kInputs).toObject();
        for (auto it = inputs.begin(); it != inputs.end(); ++it) {
            const InputType t = inputType(id, it.key()).value_or(InputType::Other);
            if (t != InputType::Link && t != InputType::Other)
                info.inputs.append(InputInfo{it.key(), t, it.value()});
        }
        nodes.append(std::move(info));
    }
    return nodes;
}

Error Workflow::nodeError(const char *code, const QString &nodeId, const QString &input, const QString &message) const
{
    QJsonObject details{{QStringLiteral("workflow"), m_name}, {QStringLiteral("node"), nodeId}};
    if (!input.isEmpty())
        details.insert(QStringLiteral("input"), input);
    if (hasNode(nodeId))
        details.insert(QStringLiteral("class_type"), classType(nodeId));
    return Error::make(code, message, details);
}

} // namespace cr
