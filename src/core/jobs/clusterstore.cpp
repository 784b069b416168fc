#include "core/jobs/clusterstore.h"

#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>

Q_DECLARE_LOGGING_CATEGORY(lcJobStore)

namespace cr {

namespace {

constexpr auto kJobChannel = "cr_jobs";
constexpr auto kCancelChannel = "cr_cancels";

// The columns jobFromRow() reads, then seq and published.
constexpr auto kRowColumns = "data, graph, COALESCE(owner, ''), seq, published";

QString lease() { return QStringLiteral("now() + ?::integer * interval '1 millisecond'"); }

} // namespace

ClusterStore::ClusterStore(JobStore *store) : m_store(store) { }

std::optional<Job> ClusterStore::claim(const QString &id, bool *failed)
{
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("UPDATE jobs SET owner = ?, lease_until = %1, published = true WHERE id = "
                             "(SELECT id FROM jobs WHERE id = ? AND owner IS NULL AND state = 'queued' "
                             "FOR UPDATE SKIP LOCKED) RETURNING data, graph, owner")
                  .arg(lease()));
    q.addBindValue(node());
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(id);
    const bool ok = m_store->isAvailable() && q.exec();
    if (failed)
        *failed = !ok;
    if (!ok) {
        qCWarning(lcJobStore).noquote() << "cluster: cannot claim job" << id << ":" << q.lastError().text();
        return std::nullopt;
    }
    return q.next() ? JobStore::jobFromRow(q) : std::nullopt;
}

QList<Job> ClusterStore::takeOver(const QStringList &backendUrls, int limit)
{
    QList<Job> out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("UPDATE jobs SET owner = ?, lease_until = %1, published = true WHERE id IN "
                             "(SELECT id FROM jobs WHERE state IN ('queued', 'running') AND owner IS NOT NULL "
                             "AND owner <> ? AND lease_until < now() AND (backend_url IS NULL OR backend_url = "
                             "ANY(string_to_array(?, ' '))) ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED) "
                             "RETURNING data, graph, owner")
                  .arg(lease()));
    q.addBindValue(node());
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(node());
    q.addBindValue(backendUrls.join(QLatin1Char(' ')));
    q.addBindValue(limit);
    if (!q.exec()) {
        qCWarning(lcJobStore).noquote() << "cluster: cannot take over jobs:" << q.lastError().text();
        return out;
    }
    while (q.next())
        if (std::optional<Job> j = JobStore::jobFromRow(q))
            out.append(*j);
    return out;
}

bool ClusterStore::renewLeases()
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("UPDATE jobs SET lease_until = %1 WHERE owner = ? AND state IN ('queued', 'running')")
                  .arg(lease()));
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(node());
    return q.exec();
}

bool ClusterStore::announce(const QString &liveUrl)
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("INSERT INTO runners (node, live_url, seen_at) VALUES (?, ?, now()) ON CONFLICT (node) "
                             "DO UPDATE SET live_url = excluded.live_url, seen_at = excluded.seen_at"));
    q.addBindValue(node());
    q.addBindValue(liveUrl);
    return q.exec();
}

QHash<QString, QString> ClusterStore::liveUrls() const
{
    QHash<QString, QString> out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    if (q.exec(QStringLiteral("SELECT node, live_url FROM runners")))
        while (q.next())
            out.insert(q.value(0).toString(), q.value(1).toString());
    return out;
}

bool ClusterStore::requestCancel(const QString &jobId)
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(
        QStringLiteral("INSERT INTO job_cancels (job_id, by_node) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING"));
    q.addBindValue(jobId);
    q.addBindValue(node());
    return q.exec();
}

QStringList ClusterStore::takeCancels()
{
    QStringList out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("DELETE FROM job_cancels c WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = c.job_id "
                             "AND j.state IN ('queued', 'running') AND (j.owner IS NULL OR j.owner <> ?)) "
                             "RETURNING c.job_id"));
    q.addBindValue(node());
    if (q.exec())
        while (q.next())
            out << q.value(0).toString();
    return out;
}

