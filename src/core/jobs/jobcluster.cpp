// The JobManager in a cluster: several runners sharing one PostgreSQL store (docs/cluster.md).
// Every runner keeps every job in m_jobs: its own (it follows their prompts) and a mirror of the others',
// refreshed from their rows whenever a NOTIFY cr_jobs names one (and by a periodic check, so a missed
// notification costs seconds, not correctness). The runner queue is the cluster's: a waiting job has no
// owner; the runner whose backend has room claims it (ClusterStore::claim) and hands it over. Owned jobs
// carry a lease that the owner renews; after it ends, a runner that reaches the same backend takes the job
// over and follows its prompt there by id (queue, history), never sending it again.

#include "core/jobs/clusterstore.h"
#include "core/jobs/jobmanager.h"

#include <QLoggingCategory>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(lcJobs)

namespace cr {

namespace {
constexpr int kTakeOverBatch = 100;        // jobs taken over per tick
constexpr int kRemoteDuplicateMs = 60'000; // how long a duplicate waits for another runner's submission
} // namespace

QString JobManager::backendUrlKey(const QUrl &url)
{
    return url.adjusted(QUrl::StripTrailingSlash | QUrl::NormalizePathSegments).toString().toLower();
}

void JobManager::enableCluster(const QString &node, int leaseMs, const QString &liveUrl)
{
    if (!m_store || m_store->engine() != StoreUrl::Engine::Postgres)
        return;
    m_store->setCluster(node, leaseMs);
    m_cluster = std::make_unique<ClusterStore>(m_store);
    m_liveUrl = liveUrl;
    m_clusterTick.setInterval(qMax(300, leaseMs / 3));
    connect(&m_clusterTick, &QTimer::timeout, this, &JobManager::clusterTick);
    connect(&m_fetchTimer, &QTimer::timeout, this, &JobManager::refreshMirror);
    m_fetchTimer.setSingleShot(true);
    listenCluster();
    m_cluster->announce(m_liveUrl);
    m_liveUrls = m_cluster->liveUrls();
    m_clusterTick.start();
    qCInfo(lcJobs).noquote() << "cluster: this runner is" << node << "(lease" << leaseMs / 1000.0 << "s, live events at"
                             << liveUrl + ")";
}

QString JobManager::node() const { return m_cluster ? m_cluster->node() : QString(); }

void JobManager::listenCluster()
{
    m_cluster->listen(
        this, [this](const QString &id) { scheduleFetch(id); }, [this](const QString &) { processCancels(); });
}

void JobManager::setOwnership(Job &job)
{
    job.remote = m_cluster && job.node != m_cluster->node();
    if (job.remote && !job.node.isEmpty() && !m_liveUrls.contains(job.node))
        m_liveUrls = m_cluster->liveUrls(); // a runner that started since the last tick
    job.liveUrl = job.node.isEmpty() ? QString() : job.node == node() ? m_liveUrl : m_liveUrls.value(job.node);
}

void JobManager::clusterTick()
{
    if (!m_store->isAvailable() || !m_cluster->renewLeases()) {
        storeFailed({});
        return;
    }
    m_cluster->announce(m_liveUrl);
    m_liveUrls = m_cluster->liveUrls();
    takeOverExpired();
    processCancels();
    // A NOTIFY missed (a reconnection, a full queue): compare the unfinished rows with the mirror.
    bool ok = false;
    const QHash<QString, QString> rows = m_cluster->unfinished(&ok);
    if (!ok)
        return;
    for (auto it = rows.cbegin(); it != rows.cend(); ++it) {
        const auto job = m_jobs.constFind(it.key());
        if (job == m_jobs.cend() || jobStateName(job->state) + QLatin1Char(' ') + job->node != it.value())
            m_toFetch.insert(it.key());
    }
    for (auto it = m_jobs.cbegin(); it != m_jobs.cend(); ++it)
        if (it->remote && !it->isFinished() && !rows.contains(it.key()))
            m_toFetch.insert(it.key());
    if (!m_toFetch.isEmpty())
        refreshMirror();
}

void JobManager::onClusterReconnected()
{
    listenCluster();
    clusterTick();
}

void JobManager::refreshMirror()
{
    const QSet<QString> ids = std::exchange(m_toFetch, {});
    if (ids.isEmpty())
        return;
    bool ok = false;
    const QList<ClusterStore::Row> rows = m_cluster->fetch(QStringList(ids.cbegin(), ids.cend()), &ok);
    if (!ok) {
        m_toFetch.unite(ids); // read again once the store is back
        return;
    }
    QSet<QString> missing = ids;
    bool waitingChanged = false;
    for (const ClusterStore::Row &row : rows) {
        missing.remove(row.job.id);
        if (row.published)
            waitingChanged |= applyRow(row);
    }
    for (const QString &id : std::as_const(missing))
        waitingChanged |= applyGone(id);
    if (waitingChanged) {
        updateQueuePositions();
        dispatch();
    }
}

bool JobManager::applyRow(const ClusterStore::Row &row)
{
    const QString &id = row.job.id;
    auto it = m_jobs.find(id);
    if (it != m_jobs.end() && !it->remote) {
        if (row.job.node == node())
            return false; // this runner's own write, seen late
        lostOwnership(id);
        it = m_jobs.find(id);
    }
    const bool known = it != m_jobs.end();
    if (known && it->isFinished() && !isFinal(row.job.state)) {
        // This runner saw it end while cut off from the database, and another runner took it over meanwhile:
        // the end it announced stands here (never back to running); the owner's end is the stored one.
        qCWarning(lcJobs).noquote() << "cluster: job" << id << "ended here but still runs at runner" << row.job.node;
        return false;
    }
    const JobState before = known ? it->state : JobState::Unknown;
    const bool wasWaiting = m_waiting.contains(id);
    Job job = row.job;
    setOwnership(job);
    job.revision = known ? it->revision + 1 : 1; // cached answers of the job are checked against it
    if (known) {
        if (job.graph.isEmpty())
            job.graph = it->graph;
        *it = job;
    } else {
        it = m_jobs.insert(id, job);
        m_order.append(id);
        if (!job.clientRef.isEmpty())
            m_byClientRef.insert(job.clientRef, id);
    }
    m_seq.insert(id, quint64(row.seq));
    const bool waits = job.state == JobState::Queued && job.node.isEmpty() && !job.currentAttempt();
    if (waits) {
        JobNeeds needs = needsOf(job.graph);
        needs.requiredTags = job.requiredTags;
        needs.pinnedBackend = job.pinnedBackend;
        m_needs.insert(id, needs);
        enqueue(id);
    } else {
        dequeue(id);
        m_needs.remove(id);
    }
    // The same job events as the owner's, marked remote (no webhook or metric here: the owner has them).
    const Job now = *it;
    answerRemoteDuplicates(id, now);
    if (!known && !now.isFinished())
        emit jobQueued(now);
    if (now.state == JobState::Running && before != JobState::Running)
        emit jobStarted(now);
    if (known && now.state == JobState::Queued && before == JobState::Running)
        emit jobProgress(now); // taken back: it waits again
    if (now.isFinished() && before != now.state) {
        recordFinished(now);
        emit jobFinished(now);
    }
    return waits || wasWaiting;
}

bool JobManager::applyGone(const QString &id)
{
    // A duplicate that waited for another runner's submission: ComfyUI refused it there (its row is gone).
    answerRemoteDuplicates(
        id,
        Error::make(ErrorCode::JobConflict,
                    QStringLiteral("job %1 was not accepted by ComfyUI at its runner; retry").arg(id),
                    {{QStringLiteral("job_id"), id}, {QStringLiteral("retry"), true}}));
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || (!it->remote && !it->isFinished()))
        return false; // unknown here, or this runner's and still running (its row is written again)
    const bool wasWaiting = m_waiting.contains(id);
    const Job job = *it;
    forgetLocally(id);
    if (job.isFinished()) { // pruned by a runner: answered as expired here too
        if (std::optional<ExpiredJob> e = m_cluster->findExpired(id))
            m_expired.add(*e);
        emit jobsPruned({id});
    }
    return wasWaiting;
}

