#pragma once
// The SQL of a cluster: several runners sharing one PostgreSQL job store (docs/cluster.md). It works on the
// JobStore's connection and schema (version 3: owner, lease_until, job_cancels, runners, the NOTIFY
// triggers) and holds no state of its own; the JobManager decides (jobcluster.cpp).
// Every statement is short: a claim or a take-over is one UPDATE over rows locked with FOR UPDATE SKIP
// LOCKED, so runners never wait for each other, and no transaction is ever open while ComfyUI is asked.

#include "core/jobs/jobstore.h"

#include <QHash>
#include <QObject>
#include <QSqlQuery>
#include <QStringList>

#include <functional>
#include <optional>

namespace cr {

class ClusterStore final
{
    Q_DISABLE_COPY_MOVE(ClusterStore)

public:
    explicit ClusterStore(JobStore *store); // in cluster mode (JobStore::setCluster); not owned

    QString node() const { return m_store->node(); }

    // A waiting job (state queued, no owner) becomes this runner's: the row with its graph, or nothing when
    // another runner claimed it first (or it ended) or the store failed (`*failed` set).
    std::optional<Job> claim(const QString &id, bool *failed = nullptr);
    // Unfinished jobs of other runners whose lease ended, on a backend this runner reaches (its URL in
    // `backendUrls`) or on none (claimed, not handed over yet): this runner's now, with their graphs.
    QList<Job> takeOver(const QStringList &backendUrls, int limit);
    bool renewLeases(); // of every unfinished job this runner owns
    // At start: this runner's rows that a crash left unpublished are published (it follows them again), and a
    // handed-over job without an owner (a store written before clusters) becomes this runner's if no other
    // runner claimed it first: true when it is this runner's now.
    bool publishOwn();
    bool adoptUnowned(const QString &id);
    // This runner's row in `runners` (its live URL, renewed with the leases); every runner's live URL.
    bool announce(const QString &liveUrl);
    QHash<QString, QString> liveUrls() const; // of the runners seen within three leases

    // A cancel for a job another runner owns: a row in job_cancels, NOTIFY cr_cancels.
    bool requestCancel(const QString &jobId);
    // The cancel requests for this runner's jobs, removed as they are taken (and those of ended jobs).
    QStringList takeCancels();

    struct Row {
        Job job;        // with its graph while it waits unclaimed (a claim needs it), else without
        qint64 seq = 0; // arrival order in the cluster
        bool published = true;
    };
    // The rows of these jobs (missing ones are left out); `*ok` false when the store failed.
    QList<Row> fetch(const QStringList &ids, bool *ok) const;
    // Every unfinished row: id -> "state owner" (the periodic check that no NOTIFY was missed).
    QHash<QString, QString> unfinished(bool *ok) const;
    // The job of that client_ref; `published` false: its runner still waits for ComfyUI's answer.
    std::optional<Job> findByClientRef(const QString &clientRef, bool *published = nullptr) const;
    std::optional<ExpiredJob> findExpired(const QString &id) const;

    // LISTEN cr_jobs and cr_cancels on the store's connection (again after every reconnect); `onJob` and
    // `onCancel` get the job id of every notification of another session.
    bool listen(QObject *context, std::function<void(const QString &)> onJob,
                std::function<void(const QString &)> onCancel);

private:
    bool failed_(const QString &what, const QSqlQuery &q) const; // logged, the connection checked; false

    JobStore *m_store;
    QMetaObject::Connection m_notifications;
};

} // namespace cr
