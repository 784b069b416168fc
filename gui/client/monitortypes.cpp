#include "gui/client/monitortypes.h"

#include <QFileInfo>
#include <QJsonArray>

#include <algorithm>

namespace cr::monitor {

namespace {

struct StateName {
    JobState state;
    const char *name;
};
constexpr StateName kStates[] = {
    {JobState::Queued, "queued"},       {JobState::Running, "running"}, {JobState::Succeeded, "succeeded"},
    {JobState::Failed, "failed"},       {JobState::Cancelled, "cancelled"}, {JobState::Lost, "lost"},
};

QDateTime timeFrom(const QJsonValue &v)
{
    if (!v.isString())
        return {};
    QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(v.toString(), Qt::ISODate);
    return t;
}

// Node ids may come as numbers from hand-written JSON.
QString idFrom(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isDouble())
        return QString::number(v.toInteger());
    return {};
}

} // namespace

QString jobStateName(JobState state)
{
    for (const StateName &s : kStates)
        if (s.state == state)
            return QString::fromLatin1(s.name);
    return QStringLiteral("unknown");
}

JobState jobStateFromName(const QString &name)
{
    for (const StateName &s : kStates)
        if (name == QLatin1String(s.name))
            return s.state;
    return JobState::Unknown;
}

bool JobOutput::isImage() const
{
    static const QStringList kImageSuffixes = {QStringLiteral("png"), QStringLiteral("jpg"), QStringLiteral("jpeg"),
                                               QStringLiteral("webp"), QStringLiteral("gif"), QStringLiteral("bmp")};
    return kind == QLatin1String("images") || kImageSuffixes.contains(QFileInfo(filename).suffix().toLower());
}

std::optional<JobInfo> jobFromJson(const QJsonObject &o)
{
    if (!o.value(QLatin1String("id")).isString() || o.value(QLatin1String("id")).toString().isEmpty())
        return std::nullopt;
    JobInfo j;
    j.id = o.value(QLatin1String("id")).toString();
    j.workflow = o.value(QLatin1String("workflow")).toString();
    j.state = jobStateFromName(o.value(QLatin1String("state")).toString());
    j.createdAt = timeFrom(o.value(QLatin1String("created_at")));
    j.startedAt = timeFrom(o.value(QLatin1String("started_at")));
    j.finishedAt = timeFrom(o.value(QLatin1String("finished_at")));
    const QJsonValue duration = o.value(QLatin1String("duration_ms"));
    j.durationMs = duration.isDouble() ? qint64(duration.toDouble()) : -1;
    const QJsonObject progress = o.value(QLatin1String("progress")).toObject();
    j.progressNode = idFrom(progress.value(QLatin1String("node")));
    j.progressClass = progress.value(QLatin1String("class_type")).toString();
    j.progressValue = progress.value(QLatin1String("value")).toDouble();
    j.progressMax = progress.value(QLatin1String("max")).toDouble();
    const QJsonArray outputs = o.value(QLatin1String("outputs")).toArray();
    for (qsizetype i = 0; i < outputs.size(); ++i) {
        const QJsonObject f = outputs.at(i).toObject();
        JobOutput out;
        out.index = f.contains(QLatin1String("index")) ? f.value(QLatin1String("index")).toInt() : int(i);
        out.nodeId = idFrom(f.value(QLatin1String("node_id")));
        out.filename = f.value(QLatin1String("filename")).toString();
        out.kind = f.value(QLatin1String("kind")).toString();
        out.url = f.value(QLatin1String("url")).toString();
        j.outputs.append(out);
    }
    const QJsonValue error = o.value(QLatin1String("error"));
    if (error.isObject())
        j.errorMessage = error.toObject().value(QLatin1String("message")).toString();
    else if (error.isString())
        j.errorMessage = error.toString();
    j.reason = o.value(QLatin1String("reason")).toString();
    j.cancelRequested = o.value(QLatin1String("cancel_requested")).toBool();
    return j;
}

QList<JobInfo> jobListFromJson(const QJsonObject &object)
{
    QList<JobInfo> out;
    for (const QJsonValue &v : object.value(QLatin1String("jobs")).toArray())
        if (auto j = jobFromJson(v.toObject()))
            out.append(*j);
    return out;
}

QString WorkflowInfo::nodeName(const QString &nodeId) const
{
    for (const WorkflowNode &n : nodes) {
        if (n.id != nodeId)
            continue;
        if (!n.title.isEmpty())
            return n.title;
        if (!n.classType.isEmpty())
            return n.classType;
    }
    return QStringLiteral("node %1").arg(nodeId);
}

