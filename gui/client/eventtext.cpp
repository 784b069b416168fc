#include "gui/client/eventtext.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace cr::monitor {

using protocol::EventType;

QString eventCategory(const QString &typeName)
{
    if (typeName.startsWith(QLatin1String("job_")) || typeName == QLatin1String("image_generated"))
        return QStringLiteral("job");
    if (typeName.startsWith(QLatin1String("relay_")))
        return QStringLiteral("relay");
    return QStringLiteral("comfy");
}

QString describeEvent(const MonitorEvent &ev)
{
    const protocol::ComfyEvent &e = ev.event;
    switch (e.type) {
    case EventType::Status:
        if (const auto *s = e.as<protocol::StatusEvent>())
            return QStringLiteral("queue remaining %1").arg(s->queueRemaining);
        break;
    case EventType::ExecutionStart:
        return QStringLiteral("execution started");
    case EventType::ExecutionCached:
        if (const auto *c = e.as<protocol::ExecutionCachedEvent>())
            return c->nodes.isEmpty() ? QStringLiteral("nothing cached")
                                      : QStringLiteral("cached nodes %1").arg(c->nodes.join(QLatin1String(", ")));
        break;
    case EventType::Executing:
        if (const auto *x = e.as<protocol::ExecutingEvent>())
            return x->finished ? QStringLiteral("prompt finished") : QStringLiteral("executing node %1").arg(x->node);
        break;
    case EventType::Progress:
        if (const auto *p = e.as<protocol::ProgressEvent>())
            return QStringLiteral("step %1/%2 on node %3").arg(p->value).arg(p->max).arg(p->node);
        break;
    case EventType::ProgressState:
        if (const auto *p = e.as<protocol::ProgressStateEvent>())
            return QStringLiteral("%1 node(s) tracked").arg(p->nodes.size());
        break;
    case EventType::Executed:
        if (const auto *x = e.as<protocol::ExecutedEvent>())
            return QStringLiteral("node %1 done, %2 file(s)").arg(x->node).arg(x->files.size());
        break;
    case EventType::ExecutionSuccess:
        return QStringLiteral("execution succeeded");
    case EventType::ExecutionError:
        if (const auto *x = e.as<protocol::ExecutionErrorEvent>())
            return QStringLiteral("error in node %1 (%2): %3").arg(x->nodeId, x->nodeType, x->exceptionMessage.trimmed());
        break;
    case EventType::ExecutionInterrupted:
        return QStringLiteral("execution interrupted");
    case EventType::FeatureFlags:
    case EventType::Unknown:
        break;
    }
    // The service's job events.
    const QJsonObject &d = e.data;
    const QString type = e.typeName;
    if (type == QLatin1String("job_queued"))
        return d.value(QLatin1String("workflow")).toString().isEmpty()
                   ? QStringLiteral("queued")
                   : QStringLiteral("queued (%1)").arg(d.value(QLatin1String("workflow")).toString());
    if (type == QLatin1String("job_started"))
        return QStringLiteral("started");
    if (type == QLatin1String("job_progress")) {
        const QString node = d.value(QLatin1String("node")).toString();
        const QString cls = d.value(QLatin1String("class_type")).toString();
        const QString who = cls.isEmpty() ? QStringLiteral("node %1").arg(node) : QStringLiteral("node %1 (%2)").arg(node, cls);
        const double max = d.value(QLatin1String("max")).toDouble();
        return max > 0 ? QStringLiteral("%1 step %2/%3").arg(who).arg(d.value(QLatin1String("value")).toDouble()).arg(max)
                       : QStringLiteral("%1 running").arg(who);
    }
    if (type == QLatin1String("job_finished") || type == QLatin1String("job_failed") || type == QLatin1String("job_cancelled")) {
        QString text = d.value(QLatin1String("state")).toString(type.mid(4));
        if (d.value(QLatin1String("outputs")).isArray())
            text += QStringLiteral(", %1 output(s)").arg(d.value(QLatin1String("outputs")).toArray().size());
        if (d.value(QLatin1String("duration_ms")).isDouble())
            text += QStringLiteral(", %1 s").arg(d.value(QLatin1String("duration_ms")).toDouble() / 1000.0, 0, 'f', 1);
        const QString message = d.value(QLatin1String("error")).toObject().value(QLatin1String("message")).toString();
        const QString reason = d.value(QLatin1String("reason")).toString();
        if (!message.isEmpty() || !reason.isEmpty())
            text += QStringLiteral(": ") + (message.isEmpty() ? reason : message.trimmed());
        return text;
    }
    if (type == QLatin1String("image_generated"))
        return QStringLiteral("image %1").arg(d.value(QLatin1String("image_filename")).toString());

    // Anything else: the data without job_id, compact and cut short.
    QJsonObject data = e.data;
    data.remove(QStringLiteral("job_id"));
    const QString state = data.value(QLatin1String("state")).toString();
    QString text = QString::fromUtf8(QJsonDocument(data).toJson(QJsonDocument::Compact));
    if (text == QLatin1String("{}"))
        text.clear();
    if (text.size() > 160)
        text = text.left(157) + QStringLiteral("...");
    return state.isEmpty() ? text : QStringLiteral("%1 %2").arg(state, text);
}

} // namespace cr::monitor