void JobManager::forgetLocally(const QString &id)
{
    const Job job = m_jobs.take(id);
    if (!job.clientRef.isEmpty() && m_byClientRef.value(job.clientRef) == id)
        m_byClientRef.remove(job.clientRef);
    m_order.removeOne(id);
    m_needs.remove(id);
    m_seq.remove(id);
    dequeue(id);
}

void JobManager::lostOwnership(const QString &id)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || it->remote)
        return;
    // Taken over while this runner could not renew its lease: the prompt goes on at its backend and the new
    // owner follows it; this runner stops (it neither cancels nor writes it again).
    qCWarning(lcJobs).noquote() << "cluster: job" << id << "was taken over by another runner; no longer followed here";
    for (const JobAttempt &a : it->attempts)
        m_byPrompt.remove(a.promptId);
    m_unsaved.remove(id);
    m_takenOver.remove(id);
    it->remote = true;
    scheduleFetch(id);
}

void JobManager::scheduleFetch(const QString &id)
{
    m_toFetch.insert(id);
    if (!m_fetchTimer.isActive())
        m_fetchTimer.start(0); // every id of this event-loop pass in one query
}

void JobManager::waitForRemote(const QString &jobId, const QString &node, const QString &clientRef,
                               const Answer &answer)
{
    m_remoteDuplicates[jobId].append(answer);
    QTimer::singleShot(kRemoteDuplicateMs, this, [this, jobId, node, clientRef] {
        answerRemoteDuplicates(
            jobId,
            Error::make(ErrorCode::JobConflict,
                        QStringLiteral("client_ref \"%1\" belongs to a job that runner \"%2\" is still handing to "
                                       "ComfyUI; retry")
                            .arg(clientRef, node),
                        {{QStringLiteral("client_ref"), clientRef},
                         {QStringLiteral("job_id"), jobId},
                         {QStringLiteral("retry"), true}}));
    });
}