QList<ClusterStore::Row> ClusterStore::fetch(const QStringList &ids, bool *ok) const
{
    QList<Row> out;
    *ok = m_store->isAvailable();
    if (!*ok || ids.isEmpty())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.setForwardOnly(true);
    // The graph only of a waiting, unclaimed job: the one a runner may claim and hand over.
    q.prepare(QStringLiteral("SELECT data, CASE WHEN owner IS NULL AND state = 'queued' THEN graph END, "
                             "COALESCE(owner, ''), seq, published FROM jobs WHERE id = ANY(string_to_array(?, ' '))"));
    q.addBindValue(ids.join(QLatin1Char(' ')));
    if (!(*ok = q.exec())) {
        qCWarning(lcJobStore).noquote() << "cluster: cannot read jobs:" << q.lastError().text();
        return out;
    }
    while (q.next())
        if (std::optional<Job> j = JobStore::jobFromRow(q))
            out.append({*j, q.value(3).toLongLong(), q.value(4).toBool()});
    return out;
}

QHash<QString, QString> ClusterStore::unfinished(bool *ok) const
{
    QHash<QString, QString> out;
    *ok = m_store->isAvailable();
    if (!*ok)
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.setForwardOnly(true);
    *ok = q.exec(QStringLiteral("SELECT id, state || ' ' || COALESCE(owner, '') FROM jobs "
                                "WHERE state IN ('queued', 'running') AND published"));
    while (*ok && q.next())
        out.insert(q.value(0).toString(), q.value(1).toString());
    return out;
}

std::optional<Job> ClusterStore::findByClientRef(const QString &clientRef) const
{
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("SELECT %1 FROM jobs WHERE client_ref = ?").arg(QLatin1String(kRowColumns)));
    q.addBindValue(clientRef);
    if (!m_store->isAvailable() || !q.exec() || !q.next())
        return std::nullopt;
    return JobStore::jobFromRow(q);
}

std::optional<ExpiredJob> ClusterStore::findExpired(const QString &id) const
{
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName()));
    q.prepare(QStringLiteral("SELECT id, client_ref, pruned_at FROM expired_jobs WHERE id = ?"));
    q.addBindValue(id);
    if (!m_store->isAvailable() || !q.exec() || !q.next())
        return std::nullopt;
    return ExpiredJob{q.value(0).toString(), q.value(1).toString(),
                      QDateTime::fromString(q.value(2).toString(), Qt::ISODateWithMs)};
}

bool ClusterStore::listen(QObject *context, std::function<void(const QString &)> onJob,
                          std::function<void(const QString &)> onCancel)
{
    QSqlDriver *driver = QSqlDatabase::database(m_store->connectionName()).driver();
    if (!driver || !driver->hasFeature(QSqlDriver::EventNotifications))
        return false;
    // A reconnection opened a new session: LISTEN again (the driver keeps the old names otherwise).
    for (const QString &channel : driver->subscribedToNotifications())
        driver->unsubscribeFromNotification(channel);
    const bool ok = driver->subscribeToNotification(QLatin1String(kJobChannel))
        && driver->subscribeToNotification(QLatin1String(kCancelChannel));
    QObject::disconnect(m_notifications);
    m_notifications
        = QObject::connect(driver, &QSqlDriver::notification, context,
                           [onJob = std::move(onJob), onCancel = std::move(onCancel)](
                               const QString &name, QSqlDriver::NotificationSource source, const QVariant &payload) {
                               if (source == QSqlDriver::SelfSource)
                                   return; // this runner's own change: it knows
                               if (name == QLatin1String(kJobChannel))
                                   onJob(payload.toString());
                               else if (name == QLatin1String(kCancelChannel))
                                   onCancel(payload.toString());
                           });
    if (!ok)
        qCWarning(lcJobStore) << "cluster: cannot LISTEN for job changes; the periodic check catches them up";
    return ok;
}

} // namespace cr
