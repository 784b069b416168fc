#include "core/jobs/jobmanager.h"

#include <QLoggingCategory>
#include <QTimer>

Q_LOGGING_CATEGORY(lcJobs, "comfyrunner.jobs")

namespace cr {

namespace {
constexpr int kPruneBatch = 200;                 // jobs removed per event-loop pass (one store transaction)
constexpr int kAgePruneIntervalMs = 10 * 60'000; // how often keep_days is checked when nothing finishes
} // namespace

JobManager::JobManager(ComfyClient *comfy, JobStore *store, QObject *parent)
    : QObject(parent), m_comfy(comfy), m_store(store)
{
    qRegisterMetaType<cr::Job>();
    connect(m_comfy, &ComfyClient::eventReceived, this, &JobManager::onEvent);
    connect(m_comfy, &ComfyClient::promptFinished, this, &JobManager::onPromptFinished);
    m_pruneTimer.setInterval(kAgePruneIntervalMs);
    connect(&m_pruneTimer, &QTimer::timeout, this, &JobManager::prune);
    m_pruneTimer.start();
}

void JobManager::setRetention(const JobSettings &settings)
{
    m_retention = settings;
    m_retention.keep = qMax(1, m_retention.keep);
    m_expired.setCapacity(m_retention.keepExpired);
}

int JobManager::restore()
{
    if (!m_store)
        return 0;
    int resumed = 0;
    for (const ExpiredJob &e : m_store->loadExpired())
        m_expired.add(e);
    const QList<Job> jobs = m_store->loadAll();
    for (const Job &job : jobs) {
        if (m_jobs.contains(job.id))
            continue;
        m_jobs.insert(job.id, job);
        m_order.append(job.id);
        if (!job.clientRef.isEmpty())
            m_byClientRef.insert(job.clientRef, job.id);
        if (!job.isFinished()) {
            m_comfy->adopt(job.id);
            ++resumed;
        }
    }
    qCInfo(lcJobs) << "restored" << jobs.size() << "job(s)," << resumed << "still in flight";
    prune();
    return int(jobs.size());
}

// A state change of a stored job (the graph was written once, at creation). Progress is never written: a
// restarted service learns it again from ComfyUI.
void JobManager::persist(const Job &job)
{
    if (m_store)
        m_store->update(job);
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
    Job job;
    job.id = ComfyClient::newPromptId();
    job.clientRef = request.clientRef;
    job.workflow = request.workflow;
    job.graph = std::move(request.graph);
    job.createdAt = QDateTime::currentDateTimeUtc();
    const QString id = job.id;
    m_jobs.insert(id, job);
    m_order.append(id);
    m_unacknowledged.insert(id);
    if (!job.clientRef.isEmpty())
        m_byClientRef.insert(job.clientRef, id);

    m_comfy->submit(id, job.graph, [this, id, answer](Result<SubmitAck> r) {
        const QList<Answer> duplicates = m_duplicates.take(id);
        const auto answerAll = [&answer, &duplicates](const Result<Job> &result, bool created) {
            answer(result, created);
            for (const Answer &d : duplicates)
                d(result, false);
        };
        auto it = m_jobs.find(id);
        if (it == m_jobs.end()) {
            answerAll(Error::make(ErrorCode::Internal, QStringLiteral("job vanished during submission")), false);
            return;
        }
        if (!r && !r.error().is(ErrorCode::ComfyTimeout)) {
            // Rejected (validation, HTTP error) or never sent (unreachable): nothing was queued in ComfyUI.
            forget(id);
            answerAll(r.error(), false);
            return;
        }
        m_unacknowledged.remove(id);
        if (!r) {
            // No answer in time: ComfyUI may have queued it. Keep the job and let the client find out
            // through /queue and /history (it ends as lost if ComfyUI never saw it).
            qCWarning(lcJobs).noquote() << "job" << id
                                        << "submission timed out; following it through ComfyUI's queue and history";
            m_comfy->adopt(id);
        }
        qCInfo(lcJobs).noquote() << "job" << id << "queued"
                                 << (it->workflow.isEmpty() ? QString() : QStringLiteral("(%1)").arg(it->workflow));
        if (m_store) // durable before it is acknowledged
            m_store->create(*it);
        // Events may have come before the answer; publish in order: queued, started, then the end.
        const Job queued = *it;
        emit jobQueued(queued);
        if (queued.state == JobState::Running)
            emit jobStarted(queued);
        answerAll(queued, true);
        if (std::optional<PromptOutcome> early = m_earlyOutcomes.take(id))
            onPromptFinished(*early);
        prune();
    });
}

void JobManager::forget(const QString &id)
{
    const Job job = m_jobs.take(id);
    if (!job.clientRef.isEmpty() && m_byClientRef.value(job.clientRef) == id)
        m_byClientRef.remove(job.clientRef);
    m_order.removeOne(id);
    m_unacknowledged.remove(id);
    m_earlyOutcomes.remove(id);
    m_duplicates.remove(id);
    m_lastStep.remove(id);
    if (m_store)
        m_store->remove(id);
}

Status JobManager::cancel(const QString &id)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end())
        return missingJob(id);
    if (it->isFinished())
        return Error::make(ErrorCode::JobConflict,
                           QStringLiteral("job %1 has already finished (%2)").arg(id, jobStateName(it->state)),
                           {{QStringLiteral("state"), jobStateName(it->state)}});
    it->cancelRequested = true;
    if (!m_unacknowledged.contains(id))
        persist(*it);
    m_comfy->cancel(id);
    return std::nullopt;
}