void JobManager::answerRemoteDuplicates(const QString &jobId, const Result<Job> &result)
{
    for (const Answer &a : m_remoteDuplicates.take(jobId))
        a(result, false);
}

bool JobManager::claim(const QString &id)
{
    bool failed = false;
    std::optional<Job> row = m_cluster->claim(id, &failed);
    auto it = m_jobs.find(id);
    if (!row || it == m_jobs.end()) {
        if (failed) {
            storeFailed({});
            enqueue(id); // still the cluster's: claimed once the store is back
        } else {
            scheduleFetch(id); // claimed elsewhere (or ended): its row says so
        }
        return false;
    }
    const bool cancelRequested = it->cancelRequested;
    *it = *row;
    it->cancelRequested |= cancelRequested;
    setOwnership(*it);
    // A cancel requested through another runner while it waited: taken once this pass is over.
    if (!std::exchange(m_cancelsScheduled, true))
        QTimer::singleShot(0, this, [this] {
            m_cancelsScheduled = false;
            processCancels();
        });
    return true;
}

void JobManager::takeOverExpired()
{
    QStringList urls;
    for (const Backend *b : m_pool->backends())
        urls << backendUrlKey(b->settings().url);
    const QList<Job> jobs = m_cluster->takeOver(urls, kTakeOverBatch);
    for (Job job : jobs) {
        const QString id = job.id;
        const QString from = m_jobs.contains(id) ? m_jobs.value(id).node : QString();
        job.node = node();
        setOwnership(job);
        if (!m_jobs.contains(id)) {
            m_order.append(id);
            if (!job.clientRef.isEmpty())
                m_byClientRef.insert(job.clientRef, id);
        }
        Job &mine = *m_jobs.insert(id, job);
        dequeue(id);
        JobNeeds needs = needsOf(mine.graph);
        needs.requiredTags = mine.requiredTags;
        needs.pinnedBackend = mine.pinnedBackend;
        m_needs.insert(id, needs);
        JobAttempt *a = mine.currentAttempt();
        Backend *backend = nullptr;
        for (Backend *b : m_pool->backends())
            if (a
                && (backendUrlKey(b->settings().url) == a->backendUrl
                    || (a->backendUrl.isEmpty() && b->name() == a->backend)))
                backend = b;
        qCInfo(lcJobs).noquote() << "cluster: took over job" << id << "from runner" << (from.isEmpty() ? "?" : from)
                                 << "(its lease ended)";
        if (a && backend) {
            a->backend = backend->name(); // this runner's name for the same ComfyUI
            m_byPrompt.insert(a->promptId, id);
            m_takenOver.insert(id);
            persist(mine);
            backend->client()->adopt(a->promptId, true); // polled by id through its queue and history
            if (mine.cancelRequested)                    // asked before its runner died
                backend->client()->cancel(a->promptId);
            continue;
        }
        if (a) { // no backend of this runner has it (a store written before clusters): run it again elsewhere
            a->outcome = QStringLiteral("taken_back");
            a->reason = QStringLiteral("its runner's lease ended and no runner here reaches its backend");
            a->finishedAt = QDateTime::currentDateTimeUtc();
            m_oldPrompts.insert(a->promptId, id);
        }
        mine.state = JobState::Queued;
        mine.node.clear(); // back to the cluster's queue
        persist(mine);
        setOwnership(mine);
        enqueue(id);
    }
    if (!jobs.isEmpty()) {
        updateQueuePositions();
        dispatch();
    }
}

