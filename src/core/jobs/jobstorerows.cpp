// JobStore's rows: the same SQL for both engines (upserts are INSERT ... ON CONFLICT on SQLite and PostgreSQL);
// a failed write is an Error, logged here once.

#include "core/jobs/jobstore.h"

#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

Q_DECLARE_LOGGING_CATEGORY(lcJobStore)

namespace cr {

namespace {

QString compact(const QJsonObject &o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

// The data column: the job without its graph (which has a column of its own, written once).
QString dataWithoutGraph(const Job &job)
{
    QJsonObject o = JobStore::toJson(job);
    o.remove(QLatin1String("graph"));
    return compact(o);
}

} // namespace

Error JobStore::failure(const QString &what, const QString &why)
{
    checkConnection(why);
    qCWarning(lcJobStore).noquote() << "job store" << m_url.display() << ": cannot" << what << ":" << why;
    return Error::make(ErrorCode::StoreUnavailable, QStringLiteral("the job store cannot %1: %2").arg(what, why));
}

QSqlQuery &JobStore::prepared(std::unique_ptr<QSqlQuery> &query, const QString &sql)
{
    if (!query) {
        query = std::make_unique<QSqlQuery>(QSqlDatabase::database(m_connection, false));
        query->prepare(sql);
    }
    return *query;
}

namespace {
// The columns every INSERT of a job starts with: id, created_at, state, data, graph.
void bindRow(QSqlQuery &q, const Job &job)
{
    q.addBindValue(job.id);
    q.addBindValue(job.createdAt.toUTC().toString(Qt::ISODateWithMs));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    q.addBindValue(compact(job.graph));
}

// The current attempt's backend URL: where a runner taking the job over must be able to reach.
QString currentBackendUrl(const Job &job)
{
    const JobAttempt *a = job.currentAttempt();
    return a ? a->backendUrl : QString();
}
} // namespace

StoreResult JobStore::create(const Job &job, bool published)
{
    if (!isAvailable())
        return failure(QStringLiteral("save job %1").arg(job.id), problem());
    if (!isCluster()) {
        QSqlQuery &q = prepared(m_insert,
                                QStringLiteral("INSERT INTO jobs (id, created_at, state, data, graph) "
                                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                                               "created_at = excluded.created_at, state = excluded.state, "
                                               "data = excluded.data, graph = excluded.graph"));
        bindRow(q, job);
        if (!q.exec())
            return failure(QStringLiteral("save job %1").arg(job.id), q.lastError().text());
        return std::monostate{};
    }
    // Cluster: a row of the same id is replaced only while this runner owns it.
    QSqlQuery &q = prepared(
        m_insert,
        QStringLiteral(
            "INSERT INTO jobs (id, created_at, state, data, graph, owner, lease_until, priority, client_ref, "
            "backend_url, published) VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), "
            "now() + ?::integer * interval '1 millisecond', ?, COALESCE(?, ''), NULLIF(?, ''), ?::boolean) "
            "ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, state = excluded.state, "
            "data = excluded.data, graph = excluded.graph, owner = excluded.owner, "
            "lease_until = excluded.lease_until, priority = excluded.priority, "
            "backend_url = excluded.backend_url, published = excluded.published WHERE jobs.owner = ? "
            "RETURNING seq"));
    bindRow(q, job);
    q.addBindValue(job.node);
    q.addBindValue(m_leaseMs);
    q.addBindValue(job.priority);
    q.addBindValue(job.clientRef);
    q.addBindValue(currentBackendUrl(job));
    q.addBindValue(published ? QStringLiteral("true") : QStringLiteral("false"));
    q.addBindValue(m_node);
    if (!q.exec()) {
        if (q.lastError().nativeErrorCode() == QLatin1String("23505")) // unique_violation: jobs_client_ref
            return Error::make(ErrorCode::JobConflict,
                               QStringLiteral("client_ref \"%1\" belongs to another job").arg(job.clientRef),
                               {{QStringLiteral("client_ref"), job.clientRef}});
        return failure(QStringLiteral("save job %1").arg(job.id), q.lastError().text());
    }
    if (!q.next())
        return ownerConflict(job);
    m_lastSeq = q.value(0).toLongLong();
    q.finish();
    return std::monostate{};
}

StoreResult JobStore::ownerConflict(const Job &job)
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("SELECT COALESCE(owner, '') FROM jobs WHERE id = ?"));
    q.addBindValue(job.id);
    const QString owner = q.exec() && q.next() ? q.value(0).toString() : QString();
    return Error::make(ErrorCode::JobConflict,
                       QStringLiteral("job %1 is not this runner's any more (%2)")
                           .arg(job.id,
                                owner.isEmpty() ? QStringLiteral("it waits in the cluster's queue")
                                                : QStringLiteral("runner \"%1\" has it").arg(owner)),
                       {{QStringLiteral("job_id"), job.id}, {QStringLiteral("node"), owner}});
}

