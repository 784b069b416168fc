#pragma once
// Tracks every job of this service: queued -> running -> succeeded | failed | cancelled | lost, with
// progress, outputs and ComfyUI's error. Jobs wait in the runner's own queue (stored, ordered by priority
// then FIFO) and are handed to a backend of the pool when the Router finds one with room; each hand-over is
// an attempt, and the job follows its attempt's backend (events, cancel, outputs). When a backend drops, its
// prompts are taken back and routed again (a running one only while [jobs] max_attempts allows).
// Finished jobs are kept by count and age ([jobs] keep, keep_days); pruned ones leave a bounded tombstone so
// that they answer job_expired, not job_not_found. jobdispatch.cpp holds the queue and the attempts,
// jobpersist.cpp the writes to the store.

#include "core/comfy/comfyclient.h"
#include "core/config/config.h"
#include "core/jobs/clusterstore.h"
#include "core/jobs/etaestimator.h"
#include "core/jobs/expiredjobs.h"
#include "core/jobs/job.h"
#include "core/jobs/jobstore.h"
#include "core/pool/backendpool.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <functional>
#include <memory>

namespace cr {

struct JobRequest {
    QString workflow;         // name, for listing
    QJsonObject graph;        // the graph with inputs applied (a private copy)
    QString clientRef;        // optional idempotency key
    int priority = 0;         // higher first
    QString backend;          // pin to this backend (empty: any)
    QStringList requiredTags; // the backend must carry every one

    // "webhook" of the request (checked by the API); none: the [webhooks] url default applies.
    std::optional<JobWebhook> webhook;
    QString id; // the caller's prompt id (a canonical lowercase UUID), "" for a fresh one
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
    // `store` (optional, not owned) keeps jobs across restarts. `pool` is not owned.
    explicit JobManager(BackendPool *pool, JobStore *store = nullptr, QObject *parent = nullptr);
    // A pool of one around `comfy` (not owned).
    explicit JobManager(ComfyClient *comfy, JobStore *store = nullptr, QObject *parent = nullptr);
    ~JobManager() override;

    BackendPool *pool() const { return m_pool; }
    // The job a ComfyUI prompt id belongs to (its current attempt's, or a job's own id), or "".
    QString jobForPrompt(const QString &promptId) const;
    int waitingCount() const { return int(m_waiting.size()); } // jobs in the runner's queue
    // Why the job store cannot take writes now ("" when it can): new jobs are refused (store_unavailable)
    // while jobs already accepted go on; their changes are written once the store is back (reconnected with
    // backoff). /api/v1/ready names it.
    QString storeProblem() const;

    // Cluster mode (a PostgreSQL store shared by several runners; jobcluster.cpp, docs/cluster.md): this
    // runner's name, claim lease and the live URL its jobs' JSON names. Call before restore(); no effect
    // without a PostgreSQL store.
    void enableCluster(const QString &node, int leaseMs, const QString &liveUrl);
    bool isCluster() const { return m_cluster != nullptr; }
    QString node() const; // "" outside a cluster
    // How runners of a cluster know one ComfyUI: its URL without a trailing slash, lowercased.
    static QString backendUrlKey(const QUrl &url);

    // Loads the stored jobs; unfinished ones are followed again (reconciled with ComfyUI). Returns how many.
    // In a cluster: this runner's own jobs; the others' are mirrored, waiting ones join the queue.
    int restore();