void JobManager::onRunTimeExceeded(const QString &id)
{
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || it->isFinished() || m_timedOut.contains(id))
        return;
    qCWarning(lcJobs).noquote() << "job" << id << "exceeded the maximum job time; interrupting it";
    m_timedOut.insert(id);
    it->cancelRequested = true;
    m_comfy->cancel(id);
    // ComfyUI may be hung too deeply to answer: then the job ends here.
    QTimer::singleShot(qMax(10'000, m_maxRunMs / 10), this, [this, id] {
        auto job = m_jobs.find(id);
        if (job == m_jobs.end() || job->isFinished())
            return;
        PromptOutcome o;
        o.promptId = id;
        o.status = PromptOutcome::Status::Interrupted;
        onPromptFinished(o);
    });
}

int JobManager::cancelAll()
{
    int n = 0;
    for (auto it = m_jobs.begin(); it != m_jobs.end(); ++it) {
        if (!it->isFinished() && !it->cancelRequested) {
            it->cancelRequested = true;
            if (!m_unacknowledged.contains(it.key()))
                persist(*it);
            m_comfy->cancel(it.key());
            ++n;
        }
    }
    return n;
}

const Job *JobManager::find(const QString &id) const
{
    auto it = m_jobs.constFind(id);
    return it == m_jobs.cend() ? nullptr : &*it;
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

void JobManager::markRunning(Job &job)
{
    if (job.state != JobState::Queued)
        return;
    job.state = JobState::Running;
    job.startedAt = QDateTime::currentDateTimeUtc();
    if (m_maxRunMs > 0) {
        const QString id = job.id;
        QTimer::singleShot(m_maxRunMs, this, [this, id] { onRunTimeExceeded(id); });
    }
    if (m_unacknowledged.contains(job.id))
        return; // published once ComfyUI answered the submission
    // Not persisted: after a restart a queued and a running job are followed the same way.
    emit jobStarted(job);
}

void JobManager::onEvent(const protocol::ComfyEvent &event)
{
    if (event.promptId.isEmpty())
        return;
    auto it = m_jobs.find(event.promptId);
    if (it == m_jobs.end() || it->isFinished())
        return;
    Job &job = *it;
    switch (event.type) {
    case protocol::EventType::ExecutionStart:
        markRunning(job);
        break;
    case protocol::EventType::ExecutionCached:
        markRunning(job);
        job.cachedNodes = event.as<protocol::ExecutionCachedEvent>()->nodes;
        break;
    case protocol::EventType::Executing: {
        const auto *e = event.as<protocol::ExecutingEvent>();
        if (e->finished)
            break;
        markRunning(job);
        job.progress
            = {e->node, job.graph.value(e->node).toObject().value(QLatin1String("class_type")).toString(), 0, 0};
        if (!m_unacknowledged.contains(job.id))
            emit jobProgress(job);
        break;
    }
    case protocol::EventType::Progress: {
        const auto *p = event.as<protocol::ProgressEvent>();
        markRunning(job);
        job.progress.node = p->node;
        job.progress.nodeClass = job.graph.value(p->node).toObject().value(QLatin1String("class_type")).toString();
        job.progress.value = p->value;
        job.progress.max = p->max;
        m_lastStep.insert(job.id, job.progress);
        if (!m_unacknowledged.contains(job.id))
            emit jobProgress(job);
        break;
    }
    case protocol::EventType::Executed: {
        const auto *e = event.as<protocol::ExecutedEvent>();
        for (const protocol::OutputFile &f : e->files) {
            const NodeOutputFile nf{e->node, f};
            if (!job.outputs.contains(nf))
                job.outputs.append(nf);
        }
        break;
    }
    default:
        break;
    }
}

void JobManager::onPromptFinished(const PromptOutcome &o)
{
    auto it = m_jobs.find(o.promptId);
    if (it == m_jobs.end() || it->isFinished())
        return;
    if (m_unacknowledged.contains(o.promptId)) {
        m_earlyOutcomes.insert(o.promptId, o); // finished before ComfyUI's answer arrived (fast cached runs)
        return;
    }
    Job &job = *it;
    switch (o.status) {
    case PromptOutcome::Status::Succeeded:
        job.state = JobState::Succeeded;
        break;
    case PromptOutcome::Status::Failed:
        job.state = JobState::Failed;
        break;
    case PromptOutcome::Status::Interrupted:
        job.state = job.cancelRequested && !m_timedOut.contains(job.id) ? JobState::Cancelled : JobState::Failed;
        break;
    case PromptOutcome::Status::Cancelled:
        job.state = JobState::Cancelled;
        break;
    case PromptOutcome::Status::Lost:
        job.state = JobState::Lost;
        break;
    }
    if (!o.files.isEmpty() || job.outputs.isEmpty())
        job.outputs = o.files; // history is authoritative
    job.rawOutputs = o.outputs;
    job.comfyError = o.error;
    job.reason = job.state == JobState::Cancelled ? QStringLiteral("cancelled by request") : o.reason;
    if (m_timedOut.remove(job.id))
        job.reason = QStringLiteral("exceeded the maximum job time (%1 s); interrupted").arg(m_maxRunMs / 1000.0);
    if (!job.startedAt.isValid() && job.state == JobState::Succeeded)
        job.startedAt = job.createdAt;
    job.finishedAt = QDateTime::currentDateTimeUtc();
    // A finished job shows its last stepped node complete (or 1/1 when nothing stepped, e.g. a cached run).
    const JobProgress last = m_lastStep.take(job.id);
    if (job.state == JobState::Succeeded)
        job.progress
            = last.max > 0 ? JobProgress{last.node, last.nodeClass, last.max, last.max} : JobProgress{{}, {}, 1, 1};
    qCInfo(lcJobs).noquote() << "job" << job.id << jobStateName(job.state) << "with" << job.outputs.size()
                             << "output file(s)";
    persist(job);
    emit jobFinished(job);
    prune();
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
    if (m_store)
        m_store->prune(ids, expired, m_retention.keepExpired);
    qCInfo(lcJobs).noquote() << "pruned" << ids.size() << "finished job(s) (keep" << m_retention.keep << "jobs,"
                             << m_retention.keepDays << "days);" << m_jobs.size() << "job(s) kept";
    emit jobsPruned(ids);
    if (more && !std::exchange(m_pruneQueued, true))
        QTimer::singleShot(0, this, &JobManager::prune);
}

} // namespace cr
