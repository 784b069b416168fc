// The service on the job store its [store] url names (tst_servicestore on SQLite, tst_servicestore_pg on
// PostgreSQL): a job run through the REST API is in that store and a restarted service answers for it; the
// database password (COMFY_RUNNER_DB_PASSWORD) never shows in the log, the API or the printed configuration;
// a database that cannot be reached is a clear start-up error.

#include "core/service/service.h"
#include "sim/fakecomfy.h"
#include "tests/service/servicetestenv.h"
#include "tests/support/teststore.h"

#include <QDir>
#include <QJsonDocument>
#include <QMutex>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;
using namespace cr::servicetest;

namespace {

// Every log line of the process while a test runs (and Qt Test's own output, as before).
QMutex g_logMutex;
QStringList g_log;
QtMessageHandler g_previous = nullptr;
void capture(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    {
        QMutexLocker lock(&g_logMutex);
        g_log << message;
    }
    if (g_previous)
        g_previous(type, context, message);
}

} // namespace

class TstServiceStore : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void jobsLiveInTheConfiguredStore();
    void passwordIsNeverShown();
    void unreachableDatabaseIsAClearStartupError();
    void databaseOutageIs503AndNotReady();

private:
    Config config() const
    {
        Config c = exampleConfig(*m_fake, m_data.path());
        // SQLite: the default, in the data folder (where earlier releases kept it); else the test's database.
        c.store.url = test::TestStore::isPostgres() ? m_store.configUrl() : QString();
        return c;
    }
    static QUrl api(const Service &s, const QString &path) { return apiUrl(s, path); }
    bool waitReady(const Service &s) { return servicetest::waitReady(m_nam, s); }

    QTemporaryDir m_data;
    test::TestStore m_store{m_data.path()};
    std::unique_ptr<sim::FakeComfy> m_fake;
    QNetworkAccessManager m_nam;
};

void TstServiceStore::initTestCase()
{
    if (test::TestStore::isPostgres())
        qputenv("COMFY_RUNNER_DB_PASSWORD", m_store.password().toUtf8());
    g_previous = qInstallMessageHandler(capture);
}

void TstServiceStore::init()
{
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
    m_fake = startQuickFake();
    QVERIFY(m_fake);
    m_fake->setPreviewsEnabled(false);
    QMutexLocker lock(&g_logMutex);
    g_log.clear();
}

void TstServiceStore::cleanup() { m_fake.reset(); }

void TstServiceStore::jobsLiveInTheConfiguredStore()
{
    QString id;
    {
        Service service(config());
        QString error;
        QVERIFY2(service.start(&error), qPrintable(error));
        QVERIFY(waitReady(service));
        const HttpResult r
            = request(m_nam, "POST", api(service, QStringLiteral("/api/v1/jobs")),
                      {{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}, {QStringLiteral("wait"), true}});
        QCOMPARE(r.status, 200);
        id = r.json.value(QLatin1String("id")).toString();
        QCOMPARE(r.json.value(QLatin1String("state")).toString(), QStringLiteral("succeeded"));
    }
    if (!test::TestStore::isPostgres())
        QVERIFY(QFile::exists(QDir(m_data.path()).filePath(QStringLiteral("jobs.sqlite"))));
    {
        const std::unique_ptr<JobStore> store = m_store.open();
        const QList<Job> stored = store->loadAll();
        QCOMPARE(stored.size(), 1);
        QCOMPARE(stored.first().id, id);
        QCOMPARE(stored.first().state, JobState::Succeeded);
    }

    Service restarted(config());
    QString error;
    QVERIFY2(restarted.start(&error), qPrintable(error));
    const HttpResult again = request(m_nam, "GET", api(restarted, QStringLiteral("/api/v1/jobs/") + id));
    QCOMPARE(again.status, 200);
    QCOMPARE(again.json.value(QLatin1String("state")).toString(), QStringLiteral("succeeded"));
}

