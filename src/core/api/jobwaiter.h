#pragma once
// Parks requests that wait for a job to end (GET /queue, POST /api/v1/jobs with "wait") and answers them from
// JobManager::jobFinished. Each wait is bounded (the caller's answer, or 504 wait_timeout naming the job so the
// client can poll); a
// client that disconnects is simply forgotten: the job itself goes on.

#include "core/api/apiexchange.h"
#include "core/jobs/job.h"

#include <QHash>
#include <QObject>

#include <functional>

class QTimer;

namespace cr {

class JobManager;

class JobWaiter final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobWaiter)

public:
    using Done = std::function<void(const Job &job, ApiReply reply)>;

    explicit JobWaiter(JobManager *jobs, QObject *parent = nullptr);
    ~JobWaiter() override;

    // Calls done(job, reply) when the job is final (at once when it already is). When timeoutMs runs out first,
    // expired(job as it is, reply) answers; without it (or when the job is gone) the answer is 504 wait_timeout.
    void wait(const QString &jobId, ApiReply reply, int timeoutMs, Done done, Done expired = {});
    int waitingCount() const { return int(m_waiters.size()); }

private:
    struct Waiter {
        QString jobId;
        ApiReply reply;
        Done done;
        Done expired;
        QTimer *timer = nullptr;
        QMetaObject::Connection gone;
    };
    void onJobFinished(const Job &job);
    void drop(quint64 key);

    JobManager *m_jobs;
    QHash<quint64, Waiter> m_waiters;
    quint64 m_next = 1;
};

} // namespace cr