WorkflowInfo workflowFromJson(const QJsonObject &o, const QString &fallbackName)
{
    WorkflowInfo w;
    w.name = o.value(QLatin1String("name")).toString(fallbackName);
    const QJsonValue params = o.value(QLatin1String("parameters"));
    auto addParameter = [&w](const QString &name, const QJsonObject &p) {
        if (name.isEmpty())
            return;
        WorkflowParameter wp;
        wp.name = name;
        wp.nodeId = idFrom(p.value(QLatin1String("node")));
        wp.input = p.value(QLatin1String("input")).toString();
        wp.type = p.value(QLatin1String("type")).toString();
        wp.value = p.value(QLatin1String("value"));
        if (wp.type.isEmpty()) {
            if (wp.value.isBool())
                wp.type = QStringLiteral("boolean");
            else if (wp.value.isDouble())
                wp.type = wp.value.toDouble() == double(wp.value.toInteger()) ? QStringLiteral("integer") : QStringLiteral("float");
            else
                wp.type = QStringLiteral("string");
        }
        w.parameters.append(wp);
    };
    if (params.isArray()) {
        for (const QJsonValue &v : params.toArray())
            addParameter(v.toObject().value(QLatin1String("name")).toString(), v.toObject());
    } else if (params.isObject()) { // {"name": {...}} also accepted
        const QJsonObject map = params.toObject();
        for (auto it = map.begin(); it != map.end(); ++it)
            addParameter(it.key(), it.value().isObject() ? it.value().toObject() : QJsonObject{{QStringLiteral("value"), it.value()}});
    }
    for (const QJsonValue &v : o.value(QLatin1String("nodes")).toArray()) {
        const QJsonObject n = v.toObject();
        const QString id = idFrom(n.value(QLatin1String("id")));
        if (!id.isEmpty())
            w.nodes.append({id, n.value(QLatin1String("class_type")).toString(), n.value(QLatin1String("title")).toString()});
    }
    // A graph in the answer (API format) names every node, also the ones without literal inputs.
    const QJsonObject graph = o.value(QLatin1String("graph")).toObject();
    for (auto it = graph.begin(); it != graph.end(); ++it) {
        const bool known = std::any_of(w.nodes.cbegin(), w.nodes.cend(), [&it](const WorkflowNode &n) { return n.id == it.key(); });
        if (!known) {
            const QJsonObject node = it.value().toObject();
            w.nodes.append({it.key(), node.value(QLatin1String("class_type")).toString(),
                            node.value(QLatin1String("_meta")).toObject().value(QLatin1String("title")).toString()});
        }
    }
    const QJsonValue count = o.value(QLatin1String("node_count"));
    w.nodeCount = count.isDouble() ? count.toInt() : int(w.nodes.size());
    return w;
}

QStringList workflowNamesFromJson(const QJsonValue &value)
{
    const QJsonArray list = value.isArray() ? value.toArray() : value.toObject().value(QLatin1String("workflows")).toArray();
    QStringList names;
    for (const QJsonValue &v : list) {
        const QString name = v.isString() ? v.toString() : v.toObject().value(QLatin1String("name")).toString();
        if (!name.isEmpty() && !names.contains(name))
            names.append(name);
    }
    names.sort();
    return names;
}

QUrl relayUrlAt(const QUrl &runnerUrl, int port)
{
    if (!runnerUrl.isValid() || runnerUrl.host().isEmpty() || port < 1 || port > 65535)
        return {};
    QUrl url;
    url.setScheme(runnerUrl.scheme() == QLatin1String("https") ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setHost(runnerUrl.host());
    url.setPort(port);
    url.setPath(QStringLiteral("/"));
    return url;
}

QUrl defaultRelayUrl(const QUrl &runnerUrl)
{
    return relayUrlAt(runnerUrl, runnerUrl.port(runnerUrl.scheme() == QLatin1String("https") ? 443 : 80) + 1);
}

std::optional<int> relayPortFromSystem(const QJsonObject &system)
{
    const QJsonValue port = system.value(QLatin1String("service")).toObject().value(QLatin1String("relay_port"));
    if (!port.isDouble())
        return std::nullopt;
    const double value = port.toDouble();
    if (value != double(qint64(value)) || value < 1 || value > 65535)
        return std::nullopt;
    return int(value);
}

} // namespace cr::monitor