    using SubmitCallback = std::function<void(Result<Job>, bool created)>;
    // Creates a job and hands it to a backend with room at once, or queues it in the runner. The callback
    // gets the job once ComfyUI accepted it, or at once when it waits (created = true), or the error
    // (comfy_validation with ComfyUI's node_errors, comfy_unreachable, ...; no_backend_can_run when no backend
    // of the pool could ever take it; job_expired when `clientRef` belonged to a pruned job) and then no job
    // exists. A job that waited and is then refused by ComfyUI fails with that error as its reason.
    // A `clientRef` seen before is not submitted again: the callback gets the existing job (created = false);
    // while that job's own submission still waits for ComfyUI's answer, the duplicate waits for the same
    // outcome (the job, or the same error), so an id is never handed out for a job that is then dropped.
    // The callback is dropped when `context` is destroyed first (the ApiServer at shutdown, say).
    void submit(JobRequest request, QObject *context, SubmitCallback done);
    void submit(JobRequest request, SubmitCallback done) { submit(std::move(request), this, std::move(done)); }
    // Waiting in the runner: cancelled at once; handed over: removed from its backend's queue; running: a
    // targeted interrupt at its backend. Final jobs: error job_conflict.
    Status cancel(const QString &id);
    // Cancels every unfinished job of this service (the legacy POST /interrupt); returns how many.
    int cancelAll();

    const Job *find(const QString &id) const;
    // The error for an id find() does not know: job_expired (with when it was pruned) or job_not_found.
    Error missingJob(const QString &id) const;
    JobPage list(const JobFilter &filter) const;
    int activeCount() const;
    int countIn(JobState state) const; // jobs known now in that state (the metrics' queued and running)
    int countAt(const QString &backend, JobState state) const; // handed to that backend and in that state
    // Count and age bounds of finished jobs, how many tombstones of pruned ones are kept, max_attempts and
    // the routing mode (JobSettings).
    void setRetention(const JobSettings &settings);
    // A job running longer than this is interrupted and fails ("exceeded the maximum job time"); if ComfyUI
    // does not even end it then, it fails here after a grace period. 0 = no limit.
    void setMaxRunTime(int ms) { m_maxRunMs = ms; }
    // The key the duration history is kept under: the workflow's name, or a posted graph's shape.
    static QString workflowKey(const Job &job);

signals:
    void jobQueued(const cr::Job &job);
    void jobStarted(const cr::Job &job);
    void jobProgress(const cr::Job &job);
    void jobFinished(const cr::Job &job);    // any final state
    void jobsPruned(const QStringList &ids); // finished jobs dropped by retention (their event logs may go too)

private:
    // jobdispatch.cpp: the runner's queue, hand-overs and attempts.
    void onEvent(const QString &backend, const protocol::ComfyEvent &event);
    void onPromptFinished(const QString &backend, const PromptOutcome &outcome);
    void finishJob(Job &job, const PromptOutcome &outcome);
    void failJob(Job &job, const QString &reason);
    // atSubmit: a pool of one hands a new job over even while disconnected (it fails as comfy_unreachable).
    // deferred: RouteOptions::deferred, the jobs per checkpoint that wait (affinity) ahead of this one.
    RouteDecision route(const Job &job, bool atSubmit = false, const QHash<QString, int> &deferred = {}) const;
    // At submission: the waiting jobs with this checkpoint that are ahead of a new job of this priority.
    QHash<QString, int> waitingAhead(const QString &checkpoint, int priority) const;
    void enqueue(const QString &id);
    void dequeue(const QString &id);
    void updateQueuePositions();
    void dispatch();
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
    // Cluster: the answer to a submission whose row could not be written (the job of the same client_ref).
    void answerDuplicate(const QString &clientRef, const Error &error, const Answer &answer);
    // jobcluster.cpp: a duplicate of another runner's submission that ComfyUI has not accepted yet.
    void waitForRemote(const QString &jobId, const QString &node, const QString &clientRef, const Answer &answer);
    void answerRemoteDuplicates(const QString &jobId, const Result<Job> &result);
    // answer: set when the submitter waits for ComfyUI's acknowledgement (hand-over at submit time).
    void handOver(const QString &id, const QString &backend, std::optional<Answer> answer);
    void onHandedOver(const QString &id, const QString &promptId, const Result<SubmitAck> &r,
                      const std::optional<Answer> &answer);
    // The first answer of a job handed over at submit time: stored, announced (queued, started), answered.
    void publishAccepted(const QString &id, const std::function<void(const Result<Job> &, bool)> &answerAll);
    void takeBack(Job &job, const QString &reason);
    void onBackendDown(const QString &backend);
    void onSuperseded(const QString &backend, const QString &promptId); // a prompt taken back ran there anyway
    void cancelAttempt(Job &job);
    bool attemptUses(const QString &promptId) const; // a current attempt, or any job's later one, has this id
    static Error noBackendError(const RouteDecision &decision);

