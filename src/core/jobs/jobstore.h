#pragma once
// Keeps jobs across restarts of the service (SQLite through Qt Sql, in the data folder), so a restarted
// comfy-runner still answers for the jobs it accepted and picks up the ones that were in flight.
// The graph is written once, when the job is created; later writes carry only the job's state. Every write
// is committed durably (WAL, synchronous=FULL) before the caller goes on to acknowledge or announce it.

#include "core/jobs/expiredjobs.h"
#include "core/jobs/job.h"

#include <QList>
#include <QSqlQuery>

#include <QString>
#include <memory>

namespace cr {

class JobStore final
{
    Q_DISABLE_COPY_MOVE(JobStore)

public:
    // Opens (and creates) `path`. On failure isOpen() is false and error() says why; the service then runs
    // without persistence rather than not at all.
    explicit JobStore(const QString &path);
    ~JobStore();

    bool isOpen() const { return m_open; }
    QString error() const { return m_error; }
    // The QSqlDatabase connection name: other tables of the same database (webhook deliveries) use it.
    QString connectionName() const { return m_connection; }

    bool create(const Job &job); // a new job: its row with the graph (replaces a row of the same id)
    bool update(const Job &job); // a known job's state, without rewriting the graph (creates when missing)
    bool save(const Job &job) { return create(job); }
    bool remove(const QString &jobId);
    QList<Job> loadAll() const; // oldest first

    // Removes pruned jobs and records their tombstones in one transaction, keeping only the newest
    // `keepExpired` tombstones.
    bool prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired);
    QList<ExpiredJob> loadExpired() const; // oldest first

    // PRAGMA user_version of the file: 0 = the first release's schema; see jobstore.cpp for each step.
    static constexpr int kSchemaVersion = 3;
    int schemaVersion() const;

    // Lossless JSON form of a job (used for the row's data column).
    static QJsonObject toJson(const Job &job);
    static std::optional<Job> fromJson(const QJsonObject &json);

private:
    bool migrate();
    bool moveGraphsToTheirColumn(); // migration step 2
    QSqlQuery &prepared(std::unique_ptr<QSqlQuery> &query, const QString &sql);

    QString m_connection;
    std::unique_ptr<QSqlQuery> m_insert, m_update; // prepared once, reused
    bool m_open = false;
    QString m_error;
};

} // namespace cr
