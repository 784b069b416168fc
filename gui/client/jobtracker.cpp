#include "gui/client/jobtracker.h"

#include "gui/client/jobreconciler.h"
#include "gui/client/outputdownloader.h"
#include "gui/client/workflowcache.h"

#include <QDateTime>

#include <algorithm>

namespace cr::monitor {

namespace {

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

} // namespace

JobTracker::JobTracker(RelayClient *relay, RestClient *rest, QObject *parent)
    : QObject(parent), m_relay(relay), m_reconciler(new JobReconciler(
                                           rest, [this] { return m_jobs.isEmpty(); }, this)),
      m_workflows(new WorkflowCache(rest, this)), m_downloads(new OutputDownloader(rest, this))
{
    connect(m_reconciler, &JobReconciler::listFetched, this, &JobTracker::onListFetched);
    connect(m_reconciler, &JobReconciler::jobFetched, this, &JobTracker::onJobFetched);
    connect(m_workflows, &WorkflowCache::loaded, this, &JobTracker::onWorkflowLoaded);
    connect(m_downloads, &OutputDownloader::fetched, this, &JobTracker::outputFetched);
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

void JobTracker::setListLimit(int count) { m_reconciler->setListLimit(count); }

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

const WorkflowInfo *JobTracker::workflow(const QString &name) const { return m_workflows->find(name); }

void JobTracker::clear()
{
    const QStringList ids = m_jobs.keys();
    m_jobs.clear();
    m_reconciler->clear();
    m_downloads->clear();
    m_workflows->clear();
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
    it = m_jobs.insert(id, JobReducer::newJob(id, seenMs > 0 ? seenMs : nowMs(), ++m_seenCounter));
    emit jobAdded(id);
    return *it;
}

void JobTracker::refresh() { m_reconciler->refreshList(); }

void JobTracker::refreshJob(const QString &id) { m_reconciler->refreshJob(id); }

void JobTracker::onListFetched(const QList<JobInfo> &jobs, bool initial)
{
    int galleryJobs = 0;
    for (const JobInfo &info : jobs) { // newest first
        const bool forGallery = initial && info.state == JobState::Succeeded && galleryJobs < m_initialOutputJobs;
        galleryJobs += forGallery ? 1 : 0;
        applyInfo(info, forGallery);
    }
    trim();
    emit refreshed(int(jobs.size()));
}

void JobTracker::onJobFetched(const JobInfo &info)
{
    applyInfo(info);
    // The relay told us it ended before the runner's job record did (outputs come with the record):
    // ask again shortly, a bounded number of times.
    const JobView *v = job(info.id);
    if (v && isFinal(v->info.state) && !v->confirmedFinal)
        m_reconciler->confirmLater(info.id);
    else if (v && v->confirmedFinal)
        m_reconciler->forget(info.id);
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
    const JobChange change = JobReducer::applyRecord(v, info, isNew, fromInitialList, workflow(info.workflow));
    m_workflows->request(change.workflowNeeded);
    emit jobChanged(info.id);
    if (change.started)
        emit jobStarted(info.id);
    if (change.finished)
        emit jobFinished(info.id);
    fetchOutputs(v);
}

bool JobTracker::follow(const QString &id, const JobChange &change)
{
    if (change.started)
        emit jobStarted(id);
    if (change.finished)
        emit jobFinished(id);
    if (change.refresh)
        refreshJob(id);
    m_workflows->request(change.workflowNeeded);
    if (!change.record)
        return false;
    applyInfo(*change.record);
    return true;
}

void JobTracker::onEvent(const MonitorEvent &ev)
{
    const QString id = JobReducer::jobIdOf(ev);
    if (id.isEmpty())
        return;
    const qint64 at = ev.timestampMs > 0 ? ev.timestampMs : nowMs();
    bool created = false;
    JobView &v = ensureJob(id, at, &created);
    if (created)
        refreshJob(id); // workflow, creation time
    const JobChange change = JobReducer::applyEvent(v, ev, at, workflow(v.info.workflow), created);
    if (follow(id, change))
        return; // the carried record was merged (and announced)
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

void JobTracker::onWorkflowLoaded(const WorkflowInfo &workflow, const QString &name)
{
    for (JobView &v : m_jobs) {
        if (v.info.workflow != name)
            continue;
        JobReducer::applyWorkflow(v, workflow);
        emit jobChanged(v.info.id);
    }
    emit workflowLoaded(name);
}

void JobTracker::fetchOutputs(const JobView &job)
{
    if (job.info.state == JobState::Succeeded && job.watched)
        m_downloads->fetch(job.info);
}

int JobTracker::outputRequestCount() const { return m_downloads->requestCount(); }

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
        m_reconciler->forget(id);
        m_downloads->forget(id);
        emit jobRemoved(id);
    }
}

} // namespace cr::monitor
