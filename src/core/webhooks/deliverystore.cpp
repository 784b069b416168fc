#include "core/webhooks/deliverystore.h"

#include "core/webhooks/webhookslog.h"

#include <QDateTime>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QVariant>

namespace cr {

namespace {

const QString kColumns
    = QStringLiteral("id, job_id, event, url, state, attempts, max_attempts, last_status, last_error, "
                     "created_at, last_attempt_at, next_at, finished_at");

QString iso(qint64 ms) { return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs); }
QDateTime fromIso(const QVariant &v)
{
    return v.isNull() ? QDateTime() : QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

} // namespace

WebhookDeliveryStore::WebhookDeliveryStore(QString connection) : m_connection(std::move(connection))
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (q.exec(QStringLiteral("SELECT MAX(seq) FROM webhook_deliveries")) && q.next())
        m_seq = q.value(0).toLongLong();
}

WebhookDeliveryRecord WebhookDeliveryStore::record(const QSqlQuery &q)
{
    WebhookDeliveryRecord r;
    r.id = q.value(0).toString();
    r.jobId = q.value(1).toString();
    r.event = q.value(2).toString();
    r.url = q.value(3).toString();
    r.state = q.value(4).toString();
    r.attempts = q.value(5).toInt();
    r.maxAttempts = q.value(6).toInt();
    r.lastStatus = q.value(7).isNull() ? 0 : q.value(7).toInt();
    r.lastError = q.value(8).toString();
    r.createdAt = fromIso(q.value(9));
    r.lastAttemptAt = fromIso(q.value(10));
    if (r.state == QLatin1String("pending"))
        r.nextAttemptAt = QDateTime::fromMSecsSinceEpoch(q.value(11).toLongLong(), Qt::UTC);
    r.finishedAt = fromIso(q.value(12));
    return r;
}

QString WebhookDeliveryStore::add(const NewDelivery &d, qint64 nowMs)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery q(db);
    if (d.event == QLatin1String("job_progress")) {
        q.prepare(QStringLiteral("SELECT id FROM webhook_deliveries WHERE job_id = ? AND event = ? AND url = ? "
                                 "AND state = 'pending' AND attempts = 0"));
        q.addBindValue(d.jobId);
        q.addBindValue(d.event);
        q.addBindValue(d.url);
        if (q.exec() && q.next()) {
            const QString id = q.value(0).toString();
            QSqlQuery u(db);
            u.prepare(QStringLiteral("UPDATE webhook_deliveries SET body = ? WHERE id = ?"));
            u.addBindValue(QString::fromUtf8(d.body));
            u.addBindValue(id);
            if (u.exec())
                return id;
        }
    }
    const QString id = QStringLiteral("msg_") + QUuid::createUuid().toString(QUuid::Id128);
    q.prepare(QStringLiteral("INSERT INTO webhook_deliveries (id, seq, job_id, event, url, body, state, attempts, "
                             "max_attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)"));
    q.addBindValue(id);
    q.addBindValue(++m_seq);
    q.addBindValue(d.jobId);
    q.addBindValue(d.event);
    q.addBindValue(d.url);
    q.addBindValue(QString::fromUtf8(d.body));
    q.addBindValue(d.maxAttempts);
    q.addBindValue(nowMs);
    q.addBindValue(iso(nowMs));
    if (!q.exec()) {
        qCWarning(lcWebhooks).noquote() << "cannot store a delivery of job" << d.jobId << ":" << q.lastError().text();
        return {};
    }
    return id;
}

QList<DueDelivery> WebhookDeliveryStore::takeDue(qint64 nowMs, int limit, qint64 leaseMs)
{
    QList<DueDelivery> out;
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    // One transaction: on PostgreSQL the rows are locked (SKIP LOCKED), so that runners sharing the database
    // never lease the same delivery twice.
    const bool postgres = db.driverName() == QLatin1String("QPSQL");
    db.transaction();
    QSqlQuery q(db);
    q.prepare(QStringLiteral("SELECT id, job_id, event, url, body, attempts, max_attempts FROM webhook_deliveries "
                             "WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, seq LIMIT ?")
              + (postgres ? QStringLiteral(" FOR UPDATE SKIP LOCKED") : QString()));
    q.addBindValue(nowMs);
    q.addBindValue(limit);
    if (!q.exec()) {
        db.rollback();
        return out;
    }
    while (q.next())
        out.append({q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
                    q.value(4).toString().toUtf8(), q.value(5).toInt() + 1, q.value(6).toInt()});
    q.finish();
    if (out.isEmpty()) {
        db.rollback();
        return out;
    }
    QSqlQuery lease(db);
    lease.prepare(
        QStringLiteral("UPDATE webhook_deliveries SET attempts = ?, next_at = ?, last_attempt_at = ? WHERE id = ?"));
    for (const DueDelivery &d : std::as_const(out)) {
        lease.addBindValue(d.attempt);
        lease.addBindValue(nowMs + leaseMs);
        lease.addBindValue(iso(nowMs));
        lease.addBindValue(d.id);
        lease.exec();
    }
    if (!db.commit()) {
        qCWarning(lcWebhooks).noquote() << "cannot lease deliveries:" << db.lastError().text();
        db.rollback();
        return {};
    }
    return out;
}

