// The JobManager's estimates of how long its jobs still take (eta_ms, EtaEstimator): a running job's from its
// sampler's cadence and its workflow's history on its backend; a waiting job's from the work ahead of it
// (the running jobs' estimates and the typical durations of the jobs queued before it), spread over the
// backends that take work, plus its own typical duration.

#include "core/jobs/jobmanager.h"

#include <QCryptographicHash>
#include <QJsonDocument>

#include <algorithm>

namespace cr {

namespace {

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

} // namespace

QString JobManager::workflowKey(const Job &job)
{
    if (!job.workflow.isEmpty())
        return job.workflow;
    // A posted graph: its shape (node ids and classes), not its values, names it.
    QStringList shape;
    for (auto it = job.graph.constBegin(); it != job.graph.constEnd(); ++it)
        shape.append(it.key() + QLatin1Char('=') + it.value().toObject().value(QLatin1String("class_type")).toString());
    return QStringLiteral("graph:")
        + QString::fromLatin1(QCryptographicHash::hash(shape.join(QLatin1Char(',')).toUtf8(), QCryptographicHash::Sha1)
                                  .toHex()
                                  .left(16));
}

void JobManager::estimateRunning(Job &job)
{
    const qint64 now = nowMs();
    const QString key = workflowKey(job);
    const QString backend = job.backend();
    const auto cadence = m_cadence.constFind(job.id);
    const qint64 started = job.startedAt.isValid() ? job.startedAt.toMSecsSinceEpoch() : now;
    job.etaMs = EtaEstimator::runningEta(now, now - started, cadence != m_cadence.cend() ? &*cadence : nullptr,
                                         m_eta.typicalMs(key, backend), m_eta.typicalTailMs(key, backend));
    job.etaAtMs = now;
}

void JobManager::estimateWaiting()
{
    const qint64 now = nowMs();
    // Per backend: what its unfinished jobs still need, in the order they were handed over.
    QHash<QString, QList<const Job *>> handed;
    for (auto n = m_needs.cbegin(); n != m_needs.cend(); ++n) { // the unfinished jobs
        const auto it = m_jobs.constFind(n.key());
        if (it == m_jobs.cend())
            continue;
        if (const JobAttempt *a = it->currentAttempt(); a && !it->isFinished())
            handed[a->backend].append(&*it);
    }
    for (QList<const Job *> &list : handed)
        std::sort(list.begin(), list.end(), [](const Job *x, const Job *y) {
            return x->currentAttempt()->submittedAt < y->currentAttempt()->submittedAt;
        });
    auto own = [this](const Job &j, const QString &backend) { return m_eta.typicalMs(workflowKey(j), backend); };
    auto left = [&](const Job &j) {
        if (j.state == JobState::Running)
            return j.etaRemainingMs(now);
        return own(j, j.backend());
    };
    // Queued inside a ComfyUI: everything handed to that backend before it, then itself.
    qint64 backlogAll = 0; // of every backend, for the runner's own queue
    bool backlogKnown = true;
    for (auto it = handed.begin(); it != handed.end(); ++it) {
        qint64 ahead = 0;
        bool known = true;
        for (const Job *j : std::as_const(*it)) {
            if (j->state == JobState::Queued) {
                const qint64 mine = own(*j, it.key());
                Job &w = m_jobs[j->id];
                w.etaMs = known && mine >= 0 ? ahead + mine : -1;
                w.etaAtMs = now;
            }
            const qint64 l = left(*j);
            if (l < 0)
                known = false;
            else
                ahead += l;
        }
        backlogAll += ahead;
        backlogKnown = backlogKnown && known;
    }
    // In the runner's queue: the backlog spread over the backends that take work, then the jobs ahead in
    // turn, then itself.
    int lanes = 0;
    for (const Backend *b : m_pool->backends())
        lanes += b->isConnected() && !b->isDraining() ? 1 : 0;
    lanes = std::max(1, lanes);
    qint64 queuedAhead = 0;
    bool aheadKnown = backlogKnown;
    for (const QString &id : std::as_const(m_waiting)) {
        auto it = m_jobs.find(id);
        if (it == m_jobs.end())
            continue;
        const qint64 mine = own(*it, QString());
        it->etaMs = aheadKnown && mine >= 0 ? (backlogAll + queuedAhead) / lanes + mine : -1;
        it->etaAtMs = now;
        if (mine < 0)
            aheadKnown = false;
        else
            queuedAhead += mine;
    }
}

void JobManager::onStep(Job &job, const JobProgress &step)
{
    m_cadence[job.id].step(step.node, step.value, step.max, nowMs());
    estimateRunning(job);
}

void JobManager::recordFinished(const Job &job)
{
    const auto cadence = m_cadence.constFind(job.id);
    if (job.state == JobState::Succeeded && job.startedAt.isValid() && job.finishedAt.isValid()) {
        const qint64 tail = cadence != m_cadence.cend() && cadence->lastAtMs > 0
            ? std::max<qint64>(0, job.finishedAt.toMSecsSinceEpoch() - cadence->lastAtMs)
            : -1;
        m_eta.recordRun(workflowKey(job), job.backend(), job.durationMs(), tail);
    }
    m_cadence.remove(job.id);
}

} // namespace cr
