#pragma once
// Keeps jobs across restarts of the service, so a restarted comfy-runner still answers for the jobs it accepted
// and picks up the ones that were in flight. Two engines behind one class, through Qt Sql ([store] url):
// an SQLite file in the data folder (QSQLITE, the default: one machine needs nothing else) or a PostgreSQL
// database (QPSQL) that several runners can share. The SQL is the same where the engines agree; where they
// differ (opening, the schema's version, the tie-break column) jobstoreengine.cpp holds each engine's form.
// Each engine has its own ordered list of schema migrations (jobstore.cpp), run on open.
// The graph is written once, when the job is created; later writes carry only the job's state. Every write
// is committed before the caller goes on to acknowledge or announce it, and a failed write is an Error
// (store_unavailable) for the caller to act on, never dropped silently.

#include "core/config/storeurl.h"
#include "core/jobs/expiredjobs.h"
#include "core/jobs/job.h"
#include "protocol/error.h"

#include <QList>
#include <QSqlQuery>

#include <QString>
#include <memory>
#include <variant>

namespace cr {

// A store write: ok, or why not (store_unavailable). Like the bool it replaced, it is true on success.
using StoreResult = Result<std::monostate>;

class JobStore final
{
    Q_DISABLE_COPY_MOVE(JobStore)

public:
    // Opens (and creates) the SQLite file at `path`.
    explicit JobStore(const QString &path);
    // Opens the store `url` names; `password` is for PostgreSQL (empty: libpq's passfile or service file).
    // On failure isOpen() is false and error() says why (never the password).
    JobStore(const StoreUrl &url, const QString &password);
    ~JobStore();

    bool isOpen() const { return m_open; }
    QString error() const { return m_error; }
    // The QSqlDatabase connection name: other tables of the same database (webhook deliveries), on either engine use
    // it.
    QString connectionName() const { return m_connection; }
    // PostgreSQL: after a failed statement the store checks its connection; a lost one makes every write
    // fail at once (store_unavailable, problem() says why) until reconnect() succeeds. SQLite: isOpen().
    bool isAvailable() const { return m_open && m_lost.isEmpty(); }
    QString problem() const { return !m_open ? m_error : m_lost; }
    bool reconnect(); // opens the lost connection again (PostgreSQL); true when the store is available
    // A statement on this store's connection failed elsewhere (ClusterStore): checks the connection, as a
    // failed write of the store does (a lost one makes isAvailable() false until reconnect()).
    void noteFailure(const QString &why) { checkConnection(why); }
    StoreUrl::Engine engine() const { return m_url.engine; }
    const StoreUrl &url() const { return m_url; }
    QString where() const { return m_url.display(); } // for logs

    // Cluster mode (PostgreSQL only, jobcluster.cpp): this runner's node name and claim lease. Rows then carry
    // their owner (Job::node, "" = waiting in the cluster's queue) and a lease that every write renews;
    // create() and update() change only rows this runner owns (or new ones) and answer job_conflict for a
    // row another runner owns now (taken over after this runner's lease ended).
    void setCluster(const QString &node, int leaseMs);
    bool isCluster() const { return !m_node.isEmpty(); }
    QString node() const { return m_node; }
    int leaseMs() const { return m_leaseMs; }
    qint64 lastSeq() const { return m_lastSeq; } // cluster: the seq of the row the last create() wrote

    // A new job: its row with the graph (replaces a row of the same id). Cluster: `published` false keeps it
    // from the other runners until ComfyUI accepted it (create() again with true); a client_ref that another
    // job has is job_conflict (the unique index; details "client_ref").
    StoreResult create(const Job &job, bool published = true);
    StoreResult update(const Job &job); // a known job's state, without rewriting the graph (creates when missing)
    StoreResult save(const Job &job) { return create(job); }
    // A row as loadAll() reads it: data, graph, owner (the owner column only in cluster mode).
    static std::optional<Job> jobFromRow(const QSqlQuery &row);
    QString ownerColumn() const; // "owner" (PostgreSQL) or "NULL" (SQLite)
    StoreResult remove(const QString &jobId);
    QList<Job> loadAll() const; // oldest first

    // Removes pruned jobs and records their tombstones in one transaction, keeping only the newest
    // `keepExpired` tombstones.
    StoreResult prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired);
    QList<ExpiredJob> loadExpired() const; // oldest first

    // SQLite: PRAGMA user_version of the file (0 = the first release's schema). PostgreSQL: the highest
    // version in schema_migrations. See jobstore.cpp for each engine's steps.
    static constexpr int kSchemaVersion = 3;
    static constexpr int kPostgresSchemaVersion = 3;
    int schemaVersion() const;

    // Lossless JSON form of a job (used for the row's data column).
    static QJsonObject toJson(const Job &job);
    static std::optional<Job> fromJson(const QJsonObject &json);

private:
    // jobstoreengine.cpp: what differs per engine.
    bool openSqlite();
    bool openPostgres(const QString &password);
    QString tieColumn() const; // insertion order within one timestamp: rowid (SQLite), seq (PostgreSQL)
    bool migrate();
    bool migrateSqlite();
    bool migratePostgres();
    bool runSteps(const QList<QStringList> &steps, int from, int to);
    bool moveGraphsToTheirColumn(); // SQLite migration step 2
    QSqlQuery &prepared(std::unique_ptr<QSqlQuery> &query, const QString &sql);
    Error failure(const QString &what, const QString &why); // logged, store_unavailable
    void checkConnection(const QString &why);               // PostgreSQL: sets m_lost when it no longer answers
    StoreResult ownerConflict(const Job &job);              // cluster: nothing was written; whose row it is now

    StoreUrl m_url;
    QString m_connection;
    std::unique_ptr<QSqlQuery> m_insert, m_update; // prepared once, reused
    bool m_open = false;
    QString m_error;
    QString m_lost; // why the connection is lost ("" while it is not)
    QString m_password;
    QString m_node; // cluster mode: this runner's name ("" otherwise)
    int m_leaseMs = 0;
    qint64 m_lastSeq = 0;
};

} // namespace cr
