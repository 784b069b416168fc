#include "core/jobs/jobmanager.h"

#include <QLoggingCategory>
#include <QTimer>

Q_LOGGING_CATEGORY(lcJobs, "comfyrunner.jobs")

namespace cr {

namespace {
constexpr int kPruneBatch = 200;                 // jobs removed per event-loop pass (one store transaction)
constexpr int kAgePruneIntervalMs = 10 * 60'000; // how often keep_days is checked when nothing finishes
} // namespace

JobManager::JobManager(BackendPool *pool, JobStore *store, QObject *parent)
    : QObject(parent), m_pool(pool), m_store(store)
{
    qRegisterMetaType<cr::Job>();
    connect(m_pool, &BackendPool::eventReceived, this, &JobManager::onEvent);
    connect(m_pool, &BackendPool::promptFinished, this, &JobManager::onPromptFinished);
    connect(m_pool, &BackendPool::backendDown, this, &JobManager::onBackendDown);
    connect(m_pool, &BackendPool::promptSuperseded, this, &JobManager::onSuperseded);
    // A backend connected, learnt its nodes, resumed: waiting jobs may fit now.
    connect(m_pool, &BackendPool::backendChanged, this, [this] { dispatch(); });
    m_pruneTimer.setInterval(kAgePruneIntervalMs);
    connect(&m_pruneTimer, &QTimer::timeout, this, &JobManager::prune);
    m_pruneTimer.start();
    m_storeRetry.setSingleShot(true);
    connect(&m_storeRetry, &QTimer::timeout, this, &JobManager::retryStore);
}

JobManager::JobManager(ComfyClient *comfy, JobStore *store, QObject *parent)
    : JobManager(new BackendPool(comfy), store, parent)
{
    m_ownedPool.reset(m_pool);
}

JobManager::~JobManager()
{
    disconnect(m_pool, nullptr, this, nullptr); // an owned pool stops (and signals) after this object is gone
}

void JobManager::setRetention(const JobSettings &settings)
{
    m_retention = settings;
    m_retention.keep = qMax(1, m_retention.keep);
    m_retention.maxAttempts = qMax(1, m_retention.maxAttempts);
    m_expired.setCapacity(m_retention.keepExpired);
}

int JobManager::restore()
{
    if (!m_store)
        return 0;
    int resumed = 0, waiting = 0;
    for (const ExpiredJob &e : m_store->loadExpired())
        m_expired.add(e);
    if (m_cluster)
        m_cluster->publishOwn(); // submissions a crash interrupted: followed again below, so shown again
    const QList<Job> jobs = m_store->loadAll();
    for (const Job &stored : jobs) {
        if (m_jobs.contains(stored.id))
            continue;
        Job &job = *m_jobs.insert(stored.id, stored);
        m_order.append(job.id);
        m_seq.insert(job.id, m_cluster ? quint64(stored.seq) : m_nextSeq++); // a cluster: one order for all runners
        if (!job.clientRef.isEmpty())
            m_byClientRef.insert(job.clientRef, job.id);
        // Cluster: a handed-over job without an owner is from a store of one runner: this one's.
        if (m_cluster && job.node.isEmpty() && job.currentAttempt() && !job.isFinished()
            && m_cluster->adoptUnowned(job.id))
            job.node = node();
        setOwnership(job);
        if (job.isFinished()) {
            recordFinished(job); // its duration seeds the estimates
            continue;
        }
        JobNeeds needs = needsOf(job.graph);
        needs.requiredTags = job.requiredTags;
        needs.pinnedBackend = job.pinnedBackend;
        m_needs.insert(job.id, needs);
        if (job.remote && !job.node.isEmpty()) {
            m_needs.remove(job.id); // another runner's: mirrored (taken over if its lease ends)
            continue;
        }
        if (JobAttempt *a = job.currentAttempt()) {
            Backend *b = a->backend.isEmpty() ? m_pool->first() : m_pool->find(a->backend);
            if (b) {
                a->backend = b->name();
                m_byPrompt.insert(a->promptId, job.id);
                b->client()->adopt(a->promptId); // reconciled through its /queue and /history
                ++resumed;
                continue;
            }
            // Handed to a backend this configuration no longer has: it cannot be followed; run it elsewhere.
            a->outcome = QStringLiteral("taken_back");
            a->reason = QStringLiteral("backend \"%1\" is no longer configured").arg(a->backend);
            a->finishedAt = QDateTime::currentDateTimeUtc();
            m_oldPrompts.insert(a->promptId, job.id);
            job.state = JobState::Queued;
            job.node.clear();
            persist(job);
            setOwnership(job);
        }
        enqueue(job.id);
        ++waiting;
    }
    updateQueuePositions();
    qCInfo(lcJobs) << "restored" << jobs.size() << "job(s)," << resumed << "handed over," << waiting
                   << "waiting in the runner's queue";
    prune();
    return int(jobs.size());
}

void JobManager::submit(JobRequest request, QObject *context, SubmitCallback done)
{
    const Answer answer{context, std::move(done)};
    if (!request.clientRef.isEmpty()) {
        if (const QString existing = m_byClientRef.value(request.clientRef);
            !existing.isEmpty() && m_jobs.contains(existing)) {
            if (m_unacknowledged.contains(existing))
                m_duplicates[existing].append(answer); // ComfyUI may still refuse it: answer with its outcome
            else
                answer(m_jobs.value(existing), false);
            return;
        }
        // A retry after its job was pruned must not silently run it again.
        if (const ExpiredJob *gone = m_expired.findByClientRef(request.clientRef)) {
            answer(Error::make(ErrorCode::JobExpired,
                               QStringLiteral("client_ref \"%1\" belonged to job %2, which has expired")
                                   .arg(gone->clientRef, gone->id),
                               {{QStringLiteral("job_id"), gone->id},
                                {QStringLiteral("client_ref"), gone->clientRef},
                                {QStringLiteral("expired_at"), gone->prunedAt.toString(Qt::ISODateWithMs)}}),
                   false);
            return;
        }
    }
    if (m_store && !m_store->isAvailable()) { // nothing is run that could not be recorded
        storeFailed({});
        answer(Error::make(ErrorCode::StoreUnavailable,
                           QStringLiteral("the job store cannot take new jobs now: %1").arg(m_store->problem())),
               false);
        return;
    }
    // Another job's id, or the prompt of another job's later attempt: ComfyUI's history and the runner's
    // events know a prompt by its id, so one id must never stand for two prompts.
    if (!request.id.isEmpty()
        && (m_jobs.contains(request.id) || m_expired.find(request.id) || attemptUses(request.id))) {
        answer(Error::make(ErrorCode::JobConflict,
                           QStringLiteral("prompt_id %1 is already the id of a job").arg(request.id),
                           {{QStringLiteral("job_id"), request.id}}),
               false);
        return;
    }
    Job job;
    job.id = request.id.isEmpty() ? ComfyClient::newPromptId() : request.id;
    job.clientRef = request.clientRef;
    job.workflow = request.workflow;
    job.graph = std::move(request.graph);
    job.createdAt = QDateTime::currentDateTimeUtc();
    job.priority = request.priority;
    job.pinnedBackend = request.backend;
    job.requiredTags = request.requiredTags;
    job.webhook = request.webhook;
    JobNeeds needs = needsOf(job.graph);
    needs.requiredTags = job.requiredTags;
    needs.pinnedBackend = job.pinnedBackend;
    const QString id = job.id;
    m_needs.insert(id, needs);
    RouteDecision decision = route(job, true, waitingAhead(needs.checkpoint, job.priority));
    // In a cluster another runner's backends may run what this runner's cannot: it waits in the cluster's
    // queue while another runner is known.
    if (decision.kind == RouteDecision::Kind::Never && m_cluster && m_liveUrls.size() > 1) {
        decision.kind = RouteDecision::Kind::Wait;
        decision.reason = QStringLiteral("no backend of this runner can run it; another runner of the cluster may");
    }
    if (decision.kind == RouteDecision::Kind::Never) {
        m_needs.remove(id);
        answer(noBackendError(decision), false);
        return;
    }
    const bool now = decision.kind == RouteDecision::Kind::Chosen;
    if (m_cluster) {
        // The row first: the unique client_ref index decides between runners racing the same client_ref,
        // and the claim is this runner's before ComfyUI sees the prompt (unpublished until it accepts it).
        job.node = now ? node() : QString();
        if (const StoreResult stored = m_store->create(job, !now); !stored) {
            m_needs.remove(id);
            if (!stored.error().is(ErrorCode::JobConflict))
                storeFailed({});
            answerDuplicate(request.clientRef, stored.error(), answer);
            return;
        }
    }
    m_jobs.insert(id, job);
    m_order.append(id);
    m_seq.insert(id, m_cluster ? quint64(m_store->lastSeq()) : m_nextSeq++);
    if (!job.clientRef.isEmpty())
        m_byClientRef.insert(job.clientRef, id);
    if (now) {
        // A backend has room: hand it over now and answer with ComfyUI's acknowledgement (or its refusal).
        m_unacknowledged.insert(id);
        handOver(id, decision.backend, answer);
        return;
    }
    // Every backend that could run it is busy, draining or away: it waits in the runner's queue, durable
    // before it is acknowledged (a job the store cannot keep is not accepted: store_unavailable).
    if (m_store && !m_cluster) {
        if (const StoreResult stored = m_store->create(job); !stored) {
            forget(id);
            storeFailed({});
            answer(stored.error(), false);
            return;
        }
    }
    enqueue(id);
    updateQueuePositions();
    qCInfo(lcJobs).noquote() << "job" << id << "waits in the runner's queue at position"
                             << m_jobs.value(id).queuePosition << "(" + decision.reason + ")";
    const Job queued = m_jobs.value(id);
    emit jobQueued(queued);
    setOwnership(m_jobs[id]); // in a cluster: any runner may claim it now
    answer(queued, true);
    prune();
}

void JobManager::answerDuplicate(const QString &clientRef, const Error &error, const Answer &answer)
{
    // The client_ref was taken by another runner's job meanwhile: that job is the answer (created = false),
    // once ComfyUI accepted it there; until then a retry is asked for (it may still be refused and dropped).
    bool published = true;
    if (error.is(ErrorCode::JobConflict) && !clientRef.isEmpty())
        if (std::optional<Job> other = m_cluster->findByClientRef(clientRef, &published)) {
            if (!published) { // answered when its row is published (NOTIFY) or gone, as a local duplicate is
                waitForRemote(other->id, other->node, clientRef, answer);
                return;
            }
            setOwnership(*other);
            answer(*other, false);
            return;
        }
    answer(error, false);
}

void JobManager::forget(const QString &id)
{
    if (auto it = m_jobs.constFind(id); it != m_jobs.cend())
        for (const JobAttempt &a : it->attempts)
            m_byPrompt.remove(a.promptId);
    m_unacknowledged.remove(id);
    m_earlyOutcomes.remove(id);
    m_duplicates.remove(id);
    m_lastStep.remove(id);
    forgetLocally(id);
    if (m_store)
        m_store->remove(id); // a failure is logged by the store (restore() then follows a prompt that never ran)
}

bool JobManager::attemptUses(const QString &promptId) const
{
    if (m_byPrompt.contains(promptId))
        return true;
    for (const Job &job : m_jobs) // attempt 1 has the job's id: only later ones are looked at
        for (qsizetype i = 1; i < job.attempts.size(); ++i)
            if (job.attempts.at(i).promptId == promptId)
                return true;
    return false;
}

Status JobManager::cancel(const QString &id)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() && m_cluster && !m_expired.find(id) && mirrorNow(id))
        it = m_jobs.find(id); // another runner's, created a moment ago
    if (it == m_jobs.end())
        return missingJob(id);
    if (it->isFinished())
        return Error::make(ErrorCode::JobConflict,
                           QStringLiteral("job %1 has already finished (%2)").arg(id, jobStateName(it->state)),
                           {{QStringLiteral("state"), jobStateName(it->state)}});
    if (it->remote)
        return cancelRemote(*it);
    it->cancelRequested = true;
    cancelAttempt(*it);
    return std::nullopt;
}