StoreResult JobStore::update(const Job &job)
{
    if (!isAvailable())
        return failure(QStringLiteral("update job %1").arg(job.id), problem());
    QSqlQuery &q = isCluster()
        ? prepared(m_update,
                   QStringLiteral("UPDATE jobs SET state = ?, data = ?, owner = NULLIF(?, ''), "
                                  "lease_until = now() + ?::integer * interval '1 millisecond', "
                                  "priority = ?, backend_url = NULLIF(?, '') WHERE id = ? AND owner = ?"))
        : prepared(m_update, QStringLiteral("UPDATE jobs SET state = ?, data = ? WHERE id = ?"));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    if (isCluster()) {
        q.addBindValue(job.node);
        q.addBindValue(m_leaseMs);
        q.addBindValue(job.priority);
        q.addBindValue(currentBackendUrl(job));
    }
    q.addBindValue(job.id);
    if (isCluster())
        q.addBindValue(m_node);
    if (!q.exec())
        return failure(QStringLiteral("update job %1").arg(job.id), q.lastError().text());
    if (q.numRowsAffected() > 0)
        return std::monostate{};
    return create(job); // missing (its first write failed), or another runner's (job_conflict)
}

StoreResult JobStore::remove(const QString &jobId)
{
    if (!isAvailable())
        return failure(QStringLiteral("remove job %1").arg(jobId), problem());
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    // Cluster: only a row of this runner's (never one taken over meanwhile).
    q.prepare(isCluster() ? QStringLiteral("DELETE FROM jobs WHERE id = ? AND owner = ?")
                          : QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    q.addBindValue(jobId);
    if (isCluster())
        q.addBindValue(m_node);
    if (!q.exec())
        return failure(QStringLiteral("remove job %1").arg(jobId), q.lastError().text());
    return std::monostate{};
}

StoreResult JobStore::prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired)
{
    const QString what = QStringLiteral("prune %1 job(s)").arg(jobIds.size());
    if (!isAvailable())
        return failure(what, problem());
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction())
        return failure(what, db.lastError().text());
    QSqlQuery del(db), add(db), trim(db);
    // Finished jobs only: a runner whose view of a job is stale (a cluster) never deletes one that runs.
    del.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ? AND state NOT IN ('queued', 'running')"));
    add.prepare(QStringLiteral("INSERT INTO expired_jobs (id, client_ref, pruned_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (id) DO UPDATE SET client_ref = excluded.client_ref, "
                               "pruned_at = excluded.pruned_at"));
    QString why;
    const auto ran = [&why](QSqlQuery &q) {
        if (!why.isEmpty())
            return false;
        if (!q.exec())
            why = q.lastError().text();
        return why.isEmpty();
    };
    for (const QString &id : jobIds) {
        del.addBindValue(id);
        ran(del);
    }
    for (const ExpiredJob &e : expired) {
        add.addBindValue(e.id);
        add.addBindValue(e.clientRef);
        add.addBindValue(e.prunedAt.toUTC().toString(Qt::ISODateWithMs));
        ran(add);
    }
    trim.prepare(QStringLiteral("DELETE FROM expired_jobs WHERE id NOT IN "
                                "(SELECT id FROM expired_jobs ORDER BY pruned_at DESC, %1 DESC LIMIT ?)")
                     .arg(tieColumn()));
    trim.addBindValue(keepExpired);
    ran(trim);
    if (why.isEmpty() && !db.commit())
        why = db.lastError().text();
    if (!why.isEmpty()) {
        db.rollback();
        return failure(what, why);
    }
    return std::monostate{};
}

QList<ExpiredJob> JobStore::loadExpired() const
{
    QList<ExpiredJob> out;
    if (!isAvailable())
        return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.setForwardOnly(true);
    if (!q.exec(QStringLiteral("SELECT id, client_ref, pruned_at FROM expired_jobs ORDER BY pruned_at, %1")
                    .arg(tieColumn()))) {
        qCWarning(lcJobStore).noquote() << "cannot read the expired jobs:" << q.lastError().text();
        return out;
    }
    while (q.next())
        out.append({q.value(0).toString(), q.value(1).toString(),
                    QDateTime::fromString(q.value(2).toString(), Qt::ISODateWithMs)});
    return out;
}

std::optional<Job> JobStore::jobFromRow(const QSqlQuery &row)
{
    QJsonObject o = QJsonDocument::fromJson(row.value(0).toString().toUtf8()).object();
    if (!row.value(1).isNull())
        o.insert(QLatin1String("graph"), QJsonDocument::fromJson(row.value(1).toString().toUtf8()).object());
    std::optional<Job> job = fromJson(o);
    if (job)
        job->node = row.value(2).toString();
    return job;
}

QList<Job> JobStore::loadAll() const
{
    QList<Job> jobs;
    if (!isAvailable())
        return jobs;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.setForwardOnly(true);
    if (!q.exec(QStringLiteral("SELECT data, graph, %1, %2 FROM jobs ORDER BY created_at, %2")
                    .arg(ownerColumn(), tieColumn()))) {
        qCWarning(lcJobStore).noquote() << "cannot read the stored jobs:" << q.lastError().text();
        return jobs;
    }
    while (q.next()) {
        if (std::optional<Job> j = jobFromRow(q)) {
            j->seq = q.value(3).toLongLong();
            jobs.append(*j);
        } else
            qCWarning(lcJobStore) << "skipped an unreadable job row";
    }
    return jobs;
}

} // namespace cr
