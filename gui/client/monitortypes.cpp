#include "gui/client/monitortypes.h"

#include "protocol/jsonutil.h"

#include <QJsonArray>

#include <algorithm>

namespace cr::monitor {

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
        wp.nodeId = protocol::idString(p.value(QLatin1String("node")));
        wp.input = p.value(QLatin1String("input")).toString();
        wp.type = p.value(QLatin1String("type")).toString();
        wp.value = p.value(QLatin1String("value"));
        if (wp.type.isEmpty()) {
            if (wp.value.isBool())
                wp.type = QStringLiteral("boolean");
            else if (wp.value.isDouble())
                wp.type = wp.value.toDouble() == double(wp.value.toInteger()) ? QStringLiteral("integer")
                                                                              : QStringLiteral("float");
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
            addParameter(it.key(),
                         it.value().isObject() ? it.value().toObject()
                                               : QJsonObject{{QStringLiteral("value"), it.value()}});
    }
    for (const QJsonValue &v : o.value(QLatin1String("nodes")).toArray()) {
        const QJsonObject n = v.toObject();
        const QString id = protocol::idString(n.value(QLatin1String("id")));
        if (!id.isEmpty())
            w.nodes.append(
                {id, n.value(QLatin1String("class_type")).toString(), n.value(QLatin1String("title")).toString()});
    }
    // A graph in the answer (API format) names every node, also the ones without literal inputs.
    const QJsonObject graph = o.value(QLatin1String("graph")).toObject();
    for (auto it = graph.begin(); it != graph.end(); ++it) {
        const bool known
            = std::any_of(w.nodes.cbegin(), w.nodes.cend(), [&it](const WorkflowNode &n) { return n.id == it.key(); });
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
    const QJsonArray list
        = value.isArray() ? value.toArray() : value.toObject().value(QLatin1String("workflows")).toArray();
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
