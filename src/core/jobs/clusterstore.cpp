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

bool ClusterStore::failed_(const QString &what, const QSqlQuery &q) const
{
    const QString why = q.lastError().text();
    qCWarning(lcJobStore).noquote() << "cluster: cannot" << what << ":" << why;
    m_store->noteFailure(why); // a lost connection: reconnected with backoff, LISTEN renewed
    return false;
}

std::optional<Job> ClusterStore::claim(const QString &id, bool *failed)
{
    if (failed)
        *failed = !m_store->isAvailable();
    if (!m_store->isAvailable())
        return std::nullopt;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("UPDATE jobs SET owner = ?, lease_until = %1, published = true WHERE id = "
                             "(SELECT id FROM jobs WHERE id = ? AND owner IS NULL AND state = 'queued' "
                             "FOR UPDATE SKIP LOCKED) RETURNING data, graph, owner")
                  .arg(lease()));
    q.addBindValue(node());
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(id);
    if (!q.exec()) {
        if (failed)
            *failed = true;
        failed_(QStringLiteral("claim job %1").arg(id), q);
        return std::nullopt;
    }
    return q.next() ? JobStore::jobFromRow(q) : std::nullopt;
}

QList<Job> ClusterStore::takeOver(const QStringList &backendUrls, int limit)
{
    QList<Job> out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
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
        failed_(QStringLiteral("take jobs over"), q);
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
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("UPDATE jobs SET lease_until = %1 WHERE owner = ? AND state IN ('queued', 'running')")
                  .arg(lease()));
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(node());
    return q.exec() || failed_(QStringLiteral("renew its leases"), q);
}

bool ClusterStore::publishOwn()
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("UPDATE jobs SET published = true WHERE owner = ? AND NOT published"));
    q.addBindValue(node());
    return q.exec() || failed_(QStringLiteral("publish its jobs"), q);
}

bool ClusterStore::adoptUnowned(const QString &id)
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("UPDATE jobs SET owner = ?, lease_until = %1 WHERE id = ? AND owner IS NULL RETURNING id")
                  .arg(lease()));
    q.addBindValue(node());
    q.addBindValue(m_store->leaseMs());
    q.addBindValue(id);
    if (!q.exec())
        return failed_(QStringLiteral("adopt job %1").arg(id), q);
    return q.next();
}

bool ClusterStore::announce(const QString &liveUrl)
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("INSERT INTO runners (node, live_url, seen_at) VALUES (?, ?, now()) ON CONFLICT (node) "
                             "DO UPDATE SET live_url = excluded.live_url, seen_at = excluded.seen_at"));
    q.addBindValue(node());
    q.addBindValue(liveUrl);
    return q.exec() || failed_(QStringLiteral("announce this runner"), q);
}

QHash<QString, QString> ClusterStore::liveUrls() const
{
    QHash<QString, QString> out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    // Runners seen within three leases: the live ones (a runner renews its row every lease / 3).
    q.prepare(QStringLiteral("SELECT node, live_url FROM runners WHERE seen_at > now() - 3 * ?::integer * interval "
                             "'1 millisecond'"));
    q.addBindValue(m_store->leaseMs());
    if (q.exec())
        while (q.next())
            out.insert(q.value(0).toString(), q.value(1).toString());
    return out;
}

bool ClusterStore::requestCancel(const QString &jobId)
{
    if (!m_store->isAvailable())
        return false;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(
        QStringLiteral("INSERT INTO job_cancels (job_id, by_node) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING"));
    q.addBindValue(jobId);
    q.addBindValue(node());
    return q.exec() || failed_(QStringLiteral("record a cancel request"), q);
}

QStringList ClusterStore::takeCancels()
{
    QStringList out;
    if (!m_store->isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
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
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.setForwardOnly(true);
    // The graph only of a waiting, unclaimed job: the one a runner may claim and hand over.
    q.prepare(QStringLiteral("SELECT data, CASE WHEN owner IS NULL AND state = 'queued' THEN graph END, "
                             "COALESCE(owner, ''), seq, published FROM jobs WHERE id = ANY(string_to_array(?, ' '))"));
    q.addBindValue(ids.join(QLatin1Char(' ')));
    if (!(*ok = q.exec())) {
        failed_(QStringLiteral("read jobs"), q);
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
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.setForwardOnly(true);
    *ok = q.exec(QStringLiteral("SELECT id, state || ' ' || COALESCE(owner, '') FROM jobs "
                                "WHERE state IN ('queued', 'running') AND published"));
    while (*ok && q.next())
        out.insert(q.value(0).toString(), q.value(1).toString());
    return out;
}

std::optional<Job> ClusterStore::findByClientRef(const QString &clientRef, bool *published) const
{
    if (!m_store->isAvailable())
        return std::nullopt;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("SELECT %1 FROM jobs WHERE client_ref = ?").arg(QLatin1String(kRowColumns)));
    q.addBindValue(clientRef);
    if (!q.exec() || !q.next())
        return std::nullopt;
    if (published)
        *published = q.value(4).toBool();
    return JobStore::jobFromRow(q);
}

std::optional<ExpiredJob> ClusterStore::findExpired(const QString &id) const
{
    if (!m_store->isAvailable())
        return std::nullopt;
    QSqlQuery q(QSqlDatabase::database(m_store->connectionName(), false));
    q.prepare(QStringLiteral("SELECT id, client_ref, pruned_at FROM expired_jobs WHERE id = ?"));
    q.addBindValue(id);
    if (!q.exec() || !q.next())
        return std::nullopt;
    return ExpiredJob{q.value(0).toString(), q.value(1).toString(),
                      QDateTime::fromString(q.value(2).toString(), Qt::ISODateWithMs)};
}

bool ClusterStore::listen(QObject *context, std::function<void(const QString &)> onJob,
                          std::function<void(const QString &)> onCancel)
{
    QSqlDriver *driver = QSqlDatabase::database(m_store->connectionName(), false).driver();
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
