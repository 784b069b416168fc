#include "gui/client/jobtracker.h"

#include "gui/client/monitorlog.h"
#include "gui/client/restclient.h"

#include <QDateTime>
#include <QJsonArray>
#include <QTimer>

#include <algorithm>

namespace cr::monitor {

using protocol::EventType;

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

constexpr int kMaxConfirmTries = 8;

} // namespace

double JobView::overallFraction() const
{
    if (info.state == JobState::Succeeded)
        return 1.0;
    const double nodeShare = node.max > 0 && !nodesDone.contains(node.nodeId) ? qBound(0.0, node.value / node.max, 1.0) : 0.0;
    const int total = qMax(nodesTotal, int(nodesDone.size()) + (currentNode.isEmpty() || nodesDone.contains(currentNode) ? 0 : 1));
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

JobTracker::JobTracker(RelayClient *relay, RestClient *rest, QObject *parent)
    : QObject(parent), m_relay(relay), m_rest(rest)
{
    connect(m_relay, &RelayClient::eventReceived, this, &JobTracker::onEvent);
    connect(m_relay, &RelayClient::previewReceived, this, &JobTracker::onPreview);
    connect(m_relay, &RelayClient::stateChanged, this, [this](RelayClient::State s) {
        if (s == RelayClient::State::Connected)
            refresh(); // whatever happened while we were away
    });
    connect(m_relay, &RelayClient::gap, this, [this] {
        refresh();
        for (auto it = m_jobs.cbegin(); it != m_jobs.cend(); ++it)
            if (!isFinal(it->info.state))
                refreshJob(it.key());
    });
}

JobTracker::~JobTracker() = default;

QStringList JobTracker::jobIds() const
{
    QList<const JobView *> views;
    views.reserve(m_jobs.size());
    for (const JobView &v : m_jobs)
        views.append(&v);
    std::sort(views.begin(), views.end(), [](const JobView *a, const JobView *b) { return isNewer(*a, *b); });
    QStringList ids;
    for (const JobView *v : views)
        ids.append(v->info.id);
    return ids;
}

bool JobTracker::isNewer(const JobView &a, const JobView &b)
{
    return a.sortKeyMs != b.sortKeyMs ? a.sortKeyMs > b.sortKeyMs : a.seenOrder > b.seenOrder;
}

const JobView *JobTracker::job(const QString &id) const
{
    const auto it = m_jobs.constFind(id);
    return it == m_jobs.cend() ? nullptr : &*it;
}

QString JobTracker::newestActiveJob() const
{
    const JobView *best = nullptr;
    for (const JobView &v : m_jobs) {
        if (isFinal(v.info.state))
            continue;
        const bool running = v.info.state == JobState::Running;
        const bool bestRunning = best && best->info.state == JobState::Running;
        if (!best || (running && !bestRunning) || (running == bestRunning && isNewer(v, *best)))
            best = &v;
    }
    return best ? best->info.id : QString();
}

const WorkflowInfo *JobTracker::workflow(const QString &name) const
{
    const auto it = m_workflows.constFind(name);
    return it == m_workflows.cend() ? nullptr : &*it;
}

void JobTracker::clear()
{
    const QStringList ids = m_jobs.keys();
    m_jobs.clear();
    m_jobFetches.clear();
    m_confirmTries.clear();
    m_outputRequests.clear();
    m_workflows.clear();
    m_workflowRequests.clear();
    for (const QString &id : ids)
        emit jobRemoved(id);
}

JobView &JobTracker::ensureJob(const QString &id, qint64 seenMs, bool *created)
{
    auto it = m_jobs.find(id);
    if (created)
        *created = it == m_jobs.end();
    if (it != m_jobs.end())
        return *it;
    JobView v;
    v.info.id = id;
    v.info.state = JobState::Queued;
    v.sortKeyMs = seenMs > 0 ? seenMs : nowMs();
    v.seenOrder = ++m_seenCounter;
    it = m_jobs.insert(id, v);
    emit jobAdded(id);
    return *it;
}

void JobTracker::refresh()
{
    if (m_listInFlight) {
        m_listAgain = true;
        return;
    }
    m_listInFlight = true;
    const bool initial = m_jobs.isEmpty();
    m_rest->listJobs(m_listLimit, this, [this, initial](Result<QList<JobInfo>> r) {
        m_listInFlight = false;
        if (r) {
            int galleryJobs = 0;
            for (const JobInfo &info : *r) { // newest first
                const bool forGallery = initial && info.state == JobState::Succeeded && galleryJobs < m_initialOutputJobs;
                galleryJobs += forGallery ? 1 : 0;
                applyInfo(info, forGallery);
            }
            trim();
            emit refreshed(int(r->size()));
        }
        if (std::exchange(m_listAgain, false))
            refresh();
    });
}

void JobTracker::refreshJob(const QString &id)
{
    if (id.isEmpty())
        return;
    if (m_jobFetches.contains(id)) {
        m_jobFetches[id] = true;
        return;
    }
    m_jobFetches.insert(id, false);
    m_rest->getJob(id, this, [this, id](Result<JobInfo> r) {
        bool again = m_jobFetches.take(id);
        if (r) {
            applyInfo(*r);
            // The relay told us it ended before the runner's job record did (outputs come with the record):
            // ask again shortly, a bounded number of times.
            const JobView *v = job(id);
            int &tries = m_confirmTries[id];
            if (v && isFinal(v->info.state) && !v->confirmedFinal && tries < kMaxConfirmTries) {
                ++tries;
                QTimer::singleShot(200 * tries, this, [this, id] { refreshJob(id); });
            } else if (v && v->confirmedFinal) {
                m_confirmTries.remove(id);
            }
        } else {
            again = false; // the error is logged; the next event or refresh tries again
        }
        if (again)
            refreshJob(id);
    });
}

void JobTracker::noteSubmitted(const JobInfo &info)
{
    applyInfo(info);
    if (JobView *v = m_jobs.contains(info.id) ? &m_jobs[info.id] : nullptr)
        v->watched = true;
}

void JobTracker::applyInfo(const JobInfo &info, bool fromInitialList)
{
    const qint64 created = info.createdAt.isValid() ? info.createdAt.toMSecsSinceEpoch() : 0;
    bool isNew = false;
    JobView &v = ensureJob(info.id, created, &isNew);
    const JobState before = v.info.state;
    const bool localFinal = isFinal(before) && !isNew;
    JobInfo merged = info;
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
        setNodeProgress(v, info.progressNode, info.progressValue, info.progressMax);
    if (!v.info.workflow.isEmpty()) {
        if (const WorkflowInfo *wf = workflow(v.info.workflow))
            v.nodesTotal = wf->nodeCount;
        else
            requestWorkflow(v.info.workflow);
    }
    if (v.info.state == JobState::Succeeded)
        settleNode(v);
    emit jobChanged(info.id);
    if (before != v.info.state) {
        if (v.info.state == JobState::Running)
            emit jobStarted(info.id);
        if (isFinal(v.info.state))
            emit jobFinished(info.id);
    }
    fetchOutputs(v);
}

void JobTracker::setState(JobView &job, JobState state, qint64 atMs)
{
    if (job.info.state == state || (isFinal(job.info.state) && !isFinal(state)))
        return;
    job.info.state = state;
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(atMs > 0 ? atMs : nowMs(), Qt::UTC);
    if (state == JobState::Running) {
        job.watched = true;
        if (!job.info.startedAt.isValid())
            job.info.startedAt = at;
        emit jobStarted(job.info.id);
    } else if (isFinal(state)) {
        if (!job.info.finishedAt.isValid())
            job.info.finishedAt = at;
        if (state == JobState::Succeeded)
            settleNode(job);
        emit jobFinished(job.info.id);
        refreshJob(job.info.id); // outputs, duration and the runner's own verdict
    }
}

void JobTracker::settleNode(JobView &job)
{
    job.currentNode.clear();
    if (job.node.max <= 0 && job.lastStepped.max > 0)
        job.node = job.lastStepped; // "KSampler: step 20 of 20" says more than "Save Image"
}

void JobTracker::setNodeProgress(JobView &job, const QString &nodeId, double value, double max)
{
    job.node.nodeId = nodeId;
    job.node.value = value;
    job.node.max = max;
    const WorkflowInfo *wf = workflow(job.info.workflow);
    job.node.name = wf ? wf->nodeName(nodeId) : QStringLiteral("node %1").arg(nodeId);
    if (max > 0)
        job.lastStepped = job.node;
}

void JobTracker::onEvent(const MonitorEvent &ev)
{
    const protocol::ComfyEvent &e = ev.event;
    QString id = ev.jobId;
    if (id.isEmpty() && ev.service)
        id = ev.service->jobId();
    if (id.isEmpty() && e.type != EventType::Unknown)
        id = e.promptId; // the job id is the ComfyUI prompt id
    if (id.isEmpty())
        return;
    const qint64 at = ev.timestampMs > 0 ? ev.timestampMs : nowMs();
    bool created = false;
    JobView &v = ensureJob(id, at, &created);
    if (created)
        refreshJob(id); // workflow, creation time

    switch (e.type) {
    case EventType::ExecutionStart:
        setState(v, JobState::Running, at);
        break;
    case EventType::ExecutionCached:
        if (const auto *c = e.as<protocol::ExecutionCachedEvent>())
            for (const QString &node : c->nodes)
                v.nodesDone.insert(node);
        break;
    case EventType::Executing:
        if (const auto *x = e.as<protocol::ExecutingEvent>()) {
            setState(v, JobState::Running, at);
            if (x->finished) {
                v.currentNode.clear();
            } else {
                if (!v.currentNode.isEmpty() && v.currentNode != x->node)
                    v.nodesDone.insert(v.currentNode);
                v.currentNode = x->node;
                if (v.node.nodeId != x->node)
                    setNodeProgress(v, x->node, 0, 0);
            }
        }
        break;
    case EventType::Progress:
        if (const auto *p = e.as<protocol::ProgressEvent>()) {
            setState(v, JobState::Running, at);
            setNodeProgress(v, p->node, p->value, p->max);
            v.currentNode = p->node;
        }
        break;
    case EventType::ProgressState:
        if (const auto *p = e.as<protocol::ProgressStateEvent>()) {
            for (const protocol::NodeProgress &n : p->nodes) {
                if (n.state == QLatin1String("finished"))
                    v.nodesDone.insert(n.nodeId);
                else if (n.state == QLatin1String("running") && n.max > 1 && n.nodeId == v.currentNode)
                    setNodeProgress(v, n.nodeId, n.value, n.max);
            }
        }
        break;
    case EventType::Executed:
        if (const auto *x = e.as<protocol::ExecutedEvent>())
            v.nodesDone.insert(x->node);
        break;
    case EventType::ExecutionSuccess:
        setState(v, JobState::Succeeded, at);
        break;
    case EventType::ExecutionError:
        if (const auto *x = e.as<protocol::ExecutionErrorEvent>(); x && x->terminal) {
            v.info.error = protocol::JobError{x->exceptionMessage.trimmed(), x->nodeId, x->nodeType, x->exceptionType};
            setState(v, JobState::Failed, at);
        }
        break;
    case EventType::ExecutionInterrupted:
        setState(v, JobState::Cancelled, at);
        break;
    case EventType::Unknown: {
        // The service's own events (job_queued, job_started, job_progress, job_finished...).
        using protocol::ServiceEventType;
        const protocol::ServiceEvent *s = ev.service ? &*ev.service : nullptr;
        const auto *ended = s ? s->as<protocol::JobEndedEvent>() : nullptr;
        const JobState state = ended ? ended->job.state : JobState::Unknown;
        if (state != JobState::Unknown)
            setState(v, state, at);
        else if (s && s->type == ServiceEventType::JobStarted)
            setState(v, JobState::Running, at);
        if (const auto *p = s ? s->as<protocol::JobProgressEvent>() : nullptr; p && !p->node.isEmpty() && p->max > 0) {
            setNodeProgress(v, p->node, p->value, p->max);
            if (!workflow(v.info.workflow) && !p->classType.isEmpty())
                v.node.name = p->classType;
        }
        if (ended && ended->job.id == id && isFinal(state)) {
            applyInfo(ended->job); // these events carry the whole job, outputs included
            return;
        }
        // A job event that names no state (or a job_* type this version does not know): ask the runner.
        const bool jobEvent = s ? s->type != ServiceEventType::ImageGenerated : e.typeName.startsWith(QLatin1String("job_"));
        if (jobEvent && !created && state == JobState::Unknown && !(s && s->type == ServiceEventType::JobProgress))
            refreshJob(id);
        const QString wf = s && s->as<protocol::JobQueuedEvent>() ? s->as<protocol::JobQueuedEvent>()->workflow
                           : ended                                 ? ended->job.workflow
                                                                   : QString();
        if (!wf.isEmpty() && v.info.workflow.isEmpty()) {
            v.info.workflow = wf;
            requestWorkflow(wf);
        }
        break;
    }
    default:
        break;
    }
    emit jobChanged(id);
    if (created)
        trim();
}

void JobTracker::onPreview(const QString &jobId)
{
    if (jobId.isEmpty())
        return;
    auto it = m_jobs.find(jobId);
    if (it == m_jobs.end())
        return; // its first event creates it; a preview alone does not
    ++it->previewFrames;
}

void JobTracker::requestWorkflow(const QString &name)
{
    if (name.isEmpty() || m_workflows.contains(name) || m_workflowRequests.contains(name))
        return;
    m_workflowRequests.insert(name);
    m_rest->getWorkflow(name, this, [this, name](Result<WorkflowInfo> r) {
        m_workflowRequests.remove(name);
        if (!r)
            return;
        m_workflows.insert(name, *r);
        for (JobView &v : m_jobs) {
            if (v.info.workflow != name)
                continue;
            v.nodesTotal = r->nodeCount;
            if (!v.node.nodeId.isEmpty())
                v.node.name = r->nodeName(v.node.nodeId);
            if (!v.lastStepped.nodeId.isEmpty())
                v.lastStepped.name = r->nodeName(v.lastStepped.nodeId);
            emit jobChanged(v.info.id);
        }
        emit workflowLoaded(name);
    });
}

void JobTracker::fetchOutputs(JobView &job)
{
    if (job.info.state != JobState::Succeeded || !job.watched)
        return;
    const QString jobId = job.info.id;
    for (const JobOutput &out : job.info.outputs) {
        QSet<int> &requested = m_outputRequests[jobId];
        if (!out.isImage() || requested.contains(out.index))
            continue;
        requested.insert(out.index);
        const QString filename = out.filename;
        m_rest->fetchOutput(jobId, out.index, this, [this, filename](Result<OutputFile> r) {
            if (!r)
                return;
            OutputFile f = *r;
            if (f.filename.isEmpty())
                f.filename = filename;
            emit outputFetched(f);
        });
    }
}

int JobTracker::outputRequestCount() const
{
    int n = 0;
    for (const QSet<int> &indices : m_outputRequests)
        n += int(indices.size());
    return n;
}

void JobTracker::trim()
{
    if (m_jobs.size() <= m_maxJobs)
        return;
    QStringList ids = jobIds();
    for (qsizetype i = ids.size() - 1; i >= 0 && m_jobs.size() > m_maxJobs; --i) {
        const QString &id = ids.at(i);
        if (!isFinal(m_jobs.value(id).info.state))
            continue;
        m_jobs.remove(id);
        m_confirmTries.remove(id);
        m_outputRequests.remove(id);
        emit jobRemoved(id);
    }
}

} // namespace cr::monitor
