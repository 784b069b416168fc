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
        query = std::make_unique<QSqlQuery>(QSqlDatabase::database(m_connection));
        query->prepare(sql);
    }
    return *query;
}

StoreResult JobStore::create(const Job &job)
{
    if (!isAvailable())
        return failure(QStringLiteral("save job %1").arg(job.id), problem());
    QSqlQuery &q = prepared(m_insert,
                            QStringLiteral("INSERT INTO jobs (id, created_at, state, data, graph) "
                                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                                           "created_at = excluded.created_at, state = excluded.state, "
                                           "data = excluded.data, graph = excluded.graph"));
    q.addBindValue(job.id);
    q.addBindValue(job.createdAt.toUTC().toString(Qt::ISODateWithMs));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    q.addBindValue(compact(job.graph));
    if (!q.exec())
        return failure(QStringLiteral("save job %1").arg(job.id), q.lastError().text());
    return std::monostate{};
}

StoreResult JobStore::update(const Job &job)
{
    if (!isAvailable())
        return failure(QStringLiteral("update job %1").arg(job.id), problem());
    QSqlQuery &q = prepared(m_update, QStringLiteral("UPDATE jobs SET state = ?, data = ? WHERE id = ?"));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    q.addBindValue(job.id);
    if (!q.exec())
        return failure(QStringLiteral("update job %1").arg(job.id), q.lastError().text());
    if (q.numRowsAffected() > 0)
        return std::monostate{};
    return create(job);
}

StoreResult JobStore::remove(const QString &jobId)
{
    if (!isAvailable())
        return failure(QStringLiteral("remove job %1").arg(jobId), problem());
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    q.addBindValue(jobId);
    if (!q.exec())
        return failure(QStringLiteral("remove job %1").arg(jobId), q.lastError().text());
    return std::monostate{};
}

StoreResult JobStore::prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired)
{
    const QString what = QStringLiteral("prune %1 job(s)").arg(jobIds.size());
    if (!isAvailable())
        return failure(what, problem());
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    if (!db.transaction())
        return failure(what, db.lastError().text());
    QSqlQuery del(db), add(db), trim(db);
    del.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
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
    QSqlQuery q(QSqlDatabase::database(m_connection));
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

QList<Job> JobStore::loadAll() const
{
    QList<Job> jobs;
    if (!isAvailable())
        return jobs;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.setForwardOnly(true);
    if (!q.exec(QStringLiteral("SELECT data, graph FROM jobs ORDER BY created_at, %1").arg(tieColumn()))) {
        qCWarning(lcJobStore).noquote() << "cannot read the stored jobs:" << q.lastError().text();
        return jobs;
    }
    while (q.next()) {
        QJsonObject o = QJsonDocument::fromJson(q.value(0).toString().toUtf8()).object();
        if (!q.value(1).isNull())
            o.insert(QLatin1String("graph"), QJsonDocument::fromJson(q.value(1).toString().toUtf8()).object());
        if (std::optional<Job> j = fromJson(o))
            jobs.append(*j);
        else
            qCWarning(lcJobStore) << "skipped an unreadable job row";
    }
    return jobs;
}

} // namespace cr