int JobManager::countAt(const QString &backend, JobState state) const
{
    int n = 0;
    for (const Job &j : m_jobs)
        n += !j.remote && j.state == state && j.currentAttempt() && j.currentAttempt()->backend == backend ? 1 : 0;
    return n;
}

void JobManager::onRunTimeExceeded(const QString &id)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || it->isFinished() || it->remote || m_timedOut.contains(id))
        return; // (another runner's now: its owner bounds it)
    qCWarning(lcJobs).noquote() << "job" << id << "exceeded the maximum job time; interrupting it";
    m_timedOut.insert(id);
    it->cancelRequested = true;
    cancelAttempt(*it);
    // ComfyUI may be hung too deeply to answer: then the job ends here.
    QTimer::singleShot(qMax(10'000, m_maxRunMs / 10), this, [this, id] {
        auto job = m_jobs.find(id);
        if (job == m_jobs.end() || job->isFinished() || job->remote)
            return;
        PromptOutcome o;
        o.promptId = job->currentAttempt() ? job->currentAttempt()->promptId : id;
        o.status = PromptOutcome::Status::Interrupted;
        finishJob(*job, o);
    });
}

int JobManager::cancelAll()
{
    QStringList ids;
    for (auto it = m_jobs.cbegin(); it != m_jobs.cend(); ++it)
        if (!it->isFinished() && !it->cancelRequested && !it->remote) // this runner's (legacy /interrupt)
            ids << it.key();
    for (const QString &id : std::as_const(ids)) {
        auto it = m_jobs.find(id);
        if (it == m_jobs.end() || it->isFinished())
            continue;
        it->cancelRequested = true;
        cancelAttempt(*it);
    }
    return int(ids.size());
}

