#include "core/api/jobwaiter.h"
#include "core/api/apilog.h"

#include "core/jobs/jobmanager.h"

#include <QTcpSocket>
#include <QTimer>

namespace cr {

JobWaiter::JobWaiter(JobManager *jobs, QObject *parent) : QObject(parent), m_jobs(jobs)
{
    connect(m_jobs, &JobManager::jobFinished, this, &JobWaiter::onJobFinished);
}

JobWaiter::~JobWaiter()
{
    const auto keys = m_waiters.keys();
    for (quint64 k : keys)
        drop(k);
}

void JobWaiter::wait(const QString &jobId, ApiReply reply, int timeoutMs, Done done, Done expired)
{
    if (const Job *job = m_jobs->find(jobId); job && job->isFinished()) {
        done(*job, reply);
        return;
    }
    QTcpSocket *socket = reply.socket();
    if (!socket || !reply.isOpen())
        return; // nobody to answer; the job goes on
    const quint64 key = m_next++;
    Waiter w;
    w.jobId = jobId;
    w.reply = reply;
    w.done = std::move(done);
    w.expired = std::move(expired);
    w.timer = new QTimer(this);
    w.timer->setSingleShot(true);
    connect(w.timer, &QTimer::timeout, this, [this, key] {
        auto it = m_waiters.find(key);
        if (it == m_waiters.end())
            return;
        const QString id = it->jobId;
        ApiReply r = it->reply;
        const Done expired = it->expired;
        drop(key);
        if (const Job *job = m_jobs->find(id); job && expired)
            return expired(*job, r);
        r.error(Error::make(ErrorCode::WaitTimeout, QStringLiteral("job %1 is still running; poll its URL").arg(id),
                            {{QStringLiteral("job_id"), id},
                             {QStringLiteral("url"), QStringLiteral("/api/v1/jobs/%1").arg(id)}}),
                {{"Location", QStringLiteral("/api/v1/jobs/%1").arg(id).toUtf8()}});
    });
    w.gone = connect(socket, &QAbstractSocket::disconnected, this, [this, key, jobId] {
        qCInfo(lcApi).noquote() << "client waiting for job" << jobId << "left; the job goes on";
        drop(key);
    });
    w.timer->start(qMax(1, timeoutMs));
    m_waiters.insert(key, std::move(w));
}

void JobWaiter::drop(quint64 key)
{
    auto it = m_waiters.find(key);
    if (it == m_waiters.end())
        return;
    disconnect(it->gone);
    it->timer->deleteLater();
    m_waiters.erase(it);
}

void JobWaiter::onJobFinished(const Job &job)
{
    QList<quint64> keys;
    for (auto it = m_waiters.cbegin(); it != m_waiters.cend(); ++it) {
        if (it->jobId == job.id)
            keys.append(it.key());
    }
    for (quint64 k : keys) {
        Waiter w = m_waiters.value(k);
        drop(k);
        w.done(job, w.reply);
    }
}

} // namespace cr
