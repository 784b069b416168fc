// The JobManager's runner-side queue and attempts: routing a waiting job to a backend with room, handing it
// over, and taking prompts back from a backend that dropped (the attempt's events: jobevents.cpp).

#include "core/jobs/jobmanager.h"

#include <QJsonArray>
#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

#include <algorithm>

Q_DECLARE_LOGGING_CATEGORY(lcJobs)

namespace cr {

namespace {
constexpr int kRetryUnreachableMs = 250; // a backend whose HTTP failed while its WebSocket lives: retry later
}

Error JobManager::noBackendError(const RouteDecision &d)
{
    QJsonObject details{{QStringLiteral("reason"), d.reason}, {QStringLiteral("backends"), d.perBackend}};
    QStringList why;
    for (auto it = d.perBackend.begin(); it != d.perBackend.end(); ++it)
        why << QStringLiteral("%1 %2").arg(it.key(), it.value().toString());
    return Error::make(
        ErrorCode::NoBackendCanRun,
        why.isEmpty() ? d.reason : QStringLiteral("%1: %2").arg(d.reason, why.join(QStringLiteral("; "))), details);
}

RouteDecision JobManager::route(const Job &job, bool atSubmit, const QHash<QString, int> &deferred) const
{
    RouteOptions options;
    options.policy
        = m_retention.routing == RoutingMode::LeastLoaded ? RoutingPolicy::LeastLoaded : RoutingPolicy::Affinity;
    options.checkCapabilities = !m_pool->isPoolOfOne();
    options.requireConnection = !(atSubmit && m_pool->isPoolOfOne());
    options.roundRobin = m_roundRobin;
    options.deferred = deferred;
    return Router::route(m_needs.value(job.id), m_pool->snapshots(), options);
}

QHash<QString, int> JobManager::waitingAhead(const QString &checkpoint, int priority) const
{
    if (checkpoint.isEmpty())
        return {};
    int ahead = 0;
    for (const QString &id : m_waiting)
        if (m_needs.value(id).checkpoint == checkpoint && m_jobs.value(id).priority >= priority)
            ++ahead;
    return {{checkpoint, ahead}};
}

void JobManager::enqueue(const QString &id)
{
    if (m_waiting.contains(id))
        return;
    const int priority = m_jobs.value(id).priority;
    const quint64 seq = m_seq.value(id);
    // Higher priority first, then arrival order (a job taken back keeps its place).
    auto pos = std::find_if(m_waiting.begin(), m_waiting.end(), [&](const QString &other) {
        const int p = m_jobs.value(other).priority;
        return p < priority || (p == priority && m_seq.value(other) > seq);
    });
    m_waiting.insert(pos, id);
}

void JobManager::dequeue(const QString &id)
{
    if (m_waiting.removeOne(id)) {
        if (auto it = m_jobs.find(id); it != m_jobs.end())
            it->queuePosition = 0;
    }
}

void JobManager::updateQueuePositions()
{
    for (int i = 0; i < m_waiting.size(); ++i)
        if (auto it = m_jobs.find(m_waiting.at(i)); it != m_jobs.end())
            it->queuePosition = i + 1;
    estimateWaiting();
}

void JobManager::dispatch()
{
    if (m_dispatching) {
        m_dispatchAgain = true;
        return;
    }
    m_dispatching = true;
    do {
        m_dispatchAgain = false;
        // Nothing can be handed over while no backend takes work: skip routing the whole queue.
        const QList<Backend *> &backends = m_pool->backends();
        if (std::none_of(backends.cbegin(), backends.cend(),
                         [](const Backend *b) { return b->isConnected() && !b->isDraining() && b->hasRoom(); }))
            break;
        const QStringList order = m_waiting;
        // Affinity: jobs per checkpoint that wait in this pass for a busy backend with their checkpoint loaded;
        // the jobs behind them go on (a later job may fit a free backend without a model switch).
        QHash<QString, int> deferred;
        for (const QString &id : order) {
            auto it = m_jobs.find(id);
            if (it == m_jobs.end() || it->isFinished()) {
                dequeue(id);
                continue;
            }
            const RouteDecision d = route(*it, false, deferred);
            if (d.deferred) {
                ++deferred[m_needs.value(id).checkpoint];
                qCDebug(lcJobs).noquote() << "job" << id << d.reason;
            } else if (d.kind == RouteDecision::Kind::Chosen) {
                dequeue(id);
                // In a cluster the job is the cluster's until this runner claims it (another may be first).
                if (m_cluster && it->node.isEmpty() && !claim(id))
                    continue;
                handOver(id, d.backend, std::nullopt);
            } else if (d.kind == RouteDecision::Kind::Never && !m_cluster) {
                dequeue(id);
                failJob(*it, noBackendError(d).message);
            } // a cluster's job no backend here can run waits for another runner's
        }
    } while (m_dispatchAgain);
    m_dispatching = false;
    updateQueuePositions();
}

void JobManager::handOver(const QString &id, const QString &backendName, std::optional<Answer> answer)
{
    auto it = m_jobs.find(id);
    Backend *backend = m_pool->find(backendName);
    if (it == m_jobs.end() || !backend)
        return;
    Job &job = *it;
    JobAttempt a;
    a.backend = backendName;
    a.backendUrl = backendUrlKey(backend->settings().url);
    a.promptId = job.attempts.isEmpty() ? job.id : ComfyClient::newPromptId(); // attempt 1 keeps the job id
    a.submittedAt = QDateTime::currentDateTimeUtc();
    job.attempts.append(a);
    job.state = JobState::Queued;
    m_byPrompt.insert(a.promptId, id);
    backend->noteHandover(m_needs.value(id).checkpoint);
    m_roundRobin = int(m_pool->backends().indexOf(backend)) + 1;
    // The attempt is known before ComfyUI sees the prompt: a restart (or a take-over) follows it, never resends
    // it. A job handed over at submission is written once ComfyUI accepted it, except in a cluster, where its
    // row exists already (unpublished).
    if (!answer || m_cluster)
        persist(job);
    qCInfo(lcJobs).noquote()
        << "job" << id << "handed to" << backendName
        << (job.attempts.size() > 1 ? QStringLiteral("(attempt %1, prompt %2)").arg(job.attempts.size()).arg(a.promptId)
                                    : QString());
    const QString promptId = a.promptId;
    // The answer comes through the backend's ComfyHttp, which outlives this manager when the client is not the
    // pool's own (JobManager(ComfyClient *)): dropped if the manager went meanwhile.
    backend->client()->submit(promptId, job.graph,
                              [self = QPointer<JobManager>(this), id, promptId, answer](Result<SubmitAck> r) {
                                  if (self)
                                      self->onHandedOver(id, promptId, r, answer);
                              });
}

void JobManager::onHandedOver(const QString &id, const QString &promptId, const Result<SubmitAck> &r,
                              const std::optional<Answer> &answer)
{
    const QList<Answer> duplicates = answer ? m_duplicates.take(id) : QList<Answer>();
    const auto answerAll = [&answer, &duplicates](const Result<Job> &result, bool created) {
        if (answer)
            (*answer)(result, created);
        for (const Answer &d : duplicates)
            d(result, false);
    };
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) {
        answerAll(Error::make(ErrorCode::Internal, QStringLiteral("job vanished during submission")), false);
        return;
    }
    JobAttempt *attempt = it->currentAttempt();
    if (!attempt || attempt->promptId != promptId) {
        // Taken back (its backend dropped) or ended while ComfyUI was answering. A submitter still waiting
        // gets the job as it is now: accepted, and waiting for (or handed to) another backend.
        if (answer)
            publishAccepted(id, answerAll);
        return;
    }
    const bool refused = !r && !r.error().is(ErrorCode::ComfyTimeout);
    if (refused && answer) {
        // Rejected (validation, HTTP error) or never sent (unreachable): nothing was queued in ComfyUI.
        forget(id);
        answerAll(r.error(), false);
        return;
    }
    if (refused) {
        // A job that waited: it was already accepted, so the refusal ends it (or, unsent, it waits again).
        m_byPrompt.remove(promptId);
        attempt->finishedAt = QDateTime::currentDateTimeUtc();
        attempt->reason = r.error().message;
        if (Backend *b = m_pool->find(attempt->backend))
            b->setLastError(r.error().message);
        if (r.error().is(ErrorCode::ComfyUnreachable)) {
            attempt->outcome = QStringLiteral("taken_back");
            enqueue(id);
            persist(*it);
            if (!std::exchange(m_dispatchScheduled, true))
                QTimer::singleShot(kRetryUnreachableMs, this, [this] {
                    m_dispatchScheduled = false;
                    dispatch();
                });
            return;
        }
        attempt->outcome = QStringLiteral("refused");
        failJob(*it,
                QStringLiteral("ComfyUI at backend \"%1\" refused the prompt: %2")
                    .arg(attempt->backend, r.error().message));
        return;
    }
    if (!r) {
        // No answer in time: ComfyUI may have queued it. Keep the job and let the client find out
        // through /queue and /history (it ends as lost if ComfyUI never saw it).
        qCWarning(lcJobs).noquote() << "job" << id
                                    << "submission timed out; following it through ComfyUI's queue and history";
        if (Backend *b = m_pool->find(attempt->backend))
            b->client()->adopt(promptId);
    }
    if (!answer)
        return; // a job that waited was published when it was accepted
    publishAccepted(id, answerAll);
}