QString JobManager::jobForPrompt(const QString &promptId) const
{
    if (promptId.isEmpty())
        return {};
    if (auto it = m_byPrompt.constFind(promptId); it != m_byPrompt.cend())
        return *it;
    // A job's own id is its first prompt's, unless that attempt was taken back (its late events are not the job's).
    return m_jobs.contains(promptId) && !m_oldPrompts.contains(promptId) ? promptId : QString();
}

const Job *JobManager::find(const QString &id) const
{
    auto it = m_jobs.constFind(id);
    if (it == m_jobs.cend())
        return m_cluster && !m_expired.find(id) ? fetchUnknown(id) : nullptr;
    return &*it;
}

Error JobManager::missingJob(const QString &id) const
{
    if (const ExpiredJob *gone = m_expired.find(id))
        return Error::make(
            ErrorCode::JobExpired,
            QStringLiteral("job %1 has expired (finished jobs are kept by [jobs] keep and keep_days)").arg(id),
            {{QStringLiteral("job_id"), id},
             {QStringLiteral("expired_at"), gone->prunedAt.toString(Qt::ISODateWithMs)}});
    return Error::make(ErrorCode::JobNotFound, QStringLiteral("no job with id %1").arg(id),
                       {{QStringLiteral("job_id"), id}});
}