void TstServiceStore::passwordIsNeverShown()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_servicestore_pg): SQLite has no password");
    const QString password = m_store.password();
    QVERIFY(password.size() >= 16);
    QStringList seen;
    {
        Service service(config());
        QString error;
        QVERIFY2(service.start(&error), qPrintable(error));
        QVERIFY(waitReady(service));
        for (const char *path : {"/api/v1/system", "/api/v1/jobs", "/api/v1/ready", "/api/v1/backends", "/metrics",
                                 "/health", "/status"}) {
            const HttpResult r = request(m_nam, "GET", api(service, QLatin1String(path)));
            QVERIFY2(r.status == 200, path);
            seen << QString::fromUtf8(r.body);
        }
        seen << config().toToml();
    }
    // Refused: the message says why, without the password it was given or the right one.
    const QByteArray wrong = "not-the-password-" + QByteArray::number(QRandomGenerator::global()->generate());
    qputenv("COMFY_RUNNER_DB_PASSWORD", wrong);
    {
        Service refused(config());
        QString error;
        const bool started = refused.start(&error);
        qputenv("COMFY_RUNNER_DB_PASSWORD", password.toUtf8());
        QVERIFY(!started);
        QVERIFY2(error.contains(QLatin1String("password authentication failed")), qPrintable(error));
        seen << error;
    }
    {
        QMutexLocker lock(&g_logMutex);
        QVERIFY(g_log.size() > 5);
        QVERIFY(g_log.join(QLatin1Char('\n')).contains(QLatin1String("connected to postgresql://cr_test@")));
        seen << g_log;
    }
    for (const QString &text : std::as_const(seen)) {
        QVERIFY2(!text.contains(password), qPrintable(text.left(200)));
        QVERIFY2(!text.contains(QString::fromUtf8(wrong)), qPrintable(text.left(200)));
    }
}

void TstServiceStore::unreachableDatabaseIsAClearStartupError()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_servicestore_pg); an SQLite file that cannot be opened: tst_jobs");
    Config c = config();
    StoreUrl url = m_store.url();
    c.store.url = QStringLiteral("postgresql://%1@127.0.0.1:1/%2").arg(url.user, url.database);
    Service service(c);
    QString error;
    QVERIFY(!service.start(&error));
    QVERIFY2(error.startsWith(QLatin1String("cannot open the job store: cannot connect to postgresql://")),
             qPrintable(error));
}

// PostgreSQL stops under a running service: POST /api/v1/jobs is 503 store_unavailable and /api/v1/ready
// names the store; once it is back, both recover without a restart of the service.
void TstServiceStore::databaseOutageIs503AndNotReady()
{
    if (!test::TestStore::isPostgres())
        QSKIP("PostgreSQL only (tst_servicestore_pg)");
    const QString restart = qEnvironmentVariable("CR_TEST_PG_RESTART");
    QVERIFY2(!restart.isEmpty(), "CR_TEST_PG_RESTART (scripts/pg-test-cluster.sh)");
    Service service(config());
    QString error;
    QVERIFY2(service.start(&error), qPrintable(error));
    QVERIFY(waitReady(service));
    const QJsonObject job{{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}, {QStringLiteral("wait"), true}};
    QCOMPARE(request(m_nam, "POST", api(service, QStringLiteral("/api/v1/jobs")), job).status, 200);
    QCOMPARE(QProcess::execute(restart, {QStringLiteral("stop")}), 0);
    const HttpResult refused = request(m_nam, "POST", api(service, QStringLiteral("/api/v1/jobs")), job);
    const bool started = QProcess::execute(restart, {QStringLiteral("start")}) == 0; // before any QVERIFY
    QVERIFY(started);
    QCOMPARE(refused.status, 503);
    QCOMPARE(refused.json.value(QLatin1String("error")).toObject().value(QLatin1String("code")).toString(),
             QStringLiteral("store_unavailable"));
    QVERIFY(waitReady(service)); // reconnected by itself
    QCOMPARE(request(m_nam, "POST", api(service, QStringLiteral("/api/v1/jobs")), job).status, 200);
}

QTEST_GUILESS_MAIN(TstServiceStore)
#include "tst_servicestore.moc"
