#pragma once
// Tracks every job of this service: queued -> running -> succeeded | failed | cancelled | lost, with
// progress, outputs and ComfyUI's error. It submits through ComfyClient and follows the client's events;
// many jobs can be in flight (ComfyUI queues them). Finished jobs are kept by count and age ([jobs] keep,
// keep_days); pruned ones leave a bounded tombstone so that they answer job_expired, not job_not_found.

#include "core/comfy/comfyclient.h"
#include "core/config/config.h"
#include "core/jobs/expiredjobs.h"
#include "core/jobs/job.h"
#include "core/jobs/jobstore.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <functional>

namespace cr {

struct JobRequest {
    QString workflow;  // name, for listing
    QJsonObject graph; // the graph with inputs applied (a private copy)
    QString clientRef; // optional idempotency key
};

struct JobFilter {
    std::optional<JobState> state;
    QString workflow;
    int offset = 0;
    int limit = 50;
};

struct JobPage {
    QList<Job> jobs; // newest first
    int total = 0;
};

class JobManager final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobManager)

public:
    // `store` (optional, not owned) keeps jobs across restarts.
    explicit JobManager(ComfyClient *comfy, JobStore *store = nullptr, QObject *parent = nullptr);

    // Loads the stored jobs; unfinished ones are followed again (reconciled with ComfyUI). Returns how many.
    int restore();

    using SubmitCallback = std::function<void(Result<Job>, bool created)>;
    // Creates a job and submits it. The callback gets the job once ComfyUI accepted it (created = true), or
    // the error (comfy_validation with ComfyUI's node_errors, comfy_unreachable, ...; job_expired when
    // `clientRef` belonged to a pruned job) and then no job exists.
    // A `clientRef` seen before is not submitted again: the callback gets the existing job (created = false);
    // while that job's own submission still waits for ComfyUI's answer, the duplicate waits for the same
    // outcome (the job, or the same error), so an id is never handed out for a job that is then dropped.
    // The callback is dropped when `context` is destroyed first (the ApiServer at shutdown, say).
    void submit(JobRequest request, QObject *context, SubmitCallback done);
    void submit(JobRequest request, SubmitCallback done) { submit(std::move(request), this, std::move(done)); }
    // Pending: removed from ComfyUI's queue; running: targeted interrupt. Final jobs: error job_conflict.
    Status cancel(const QString &id);
    // Cancels every unfinished job of this service (the legacy POST /interrupt); returns how many.
    int cancelAll();

    const Job *find(const QString &id) const;
    // The error for an id find() does not know: job_expired (with when it was pruned) or job_not_found.
    Error missingJob(const QString &id) const;
    JobPage list(const JobFilter &filter) const;
    int activeCount() const;
    int countIn(JobState state) const; // jobs known now in that state (the metrics' queued and running)
    // Count and age bounds of finished jobs, and how many tombstones of pruned ones are kept (JobSettings).
    void setRetention(const JobSettings &settings);
    // A job running longer than this is interrupted and fails ("exceeded the maximum job time"); if ComfyUI
    // does not even end it then, it fails here after a grace period. 0 = no limit.
    void setMaxRunTime(int ms) { m_maxRunMs = ms; }

signals:
    void jobQueued(const cr::Job &job);
    void jobStarted(const cr::Job &job);
    void jobProgress(const cr::Job &job);
    void jobFinished(const cr::Job &job);    // any final state
    void jobsPruned(const QStringList &ids); // finished jobs dropped by retention (their event logs may go too)

private:
    void onEvent(const protocol::ComfyEvent &event);
    void onPromptFinished(const PromptOutcome &outcome);
    void markRunning(Job &job);
    void prune(); // one bounded batch; schedules the next when more is due
    void persist(const Job &job);
    void onRunTimeExceeded(const QString &id);
    void forget(const QString &id); // a submission ComfyUI refused: no trace left

    // A submit() callback with the object it belongs to.
    struct Answer {
        QPointer<QObject> context;
        SubmitCallback done;
        void operator()(const Result<Job> &r, bool created) const
        {
            if (context)
                done(r, created);
        }
    };

    ComfyClient *m_comfy;
    JobStore *m_store;
    QHash<QString, Job> m_jobs;
    QHash<QString, QString> m_byClientRef;
    QStringList m_order;                           // ids, oldest first
    QHash<QString, JobProgress> m_lastStep;        // the last `progress` of each running job
    QSet<QString> m_unacknowledged;                // submitted, ComfyUI has not answered yet: not published
    QHash<QString, PromptOutcome> m_earlyOutcomes; // finished before the answer
    QHash<QString, QList<Answer>> m_duplicates;    // same client_ref, came before the answer: answered with it
    JobSettings m_retention;
    ExpiredJobs m_expired{m_retention.keepExpired};
    QTimer m_pruneTimer; // age-based pruning also happens when nothing finishes
    bool m_pruneQueued = false;
    int m_maxRunMs = 0;
    QSet<QString> m_timedOut;
};

} // namespace cr