JobPage JobManager::list(const JobFilter &filter) const
{
    JobPage page;
    int skipped = 0;
    for (auto it = m_order.crbegin(); it != m_order.crend(); ++it) {
        if (m_unacknowledged.contains(*it))
            continue; // not published until ComfyUI accepted it (it may still be refused and dropped)
        const Job &j = m_jobs[*it];
        if (filter.state && j.state != *filter.state)
            continue;
        if (!filter.workflow.isEmpty() && j.workflow != filter.workflow)
            continue;
        ++page.total;
        if (skipped < filter.offset) {
            ++skipped;
            continue;
        }
        if (page.jobs.size() < filter.limit)
            page.jobs.append(j);
    }
    return page;
}

int JobManager::activeCount() const
{
    int n = 0;
    for (const Job &j : m_jobs)
        n += j.isFinished() ? 0 : 1;
    return n;
}

int JobManager::countIn(JobState state) const
{
    int n = 0;
    for (const Job &j : m_jobs)
        n += j.state == state ? 1 : 0;
    return n;
}

void JobManager::prune()
{
    m_pruneQueued = false;
    int finished = 0;
    for (const Job &j : m_jobs)
        finished += j.isFinished() ? 1 : 0;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QDateTime cutoff = m_retention.keepDays > 0 ? now.addDays(-m_retention.keepDays) : QDateTime();
    // Oldest first: beyond the count bound, or finished before the age bound. One batch per pass, so that a
    // large backlog (a lowered bound, an old data file) never holds the event loop for long.
    QStringList ids;
    QList<ExpiredJob> expired;
    bool more = false;
    for (const QString &id : std::as_const(m_order)) {
        const Job &j = m_jobs[id];
        if (!j.isFinished())
            continue;
        const bool tooMany = finished - ids.size() > m_retention.keep;
        const bool tooOld = cutoff.isValid() && j.finishedAt.isValid() && j.finishedAt < cutoff;
        if (!tooMany && !tooOld)
            continue;
        if (ids.size() == kPruneBatch) {
            more = true;
            break;
        }
        ids.append(id);
        expired.append({id, j.clientRef, now});
    }
    if (ids.isEmpty())
        return;
    for (const ExpiredJob &e : std::as_const(expired)) {
        if (m_byClientRef.value(e.clientRef) == e.id)
            m_byClientRef.remove(e.clientRef); // now answered from the tombstone
        m_expired.add(e);
        m_jobs.remove(e.id);
    }
    const QSet<QString> gone(ids.cbegin(), ids.cend());
    m_order.removeIf([&gone](const QString &id) { return gone.contains(id); });
    if (m_store) // a failure is logged by the store; the rows are pruned again after a restart
        m_store->prune(ids, expired, m_retention.keepExpired);
    qCInfo(lcJobs).noquote() << "pruned" << ids.size() << "finished job(s) (keep" << m_retention.keep << "jobs,"
                             << m_retention.keepDays << "days);" << m_jobs.size() << "job(s) kept";
    emit jobsPruned(ids);
    if (more && !std::exchange(m_pruneQueued, true))
        QTimer::singleShot(0, this, &JobManager::prune);
}

} // namespace cr
