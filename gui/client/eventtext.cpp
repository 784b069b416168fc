#include "gui/client/eventtext.h"

#include <QJsonDocument>

namespace cr::monitor {

using protocol::EventType;

QString eventCategory(const QString &typeName)
{
    // job_* names this version does not know yet are still the service's.
    if (protocol::serviceEventTypeFromName(typeName) || typeName.startsWith(QLatin1String("job_")))
        return QStringLiteral("job");
    if (typeName.startsWith(QLatin1String("relay_")))
        return QStringLiteral("relay");
    return QStringLiteral("comfy");
}

namespace {

QString describeServiceEvent(const protocol::ServiceEvent &ev)
{
    if (const auto *q = ev.as<protocol::JobQueuedEvent>())
        return q->workflow.isEmpty() ? QStringLiteral("queued") : QStringLiteral("queued (%1)").arg(q->workflow);
    if (ev.as<protocol::JobStartedEvent>())
        return QStringLiteral("started");
    if (const auto *p = ev.as<protocol::JobProgressEvent>()) {
        const QString who = p->classType.isEmpty() ? QStringLiteral("node %1").arg(p->node)
                                                   : QStringLiteral("node %1 (%2)").arg(p->node, p->classType);
        return p->max > 0 ? QStringLiteral("%1 step %2/%3").arg(who).arg(p->value).arg(p->max)
                          : QStringLiteral("%1 running").arg(who);
    }
    if (const auto *f = ev.as<protocol::JobEndedEvent>()) {
        const protocol::JobRecord &job = f->job;
        QString text
            = job.state == protocol::JobState::Unknown ? ev.typeName().mid(4) : protocol::jobStateName(job.state);
        text += QStringLiteral(", %1 output(s)").arg(job.outputs.size());
        if (job.durationMs >= 0)
            text += QStringLiteral(", %1 s").arg(double(job.durationMs) / 1000.0, 0, 'f', 1);
        const QString message = job.errorMessage();
        if (!message.isEmpty() || !job.reason.isEmpty())
            text += QStringLiteral(": ") + (message.isEmpty() ? job.reason : message.trimmed());
        return text;
    }
    if (const auto *i = ev.as<protocol::ImageGeneratedEvent>())
        return QStringLiteral("image %1").arg(i->imageFilename);
    return {};
}

} // namespace

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
            return QStringLiteral("error in node %1 (%2): %3")
                .arg(x->nodeId, x->nodeType, x->exceptionMessage.trimmed());
        break;
    case EventType::ExecutionInterrupted:
        return QStringLiteral("execution interrupted");
    case EventType::FeatureFlags:
    case EventType::Unknown:
        break;
    }
    // The service's job events.
    if (ev.service)
        return describeServiceEvent(*ev.service);

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