bool WebhookDeliveryStore::finishAttempt(const QString &id, const QString &state, int status, const QString &error,
                                         qint64 nextAtMs)
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("UPDATE webhook_deliveries SET state = ?, last_status = ?, last_error = ?, next_at = ?, "
                             "finished_at = ? WHERE id = ?"));
    q.addBindValue(state);
    q.addBindValue(status > 0 ? QVariant(status) : QVariant(QMetaType(QMetaType::Int)));
    q.addBindValue(error.isEmpty() ? QVariant(QMetaType(QMetaType::QString)) : QVariant(error));
    q.addBindValue(nextAtMs);
    q.addBindValue(state == QLatin1String("pending") ? QVariant(QMetaType(QMetaType::QString))
                                                     : QVariant(iso(QDateTime::currentMSecsSinceEpoch())));
    q.addBindValue(id);
    if (!q.exec()) {
        qCWarning(lcWebhooks).noquote() << "cannot record the attempt of delivery" << id << ":" << q.lastError().text();
        return false;
    }
    return true;
}

std::optional<qint64> WebhookDeliveryStore::nextDueAt() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (q.exec(QStringLiteral("SELECT MIN(next_at) FROM webhook_deliveries WHERE state = 'pending'")) && q.next()
        && !q.value(0).isNull())
        return q.value(0).toLongLong();
    return std::nullopt;
}

std::optional<WebhookDeliveryRecord> WebhookDeliveryStore::find(const QString &id) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("SELECT %1 FROM webhook_deliveries WHERE id = ?").arg(kColumns));
    q.addBindValue(id);
    if (q.exec() && q.next())
        return record(q);
    return std::nullopt;
}

QList<WebhookDeliveryRecord> WebhookDeliveryStore::ofJob(const QString &jobId, int limit) const
{
    QList<WebhookDeliveryRecord> out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(
        QStringLiteral("SELECT %1 FROM webhook_deliveries WHERE job_id = ? ORDER BY seq DESC LIMIT ?").arg(kColumns));
    q.addBindValue(jobId);
    q.addBindValue(limit);
    if (q.exec())
        while (q.next())
            out.prepend(record(q));
    return out;
}

DeliveryPage WebhookDeliveryStore::list(const DeliveryFilter &f) const
{
    DeliveryPage page;
    QString where = QStringLiteral(" WHERE 1 = 1");
    QVariantList binds;
    if (!f.state.isEmpty()) {
        where += QStringLiteral(" AND state = ?");
        binds << f.state;
    }
    if (!f.jobId.isEmpty()) {
        where += QStringLiteral(" AND job_id = ?");
        binds << f.jobId;
    }
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery count(db);
    count.prepare(QStringLiteral("SELECT COUNT(*) FROM webhook_deliveries") + where);
    for (const QVariant &b : std::as_const(binds))
        count.addBindValue(b);
    if (count.exec() && count.next())
        page.total = count.value(0).toInt();
    QSqlQuery q(db);
    q.prepare(
        QStringLiteral("SELECT %1 FROM webhook_deliveries%2 ORDER BY seq DESC LIMIT ? OFFSET ?").arg(kColumns, where));
    for (const QVariant &b : std::as_const(binds))
        q.addBindValue(b);
    q.addBindValue(f.limit);
    q.addBindValue(f.offset);
    if (q.exec())
        while (q.next())
            page.deliveries.append(record(q));
    return page;
}

QHash<QString, int> WebhookDeliveryStore::countByState() const
{
    QHash<QString, int> out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (q.exec(QStringLiteral("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state")))
        while (q.next())
            out.insert(q.value(0).toString(), q.value(1).toInt());
    return out;
}

bool WebhookDeliveryStore::redeliver(const QString &id, qint64 nowMs, int extraAttempts)
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(QStringLiteral("UPDATE webhook_deliveries SET state = 'pending', next_at = ?, "
                             "max_attempts = attempts + ?, finished_at = NULL WHERE id = ?"));
    q.addBindValue(nowMs);
    q.addBindValue(extraAttempts);
    q.addBindValue(id);
    return q.exec() && q.numRowsAffected() > 0;
}

void WebhookDeliveryStore::removeFinishedOf(const QStringList &jobIds)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    db.transaction();
    QSqlQuery q(db);
    q.prepare(QStringLiteral("DELETE FROM webhook_deliveries WHERE job_id = ? AND state <> 'pending'"));
    for (const QString &id : jobIds) {
        q.addBindValue(id);
        q.exec();
    }
    db.commit();
}

int WebhookDeliveryStore::removeFinishedOfGoneJobs()
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (!q.exec(QStringLiteral("DELETE FROM webhook_deliveries WHERE state <> 'pending' "
                               "AND job_id NOT IN (SELECT id FROM jobs)")))
        return 0;
    return q.numRowsAffected();
}

} // namespace cr
