#pragma once
// The durable webhook queue: one row per delivery (an event of a job for one URL) in the job store's own
// database (table webhook_deliveries, created by JobStore's migration step 3; portable SQL). Nothing of a
// pending delivery is kept in memory: the dispatcher takes the due rows it has room for, a few at a time.
// Taking a row leases it (attempts + 1, next attempt pushed past the attempt's time bound), so a process
// that dies mid-attempt has the row due again after a restart.

#include "protocol/webhookdelivery.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>

#include <optional>

class QSqlQuery;

namespace cr {

using protocol::WebhookDeliveryRecord;

struct NewDelivery {
    QString jobId;
    QString event;
    QString url;
    QByteArray body; // the signed bytes, fixed when the event happened
    int maxAttempts = 8;
};

// A row taken for an attempt.
struct DueDelivery {
    QString id;
    QString jobId;
    QString event;
    QString url;
    QByteArray body;
    int attempt = 0; // the number of this attempt (1 = the first)
    int maxAttempts = 0;
};

struct DeliveryFilter {
    QString state; // "" = any
    QString jobId; // "" = any
    int offset = 0;
    int limit = 50;
};

struct DeliveryPage {
    QList<WebhookDeliveryRecord> deliveries; // newest first
    int total = 0;
};

class WebhookDeliveryStore final
{
    Q_DISABLE_COPY_MOVE(WebhookDeliveryStore)

public:
    // `connection`: the QSqlDatabase connection name of an open JobStore (JobStore::connectionName()).
    explicit WebhookDeliveryStore(QString connection);

    // Writes a new pending delivery due at nowMs and returns its id ("" when the write failed). A
    // job_progress delivery replaces the body of the job's progress delivery that no attempt has taken yet
    // (its id is returned), so a receiver that is down costs one waiting row per job, not one per step.
    QString add(const NewDelivery &delivery, qint64 nowMs);
    // Up to `limit` pending deliveries due at nowMs (earliest first), each leased until nowMs + leaseMs.
    QList<DueDelivery> takeDue(qint64 nowMs, int limit, qint64 leaseMs);
    // The end of an attempt: state "pending" (then nextAtMs is when the next one is due), "delivered" or
    // "failed". status 0 = no HTTP answer.
    bool finishAttempt(const QString &id, const QString &state, int status, const QString &error, qint64 nextAtMs);
    // When the earliest pending delivery is due (leased ones included); nullopt when none is pending.
    std::optional<qint64> nextDueAt() const;
    std::optional<WebhookDeliveryRecord> find(const QString &id) const;
    QList<WebhookDeliveryRecord> ofJob(const QString &jobId, int limit) const; // oldest first, the newest `limit`
    DeliveryPage list(const DeliveryFilter &filter) const;
    QHash<QString, int> countByState() const;
    // Due now again with `extraAttempts` more attempts than it made; false when the id is unknown.
    bool redeliver(const QString &id, qint64 nowMs, int extraAttempts);
    // The delivered and failed deliveries of pruned jobs (pending ones stay until they end).
    void removeFinishedOf(const QStringList &jobIds);
    // The delivered and failed deliveries of jobs the job store no longer has (they were still pending when
    // their job was pruned); returns how many went.
    int removeFinishedOfGoneJobs();

private:
    static WebhookDeliveryRecord record(const QSqlQuery &q); // a row of kColumns
    QString m_connection;
    qint64 m_seq = 0;
};

} // namespace cr
