// The JobManager's writes to the job store: a job's state changes (persist), and what happens while the
// store cannot take them: the jobs go on, their changes are kept, and the store is reconnected with backoff
// (over TCP only once the database's port answers), then every job that changed meanwhile is written.

#include "core/jobs/jobmanager.h"

#include <QLoggingCategory>
#include <QTcpSocket>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(lcJobs)

namespace cr {

namespace {
constexpr int kStoreRetryFirstMs = 200;  // a failed store write is retried after this, doubling ...
constexpr int kStoreRetryMaxMs = 10'000; // ... up to this
constexpr int kStoreProbeMs = 3000;      // how long the database's port may take to answer a probe
} // namespace

// A state change of a stored job (the graph was written once, at creation). Progress is never written: a
// restarted service learns it again from ComfyUI.
void JobManager::persist(Job &job)
{
    ++job.revision;
    if (!m_store)
        return;
    if (job.remote)
        return; // another runner's (a mirror is never written)
    if (const StoreResult r = m_store->update(job); r)
        m_unsaved.remove(job.id);
    else if (r.error().is(ErrorCode::JobConflict))
        lostOwnership(job.id); // taken over by another runner while this one could not renew its lease
    else
        storeFailed(job.id); // the job goes on (ComfyUI has it or will); written again when the store is back
}

QString JobManager::storeProblem() const { return m_store && !m_store->isAvailable() ? m_store->problem() : QString(); }

void JobManager::storeFailed(const QString &id)
{
    if (!id.isEmpty())
        m_unsaved.insert(id);
    if (m_storeRetry.isActive())
        return;
    m_storeBackoffMs = m_storeBackoffMs == 0 ? kStoreRetryFirstMs : qMin(kStoreRetryMaxMs, m_storeBackoffMs * 2);
    m_storeRetry.start(m_storeBackoffMs);
}

void JobManager::retryStore()
{
    if (m_store->isAvailable())
        return writeUnsaved();
    // reconnect() holds the event loop while libpq connects: over TCP it is tried only once the database's
    // port answers, which a socket finds out without blocking (a host that drops packets costs nothing).
    const StoreUrl &url = m_store->url();
    if (url.engine != StoreUrl::Engine::Postgres || url.host.isEmpty() || url.host.startsWith(QLatin1Char('/')))
        return reconnectStore();
    auto *probe = new QTcpSocket(this);
    auto *deadline = new QTimer(probe);
    deadline->setSingleShot(true);
    const auto done = [this, probe](bool reachable) {
        if (probe->property("done").toBool())
            return;
        probe->setProperty("done", true);
        probe->deleteLater();
        if (reachable)
            reconnectStore();
        else
            storeFailed({});
    };
    connect(probe, &QTcpSocket::connected, this, [done] { done(true); });
    connect(probe, &QTcpSocket::errorOccurred, this, [done] { done(false); });
    connect(deadline, &QTimer::timeout, this, [done] { done(false); });
    deadline->start(kStoreProbeMs);
    probe->connectToHost(url.host, quint16(url.port));
}

void JobManager::reconnectStore()
{
    if (!m_store->reconnect())
        return storeFailed({});
    writeUnsaved();
    if (m_cluster)
        onClusterReconnected(); // LISTEN again, and catch up with what changed meanwhile
}

void JobManager::writeUnsaved()
{
    const QSet<QString> unsaved = std::exchange(m_unsaved, {});
    int written = 0;
    for (const QString &id : unsaved) {
        auto it = m_jobs.find(id);
        if (it == m_jobs.end() || m_unacknowledged.contains(id))
            continue; // pruned (or refused) meanwhile
        if (const StoreResult r = m_store->update(*it); !r) {
            if (r.error().is(ErrorCode::JobConflict)) {
                lostOwnership(id);
                continue;
            }
            m_unsaved.unite(unsaved);
            storeFailed({});
            return;
        }
        ++written;
    }
    m_storeBackoffMs = 0;
    if (!unsaved.isEmpty() || written > 0)
        qCInfo(lcJobs) << "the job store takes writes again;" << written << "job(s) written that had changed meanwhile";
}

} // namespace cr