    void onEventOf(Job &job, const protocol::ComfyEvent &event);
    // jobeta.cpp: the estimates.
    void estimateRunning(Job &job);
    void estimateWaiting(); // every job that waits (in the runner or inside a ComfyUI)
    void onStep(Job &job, const JobProgress &step);
    void recordFinished(const Job &job); // a final job: its duration joins the history
    void markRunning(Job &job);
    void prune();                        // one bounded batch; schedules the next when more is due
    void persist(Job &job);              // stores a change and bumps its revision
    void storeFailed(const QString &id); // a write of that job failed: retried (reconnecting) with backoff
    void retryStore();                   // the store is away: probe, reconnect, then writeUnsaved()
    void reconnectStore();               // (blocks while libpq connects)
    void writeUnsaved();
    void onRunTimeExceeded(const QString &id);
    // jobcluster.cpp
    void listenCluster();
    void setOwnership(Job &job); // remote and liveUrl from job.node
    void clusterTick();          // leases, the runner's row, take-overs, cancels, the mirror's check
    void onClusterReconnected();
    void refreshMirror();                        // reads the rows of m_toFetch
    bool applyRow(const ClusterStore::Row &row); // true when the cluster's queue changed
    bool applyGone(const QString &id);           // its row is gone (pruned, or a refused submission)
    void forgetLocally(const QString &id);       // out of every index, nothing written
    void lostOwnership(const QString &id);       // another runner took it over
    bool claim(const QString &id);               // a waiting job becomes this runner's
    void takeOverExpired();
    void processCancels();
    Status cancelRemote(Job &job);
    const Job *fetchUnknown(const QString &id) const; // a job not mirrored yet (a copy, mirrored soon)
    bool mirrorNow(const QString &id);                // reads that job's row into the mirror now
    void scheduleFetch(const QString &id);
    void forget(const QString &id); // a submission ComfyUI refused: no trace left

    std::unique_ptr<BackendPool> m_ownedPool;
    BackendPool *m_pool;
    JobStore *m_store;
    QHash<QString, QString> m_byPrompt;   // prompt id of a current attempt -> job id
    QHash<QString, QString> m_oldPrompts; // prompt id of an attempt taken back -> job id (late events ignored)
    QStringList m_waiting;                // the runner's queue: priority (higher first), then FIFO
    QHash<QString, JobNeeds> m_needs;     // what each unfinished job asks of a backend
    QHash<QString, quint64> m_seq;        // arrival order (FIFO within a priority)
    quint64 m_nextSeq = 0;
    int m_roundRobin = 0;
    bool m_dispatching = false;
    bool m_dispatchAgain = false;
    bool m_dispatchScheduled = false;
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
    QSet<QString> m_unsaved; // jobs whose last write failed: written again when the store is back
    QTimer m_storeRetry;
    int m_storeBackoffMs = 0;
    std::unique_ptr<ClusterStore> m_cluster;
    QString m_liveUrl;
    QHash<QString, QString> m_liveUrls; // node -> its live URL
    QTimer m_clusterTick;
    QTimer m_fetchTimer;
    QSet<QString> m_toFetch;   // job ids whose rows changed (NOTIFY): read in one query
    mutable Job m_fetched;     // fetchUnknown()'s answer
    QSet<QString> m_takenOver; // followed after another runner's lease ended: a lost prompt is run again
    bool m_cancelsScheduled = false;
    QHash<QString, QList<Answer>> m_remoteDuplicates; // job id (unpublished, another runner's) -> waiting
    EtaEstimator m_eta;
    QHash<QString, EtaEstimator::Cadence> m_cadence; // running jobs' sampler steps
};

} // namespace cr