void JobManager::publishAccepted(const QString &id, const std::function<void(const Result<Job> &, bool)> &answerAll)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end())
        return;
    // Durable before it is acknowledged: a job the store cannot keep is not accepted (store_unavailable), and
    // its prompt is taken back from ComfyUI.
    if (m_cluster && !it->currentAttempt())
        it->node.clear(); // taken back before ComfyUI answered: it waits in the cluster's queue
    if (m_store) {
        if (const StoreResult stored = m_store->create(*it); !stored) {
            if (const JobAttempt *a = it->currentAttempt())
                if (Backend *b = m_pool->find(a->backend))
                    b->client()->release(a->promptId); // deleted from its queue, or interrupted
            forget(id);
            storeFailed({});
            answerAll(stored.error(), false);
            return;
        }
    }
    m_unacknowledged.remove(id);
    qCInfo(lcJobs).noquote() << "job" << id << "queued"
                             << (it->workflow.isEmpty() ? QString() : QStringLiteral("(%1)").arg(it->workflow));
    // Events may have come before the answer; publish in order: queued, started, then the end.
    if (it->state == JobState::Queued)
        estimateWaiting();
    const Job queued = *it;
    emit jobQueued(queued);
    if (queued.state == JobState::Running)
        emit jobStarted(queued);
    setOwnership(*it);
    answerAll(queued, true);
    if (m_earlyOutcomes.contains(id)) {
        const PromptOutcome early = m_earlyOutcomes.take(id);
        if (auto job = m_jobs.find(id); job != m_jobs.end() && !job->isFinished())
            finishJob(*job, early);
    }
    prune();
}

