#include "gui/client/jobreducer.h"

#include <QDateTime>

#include <algorithm>

namespace cr::monitor {

using protocol::EventType;

double JobView::overallFraction() const
{
    if (info.state == JobState::Succeeded)
        return 1.0;
    const double nodeShare
        = node.max > 0 && !nodesDone.contains(node.nodeId) ? qBound(0.0, node.value / node.max, 1.0) : 0.0;
    const int total
        = qMax(nodesTotal, int(nodesDone.size()) + (currentNode.isEmpty() || nodesDone.contains(currentNode) ? 0 : 1));
    if (total <= 0)
        return nodeShare;
    return qBound(0.0, (double(nodesDone.size()) + nodeShare) / double(total), 1.0);
}

qint64 JobView::durationMs(qint64 now) const
{
    if (confirmedFinal && info.durationMs >= 0)
        return info.durationMs; // the runner's own figure once it has the final record
    if (!info.startedAt.isValid())
        return -1;
    const qint64 end = info.finishedAt.isValid() ? info.finishedAt.toMSecsSinceEpoch() : now;
    return qMax<qint64>(0, end - info.startedAt.toMSecsSinceEpoch());
}

QString JobReducer::jobIdOf(const MonitorEvent &ev)
{
    if (!ev.jobId.isEmpty())
        return ev.jobId;
    if (ev.service)
        return ev.service->jobId();
    return ev.event.type != EventType::Unknown ? ev.event.promptId : QString();
}

JobView JobReducer::newJob(const QString &id, qint64 seenMs, quint64 seenOrder)
{
    JobView v;
    v.info.id = id;
    v.info.state = JobState::Queued;
    v.sortKeyMs = seenMs;
    v.seenOrder = seenOrder;
    return v;
}

void JobReducer::setState(JobView &job, JobState state, qint64 atMs, JobChange &change)
{
    if (job.info.state == state || (isFinal(job.info.state) && !isFinal(state)))
        return;
    job.info.state = state;
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(atMs, Qt::UTC);
    if (state == JobState::Running) {
        job.watched = true;
        if (!job.info.startedAt.isValid())
            job.info.startedAt = at;
        change.started = true;
    } else if (isFinal(state)) {
        if (!job.info.finishedAt.isValid())
            job.info.finishedAt = at;
        if (state == JobState::Succeeded)
            settleNode(job);
        change.finished = true;
        change.refresh = true; // outputs, duration and the runner's own verdict
    }
}

void JobReducer::settleNode(JobView &job)
{
    job.currentNode.clear();
    if (job.node.max <= 0 && job.lastStepped.max > 0)
        job.node = job.lastStepped; // "KSampler: step 20 of 20" says more than "Save Image"
}

void JobReducer::setNodeProgress(JobView &job, const QString &nodeId, double value, double max,
                                 const WorkflowInfo *workflow)
{
    job.node.nodeId = nodeId;
    job.node.value = value;
    job.node.max = max;
    job.node.name = workflow ? workflow->nodeName(nodeId) : QStringLiteral("node %1").arg(nodeId);
    if (max > 0)
        job.lastStepped = job.node;
}

void JobReducer::applyWorkflow(JobView &job, const WorkflowInfo &workflow)
{
    job.nodesTotal = workflow.nodeCount;
    if (!job.node.nodeId.isEmpty())
        job.node.name = workflow.nodeName(job.node.nodeId);
    if (!job.lastStepped.nodeId.isEmpty())
        job.lastStepped.name = workflow.nodeName(job.lastStepped.nodeId);
}

JobChange JobReducer::applyEvent(JobView &v, const MonitorEvent &ev, qint64 at, const WorkflowInfo *workflow,
                                 bool isNew)
{
    JobChange change;
    const protocol::ComfyEvent &e = ev.event;
    switch (e.type) {
    case EventType::ExecutionStart:
        setState(v, JobState::Running, at, change);
        break;
    case EventType::ExecutionCached:
        if (const auto *c = e.as<protocol::ExecutionCachedEvent>())
            for (const QString &node : c->nodes)
                v.nodesDone.insert(node);
        break;
    case EventType::Executing:
        if (const auto *x = e.as<protocol::ExecutingEvent>()) {
            setState(v, JobState::Running, at, change);
            if (x->finished) {
                v.currentNode.clear();
            } else {
                if (!v.currentNode.isEmpty() && v.currentNode != x->node)
                    v.nodesDone.insert(v.currentNode);
                v.currentNode = x->node;
                if (v.node.nodeId != x->node)
                    setNodeProgress(v, x->node, 0, 0, workflow);
            }
        }
        break;
    case EventType::Progress:
        if (const auto *p = e.as<protocol::ProgressEvent>()) {
            setState(v, JobState::Running, at, change);
            setNodeProgress(v, p->node, p->value, p->max, workflow);
            v.currentNode = p->node;
        }
        break;
    case EventType::ProgressState:
        if (const auto *p = e.as<protocol::ProgressStateEvent>()) {
            for (const protocol::NodeProgress &n : p->nodes) {
                if (n.state == QLatin1String("finished"))
                    v.nodesDone.insert(n.nodeId);
                else if (n.state == QLatin1String("running") && n.max > 1 && n.nodeId == v.currentNode)
                    setNodeProgress(v, n.nodeId, n.value, n.max, workflow);
            }
        }
        break;
    case EventType::Executed:
        if (const auto *x = e.as<protocol::ExecutedEvent>())
            v.nodesDone.insert(x->node);
        break;
    case EventType::ExecutionSuccess:
        setState(v, JobState::Succeeded, at, change);
        break;
    case EventType::ExecutionError:
        if (const auto *x = e.as<protocol::ExecutionErrorEvent>(); x && x->terminal) {
            v.info.error = protocol::JobError{x->exceptionMessage.trimmed(), x->nodeId, x->nodeType, x->exceptionType};
            setState(v, JobState::Failed, at, change);
        }
        break;
    case EventType::ExecutionInterrupted:
        setState(v, JobState::Cancelled, at, change);
        break;
    case EventType::Unknown:
        applyServiceEvent(v, ev, at, workflow, isNew, change);
        break;
    default:
        break;
    }
    return change;
}

// The service's own events (job_queued, job_started, job_progress, job_finished...).
void JobReducer::applyServiceEvent(JobView &v, const MonitorEvent &ev, qint64 at, const WorkflowInfo *workflow,
                                   bool isNew, JobChange &change)
{
    using protocol::ServiceEventType;
    const protocol::ServiceEvent *s = ev.service ? &*ev.service : nullptr;
    const auto *ended = s ? s->as<protocol::JobEndedEvent>() : nullptr;
    const JobState state = ended ? ended->job.state : JobState::Unknown;
    if (state != JobState::Unknown)
        setState(v, state, at, change);
    else if (s && s->type == ServiceEventType::JobStarted)
        setState(v, JobState::Running, at, change);
    if (const auto *p = s ? s->as<protocol::JobProgressEvent>() : nullptr) {
        v.etaMs = p->etaMs;
        v.etaAtMs = at;
    }
    if (const auto *q = s ? s->as<protocol::JobQueuedEvent>() : nullptr) {
        v.etaMs = q->etaMs;
        v.etaAtMs = at;
    }
    if (const auto *p = s ? s->as<protocol::JobProgressEvent>() : nullptr; p && !p->node.isEmpty() && p->max > 0) {
        setNodeProgress(v, p->node, p->value, p->max, workflow);
        if (!workflow && !p->classType.isEmpty())
            v.node.name = p->classType;
    }
    if (ended && ended->job.id == v.info.id && isFinal(state)) {
        change.record = ended->job; // these events carry the whole job, outputs included
        return;
    }
    // A job event that names no state (or a job_* type this version does not know): ask the runner.
    const bool jobEvent
        = s ? s->type != ServiceEventType::ImageGenerated : ev.event.typeName.startsWith(QLatin1String("job_"));
    if (jobEvent && !isNew && state == JobState::Unknown && !(s && s->type == ServiceEventType::JobProgress))
        change.refresh = true;
    const auto *queued = s ? s->as<protocol::JobQueuedEvent>() : nullptr;
    const QString wf = queued ? queued->workflow : ended ? ended->job.workflow : QString();
    if (!wf.isEmpty() && v.info.workflow.isEmpty()) {
        v.info.workflow = wf;
        change.workflowNeeded = wf;
    }
}

JobChange JobReducer::applyRecord(JobView &v, const JobInfo &info, bool isNew, bool fromInitialList,
                                  const WorkflowInfo *workflow)
{
    JobChange change;
    const qint64 created = info.createdAt.isValid() ? info.createdAt.toMSecsSinceEpoch() : 0;
    const JobState before = v.info.state;
    const bool localFinal = isFinal(before) && !isNew;
    JobInfo merged = info;
    if (!isFinal(info.state) && info.state != JobState::Unknown) {
        v.etaMs = info.etaMs;
        v.etaAtMs = QDateTime::currentMSecsSinceEpoch();
    }
    // A REST answer may be older than the events we already applied: never move a job back from a final state.
    if (localFinal && !isFinal(info.state))
        merged.state = before;
    if (merged.state == JobState::Unknown)
        merged.state = before;
    if (!merged.startedAt.isValid())
        merged.startedAt = v.info.startedAt;
    if (!merged.finishedAt.isValid())
        merged.finishedAt = v.info.finishedAt;
    if (!merged.error)
        merged.error = v.info.error;
    v.info = merged;
    v.confirmedFinal = v.confirmedFinal || isFinal(info.state);
    if (isNew && created > 0)
        v.sortKeyMs = created;
    if (fromInitialList || !isFinal(v.info.state))
        v.watched = true; // active when we saw it: its outputs are for the gallery
    if (v.node.nodeId.isEmpty() && !info.progressNode.isEmpty() && info.progressMax > 0)
        setNodeProgress(v, info.progressNode, info.progressValue, info.progressMax, workflow);
    if (!v.info.workflow.isEmpty()) {
        if (workflow)
            v.nodesTotal = workflow->nodeCount;
        else
            change.workflowNeeded = v.info.workflow;
    }
    if (v.info.state == JobState::Succeeded)
        settleNode(v);
    if (before != v.info.state) {
        change.started = v.info.state == JobState::Running;
        change.finished = isFinal(v.info.state);
    }
    return change;
}

qint64 JobView::etaRemainingMs(qint64 nowMs) const
{
    if (isFinal(info.state) || etaMs < 0)
        return -1;
    return std::max<qint64>(0, etaMs - (nowMs - etaAtMs));
}

} // namespace cr::monitor
