// The JobManager following its jobs' attempts: ComfyUI's events of the current attempt (running, progress,
// cached nodes), the outcome of a prompt, finishing or failing a job, and attempts found to have run anyway
// (superseded). The queue and the hand-over are jobdispatch.cpp's.

#include "core/jobs/jobmanager.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcJobs)

namespace cr {

void JobManager::markRunning(Job &job)
{
    if (JobAttempt *a = job.currentAttempt(); a && !a->startedAt.isValid())
        a->startedAt = QDateTime::currentDateTimeUtc();
    if (job.state != JobState::Queued)
        return;
    job.state = JobState::Running;
    job.startedAt = QDateTime::currentDateTimeUtc();
    estimateRunning(job);
    if (m_maxRunMs > 0) {
        const QString id = job.id;
        const QString prompt = job.currentAttempt() ? job.currentAttempt()->promptId : id;
        QTimer::singleShot(m_maxRunMs, this, [this, id, prompt] {
            const Job *j = find(id);
            if (j && j->currentAttempt() && j->currentAttempt()->promptId == prompt) // not a later attempt's
                onRunTimeExceeded(id);
        });
    }
    if (m_unacknowledged.contains(job.id))
        return; // published once ComfyUI answered the submission
    // Alone, not persisted: after a restart a queued and a running job are followed the same way. In a
    // cluster the other runners learn it from the row.
    if (m_cluster)
        persist(job);
    emit jobStarted(job);
}

void JobManager::onEvent(const QString &backend, const protocol::ComfyEvent &event)
{
    if (event.promptId.isEmpty())
        return;
    const QString id = m_byPrompt.value(event.promptId);
    if (id.isEmpty()) {
        // A prompt taken back that ran anyway (its backend came back before the delete reached it): ignored,
        // and recorded on its attempt.
        if (event.type == protocol::EventType::ExecutionStart)
            onSuperseded(backend, event.promptId);
        return;
    }
    auto it = m_jobs.find(id);
    if (it == m_jobs.end() || it->isFinished())
        return;
    const JobAttempt *a = it->currentAttempt();
    if (!a || a->backend != backend || a->promptId != event.promptId)
        return;
    onEventOf(*it, event);
}

void JobManager::onSuperseded(const QString &backend, const QString &promptId)
{
    auto it = m_jobs.find(m_oldPrompts.value(promptId));
    if (it == m_jobs.end())
        return;
    for (JobAttempt &a : it->attempts) {
        if (a.promptId != promptId || a.backend != backend || a.outcome == QLatin1String("superseded"))
            continue;
        a.outcome = QStringLiteral("superseded");
        a.reason = QStringLiteral("ran at %1 after it was taken back; its results are ignored").arg(backend);
        persist(*it);
    }
}

void JobManager::onEventOf(Job &job, const protocol::ComfyEvent &event)
{
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
        estimateRunning(job);
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
        onStep(job, job.progress);
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

void JobManager::onPromptFinished(const QString &backend, const PromptOutcome &o)
{
    const QString id = m_byPrompt.value(o.promptId);
    auto it = m_jobs.find(id);
    if (id.isEmpty() || it == m_jobs.end() || it->isFinished())
        return;
    const JobAttempt *a = it->currentAttempt();
    if (!a || a->backend != backend || a->promptId != o.promptId)
        return;
    if (m_unacknowledged.contains(id)) {
        m_earlyOutcomes.insert(id, o); // finished before ComfyUI's answer arrived (fast cached runs)
        return;
    }
    // ComfyUI forgot it (restarted): in a pool, run it elsewhere (or again) rather than lose it.
    // So does a prompt gone when this runner took the job over from another (by [jobs] max_attempts).
    if (o.status == PromptOutcome::Status::Lost && (!m_pool->isPoolOfOne() || m_takenOver.contains(id))
        && !it->cancelRequested) {
        m_takenOver.remove(id);
        takeBack(*it, QStringLiteral("backend \"%1\" lost it: %2").arg(backend, o.reason));
        dispatch();
        return;
    }
    finishJob(*it, o);
}

void JobManager::finishJob(Job &job, const PromptOutcome &o)
{
    dequeue(job.id);
    m_takenOver.remove(job.id);
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
    if (JobAttempt *a = job.currentAttempt()) {
        a->outcome
            = o.status == PromptOutcome::Status::Cancelled ? QStringLiteral("cancelled") : promptStatusName(o.status);
        a->reason = o.reason;
        a->finishedAt = job.finishedAt;
        m_byPrompt.remove(a->promptId);
    }
    // A finished job shows its last stepped node complete (or 1/1 when nothing stepped, e.g. a cached run).
    const JobProgress last = m_lastStep.take(job.id);
    if (job.state == JobState::Succeeded)
        job.progress
            = last.max > 0 ? JobProgress{last.node, last.nodeClass, last.max, last.max} : JobProgress{{}, {}, 1, 1};
    m_needs.remove(job.id);
    recordFinished(job);
    job.etaMs = -1;
    qCInfo(lcJobs).noquote() << "job" << job.id << jobStateName(job.state) << "with" << job.outputs.size()
                             << "output file(s)";
    persist(job);
    const Job done = job;
    emit jobFinished(done);
    prune();
    dispatch(); // its backend has room again
}

void JobManager::failJob(Job &job, const QString &reason)
{
    PromptOutcome o;
    o.promptId = job.id;
    o.status = PromptOutcome::Status::Failed;
    o.reason = reason;
    finishJob(job, o);
}

} // namespace cr
