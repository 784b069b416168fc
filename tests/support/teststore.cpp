#include "tests/support/teststore.h"

#include <QDir>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>

namespace cr::test {

namespace {

// Runs `body` with a connection of its own to `url`, removed afterwards.
template <typename F>
bool withConnection(const StoreUrl &url, const QString &password, QString *why, F body)
{
    const QString name = QStringLiteral("teststore-") + QUuid::createUuid().toString(QUuid::Id128);
    bool ok = false;
    {
        const bool pg = url.engine == StoreUrl::Engine::Postgres;
        QSqlDatabase db = QSqlDatabase::addDatabase(pg ? QStringLiteral("QPSQL") : QStringLiteral("QSQLITE"), name);
        if (pg) {
            db.setHostName(url.host);
            db.setPort(url.port);
            db.setUserName(url.user);
            db.setDatabaseName(url.database);
            db.setPassword(password);
        } else {
            db.setDatabaseName(url.sqlitePath);
        }
        if (!db.open()) {
            if (why)
                *why = db.lastError().text();
        } else {
            ok = body(db, why);
            db.close();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace

TestStore::TestStore(const QString &dir) : m_dir(dir) { }

bool TestStore::isPostgres() { return qEnvironmentVariable("CR_TEST_STORE") == QLatin1String("postgresql"); }

QString TestStore::configUrl() const
{
    return isPostgres() ? qEnvironmentVariable("CR_TEST_PG_URL") : QStringLiteral("sqlite:") + sqlitePath();
}

QString TestStore::sqlitePath() const
{
    return isPostgres() ? QString() : QDir(m_dir).filePath(QStringLiteral("jobs.sqlite"));
}

StoreUrl TestStore::url() const
{
    QString ignored;
    return parseStoreUrl(configUrl(), m_dir, &ignored).value_or(StoreUrl{});
}

QString TestStore::password() const { return qEnvironmentVariable("CR_TEST_PG_PASSWORD"); }

std::unique_ptr<JobStore> TestStore::open() const { return std::make_unique<JobStore>(url(), password()); }

bool TestStore::reset(QString *why) const
{
    if (!isPostgres()) {
        for (const char *suffix : {"", "-wal", "-shm"})
            QFile::remove(sqlitePath() + QLatin1String(suffix));
        return true;
    }
    if (qEnvironmentVariable("CR_TEST_PG_URL").isEmpty()) {
        if (why)
            *why = QStringLiteral(
                "CR_TEST_STORE=postgresql needs CR_TEST_PG_URL (run through scripts/pg-test-cluster.sh)");
        return false;
    }
    return exec({QStringLiteral("DROP SCHEMA public CASCADE"), QStringLiteral("CREATE SCHEMA public")}, why);
}

bool TestStore::exec(const QStringList &sql, QString *why) const
{
    return withConnection(url(), password(), why, [&sql](QSqlDatabase &db, QString *err) {
        QSqlQuery q(db);
        for (const QString &s : sql) {
            if (!q.exec(s)) {
                if (err)
                    *err = s + QLatin1String(": ") + q.lastError().text();
                return false;
            }
        }
        return true;
    });
}

QString TestStore::peek(const QString &sql) const
{
    QString value;
    withConnection(url(), password(), nullptr, [&](QSqlDatabase &db, QString *) {
        QSqlQuery q(db);
        if (q.exec(sql) && q.next())
            value = q.value(0).toString();
        return true;
    });
    return value;
}

} // namespace cr::test