void JobManager::cancelAttempt(Job &job)
{
    const QString id = job.id;
    if (!m_unacknowledged.contains(id))
        persist(job);
    if (const JobAttempt *a = job.currentAttempt()) {
        if (Backend *b = m_pool->find(a->backend))
            b->client()->cancel(a->promptId); // queue delete, then a targeted interrupt, at that backend only
        return;
    }
    // Still waiting in the runner: no ComfyUI has it.
    dequeue(id);
    updateQueuePositions();
    PromptOutcome o;
    o.promptId = id;
    o.status = PromptOutcome::Status::Cancelled;
    finishJob(job, o);
}

void JobManager::takeBack(Job &job, const QString &reason)
{
    JobAttempt *a = job.currentAttempt();
    if (!a)
        return;
    const bool ran = a->startedAt.isValid();
    a->outcome = ran ? QStringLiteral("backend_lost") : QStringLiteral("taken_back");
    a->reason = reason;
    a->finishedAt = QDateTime::currentDateTimeUtc();
    m_byPrompt.remove(a->promptId);
    m_oldPrompts.insert(a->promptId, job.id);
    m_lastStep.remove(job.id);
    if (ran && job.attemptsThatRan() >= m_retention.maxAttempts) {
        failJob(job,
                QStringLiteral("%1 while it ran; not run again ([jobs] max_attempts = %2)")
                    .arg(reason)
                    .arg(m_retention.maxAttempts));
        return;
    }
    qCInfo(lcJobs).noquote() << "job" << job.id << "taken back (" + reason + "); it waits for another backend";
    job.state = JobState::Queued;
    job.startedAt = QDateTime();
    job.progress = {};
    job.outputs.clear();
    job.cachedNodes.clear();
    const bool published = !m_unacknowledged.contains(job.id);
    if (published)
        job.node.clear(); // in a cluster any runner may claim it again (unpublished: once it is published)
    enqueue(job.id);
    persist(job);
    if (published) {
        emit jobProgress(job);
        setOwnership(job);
    }
}

void JobManager::onBackendDown(const QString &name)
{
    if (m_pool->isPoolOfOne())
        return; // nowhere else to go: the client keeps reconnecting and reconciling, as before pools
    Backend *b = m_pool->find(name);
    if (!b)
        return;
    QStringList ids;
    for (auto it = m_jobs.cbegin(); it != m_jobs.cend(); ++it)
        if (const JobAttempt *a = it->currentAttempt(); a && !it->isFinished() && a->backend == name)
            ids << it.key();
    for (const QString &id : std::as_const(ids)) {
        auto it = m_jobs.find(id);
        if (it == m_jobs.end())
            continue;
        b->release(it->currentAttempt()->promptId);
        if (it->cancelRequested) {
            PromptOutcome o;
            o.promptId = it->currentAttempt()->promptId;
            o.status = PromptOutcome::Status::Cancelled;
            finishJob(*it, o);
            continue;
        }
        takeBack(*it, QStringLiteral("backend \"%1\" dropped").arg(name));
    }
    dispatch();
}

} // namespace cr