void JobManager::processCancels()
{
    for (const QString &id : m_cluster->takeCancels()) {
        auto it = m_jobs.find(id);
        if (it == m_jobs.end() || it->remote || it->isFinished())
            continue;
        qCInfo(lcJobs).noquote() << "cluster: job" << id << "cancelled through another runner";
        it->cancelRequested = true;
        cancelAttempt(*it);
    }
}

Status JobManager::cancelRemote(Job &job)
{
    const QString id = job.id;
    // Waiting unclaimed: this runner claims it and ends it at once.
    if (job.node.isEmpty() && !job.currentAttempt() && claim(id)) {
        Job &mine = m_jobs[id];
        mine.cancelRequested = true;
        cancelAttempt(mine);
        return std::nullopt;
    }
    // Another runner's: a request row it takes (NOTIFY cr_cancels, or its next tick; after a take-over, the
    // new owner's).
    if (!m_cluster->requestCancel(id)) {
        storeFailed({});
        return Error::make(
            ErrorCode::StoreUnavailable,
            QStringLiteral("the job store cannot take the cancel request now: %1").arg(m_store->problem()));
    }
    if (auto it = m_jobs.find(id); it != m_jobs.end())
        it->cancelRequested = true;
    return std::nullopt;
}

const Job *JobManager::fetchUnknown(const QString &id) const
{
    // A job another runner created a moment ago: its NOTIFY may not have arrived yet. Read here, answered
    // from a copy (find() must not change m_jobs under a caller's pointers), mirrored on the next pass.
    bool ok = false;
    const QList<ClusterStore::Row> rows = m_cluster->fetch({id}, &ok);
    if (rows.isEmpty() || !rows.first().published)
        return nullptr;
    m_fetched = rows.first().job;
    const_cast<JobManager *>(this)->setOwnership(m_fetched);
    const_cast<JobManager *>(this)->scheduleFetch(id);
    return &m_fetched;
}

bool JobManager::mirrorNow(const QString &id)
{
    bool ok = false;
    const QList<ClusterStore::Row> rows = m_cluster->fetch({id}, &ok);
    if (rows.isEmpty() || !rows.first().published)
        return false;
    if (applyRow(rows.first()))
        updateQueuePositions();
    return m_jobs.contains(id);
}

} // namespace cr
