// What differs between JobStore's engines: opening the database and the schema's version. SQLite keeps the
// first release's file format (PRAGMA user_version); PostgreSQL records its versions in schema_migrations.

#include "core/jobs/jobstore.h"

#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

Q_DECLARE_LOGGING_CATEGORY(lcJobStore)

namespace cr {

bool JobStore::openSqlite()
{
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    db.setDatabaseName(m_url.sqlitePath);
    if (!db.open()) {
        m_error = db.lastError().text();
        return false;
    }
    QSqlQuery q(db);
    // WAL keeps writes cheap and the file consistent if the process dies mid-write: a committed job survives
    // kill -9 and a crash of the service. NORMAL does not fsync every commit (FULL costs ~6 ms per commit on
    // the event loop, twice per job, in front of every blocking answer; docs/benchmarks.md): a power cut or an
    // OS crash may lose the last commits. Moving the store to a worker thread would make FULL affordable.
    q.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
    q.exec(QStringLiteral("PRAGMA synchronous=NORMAL"));
    // The first release's table (schema version 0); migrate() brings it up to date.
    if (!q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                               "state TEXT NOT NULL, data TEXT NOT NULL)"))) {
        m_error = q.lastError().text();
        return false;
    }
    return true;
}

bool JobStore::openPostgres(const QString &password)
{
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL"))) {
        m_error = QStringLiteral("Qt Sql has no PostgreSQL driver (QPSQL: install Debian's libqt6sql6-psql)");
        return false;
    }
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), m_connection);
    db.setHostName(m_url.host);
    db.setPort(m_url.port);
    db.setUserName(m_url.user);
    db.setDatabaseName(m_url.database);
    m_password = password;
    db.setPassword(password); // empty: libpq looks in its passfile or service file
    QStringList options{QStringLiteral("application_name=comfy-runner")};
    // A database that does not answer must not hold the event loop for long: a bounded connect, and a dead
    // peer noticed by TCP (keepalives, tcp_user_timeout) rather than waited for. Options in the URL win.
    const QList<std::pair<const char *, const char *>> defaults{
        {"connect_timeout", "5"},     {"keepalives", "1"},       {"keepalives_idle", "10"},
        {"keepalives_interval", "3"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "15000"}};
    for (const auto &[key, value] : defaults) {
        if (!m_url.connectOptions.contains(QLatin1String(key) + QLatin1Char('=')))
            options << QLatin1String(key) + QLatin1Char('=') + QLatin1String(value);
    }
    if (!m_url.connectOptions.isEmpty())
        options << m_url.connectOptions;
    db.setConnectOptions(options.join(QLatin1Char(';')));
    if (!db.open()) {
        m_error = QStringLiteral("cannot connect to %1: %2").arg(m_url.display(), db.lastError().text().trimmed());
        return false;
    }
    QSqlQuery(db).exec(QStringLiteral("SET client_min_messages TO warning")); // no NOTICE lines on stderr
    qCInfo(lcJobStore).noquote() << "job store: connected to" << m_url.display();
    return true;
}

void JobStore::checkConnection(const QString &why)
{
    if (m_url.engine != StoreUrl::Engine::Postgres || !m_open || !m_lost.isEmpty())
        return;
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    QSqlQuery ping(db);
    if (db.isOpen() && ping.exec(QStringLiteral("SELECT 1")))
        return;
    m_lost = QStringLiteral("the connection to %1 is lost: %2").arg(m_url.display(), why.trimmed());
    qCWarning(lcJobStore).noquote() << "job store:" << m_lost;
}

bool JobStore::reconnect()
{
    if (isAvailable() || !m_open)
        return isAvailable();
    m_insert.reset(); // prepared on the lost connection
    m_update.reset();
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    db.close();
    db.setPassword(m_password);
    if (!db.open()) {
        m_lost = QStringLiteral("cannot connect to %1: %2").arg(m_url.display(), db.lastError().text().trimmed());
        qCInfo(lcJobStore).noquote() << "job store:" << m_lost;
        return false;
    }
    QSqlQuery(db).exec(QStringLiteral("SET client_min_messages TO warning"));
    m_lost.clear();
    qCInfo(lcJobStore).noquote() << "job store: connected to" << m_url.display() << "again";
    return true;
}

void JobStore::setCluster(const QString &node, int leaseMs)
{
    if (m_url.engine != StoreUrl::Engine::Postgres)
        return;
    m_node = node;
    m_leaseMs = qMax(1000, leaseMs);
    m_insert.reset(); // the statements differ in cluster mode
    m_update.reset();
}

QString JobStore::ownerColumn() const
{
    return m_url.engine == StoreUrl::Engine::Sqlite ? QStringLiteral("NULL") : QStringLiteral("owner");
}

QString JobStore::tieColumn() const
{
    return m_url.engine == StoreUrl::Engine::Sqlite ? QStringLiteral("rowid") : QStringLiteral("seq");
}

int JobStore::schemaVersion() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (m_url.engine == StoreUrl::Engine::Sqlite)
        return q.exec(QStringLiteral("PRAGMA user_version")) && q.next() ? q.value(0).toInt() : -1;
    return q.exec(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")) && q.next()
        ? q.value(0).toInt()
        : -1;
}

} // namespace cr
