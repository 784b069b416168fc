#pragma once
// Keeps jobs across restarts of the service (SQLite through Qt Sql, in the data folder), so a restarted
// comfy-runner still answers for the jobs it accepted and picks up the ones that were in flight.

#include "core/jobs/expiredjobs.h"
#include "core/jobs/job.h"

#include <QList>
#include <QSqlQuery>

#include <memory>
#include <QString>

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

    bool save(const Job &job);         // insert or replace
    bool remove(const QString &jobId);
    QList<Job> loadAll() const;        // oldest first

    // Removes pruned jobs and records their tombstones in one transaction, keeping only the newest
    // `keepExpired` tombstones.
    bool prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired);
    QList<ExpiredJob> loadExpired() const; // oldest first

    // PRAGMA user_version of the file: 0 = the first release's schema; see jobstore.cpp for each step.
    static constexpr int kSchemaVersion = 1;
    int schemaVersion() const;

    // Lossless JSON form of a job (used for the row's data column).
    static QJsonObject toJson(const Job &job);
    static std::optional<Job> fromJson(const QJsonObject &json);

private:
    bool migrate();

    QString m_connection;
    std::unique_ptr<QSqlQuery> m_upsert;
    bool m_open = false;
    QString m_error;
};

} // namespace cr
