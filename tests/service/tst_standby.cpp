// A runner killed mid-run (SIGKILL) and the runner that takes its place, as real comfy-runner processes
// against the fake ComfyUI: the running job is followed again by prompt id and finishes, ComfyUI ran it
// once. On SQLite (tst_standby) the runner is restarted on its data folder. On PostgreSQL (tst_standby_pg)
// a second runner with a data folder of its own runs beside the first from the start, shares only the
// database, and takes the job over once the killed runner's lease ends (docs/cluster.md).

#include "sim/fakecomfy.h"
#include "tests/support/runnerprocess.h"
#include "tests/support/teststore.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace cr;
using test::RunnerProcess;

class TstStandby : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void killedRunnersJobIsFollowedByTheNext();

private:
    // comfy-runner on its own data folder `name`, started and serving (nullptr when it did not start).
    std::unique_ptr<RunnerProcess> start(const QString &name)
    {
        auto r = std::make_unique<RunnerProcess>(QStringLiteral(CR_RUNNER_EXE),
                                                 m_dir.filePath(name + QStringLiteral(".toml")), m_store.password());
        const QString toml
            = QStringLiteral("[comfy]\nurl = \"%1\"\nworkflow = \"sd15_txt2img\"\nping_interval = 0.2\n\n"
                             "[http-server]\nport = 0\n\n[server]\nws_port = 0\n\n"
                             "[paths]\nworkflows = \"%2\"\ndata = \"%3\"\n\n[store]\nurl = \"%4\"\n\n"
                             "[cluster]\nnode = \"%5\"\nlease = 1\n")
                  .arg(m_fake->httpUrl().toString(), QStringLiteral(CR_SOURCE_DIR "/workflows"), m_dir.filePath(name),
                       m_store.configUrl(), name);
        QString why;
        if (!r->start(toml, true, &why)) {
            qWarning().noquote() << name << "did not start:" << why;
            return nullptr;
        }
        return r;
    }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
    std::unique_ptr<sim::FakeComfy> m_fake;
};

void TstStandby::init()
{
    QString why;
    QVERIFY2(m_store.reset(&why), qPrintable(why));
    m_fake = std::make_unique<sim::FakeComfy>();
    QVERIFY(m_fake->listen());
    m_fake->setSteps(60);
    m_fake->setStepIntervalMs(30);
    m_fake->setPreviewsEnabled(false);
}

void TstStandby::cleanup() { m_fake.reset(); }

void TstStandby::killedRunnersJobIsFollowedByTheNext()
{
    const bool pg = test::TestStore::isPostgres();
    std::unique_ptr<RunnerProcess> a = start(QStringLiteral("a"));
    QVERIFY(a);
    std::unique_ptr<RunnerProcess> b = pg ? start(QStringLiteral("b")) : nullptr; // beside a, on the database
    QVERIFY(b || !pg);
    const test::RunnerReply job = a->call("POST", QStringLiteral("/api/v1/jobs"),
                                          {{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}});
    const QString id = job.json.value(QLatin1String("id")).toString();
    QVERIFY2(!id.isEmpty(), QJsonDocument(job.json).toJson().constData());
    QTRY_COMPARE_WITH_TIMEOUT(m_fake->runningPromptId(), id, 10000);
    if (pg) // b sees a's job, and that a owns it
        QTRY_COMPARE_WITH_TIMEOUT(
            b->call("GET", QStringLiteral("/api/v1/jobs/") + id).json.value(QLatin1String("node")).toString(),
            QStringLiteral("a"), 5000);

    a->kill();
    QVERIFY(!m_fake->runningPromptId().isEmpty()); // still running at ComfyUI
    if (!pg)
        b = start(QStringLiteral("a")); // SQLite: a restart on the same data folder
    QVERIFY(b);
    QTRY_COMPARE_WITH_TIMEOUT(
        b->call("GET", QStringLiteral("/api/v1/jobs/") + id).json.value(QLatin1String("state")).toString(),
        QStringLiteral("succeeded"), 20000);
    QCOMPARE(m_fake->promptCount(), 1); // followed again, not run again
    const QJsonObject done = b->call("GET", QStringLiteral("/api/v1/jobs/") + id).json;
    QCOMPARE(done.value(QLatin1String("outputs")).toArray().size(), 1);
    if (pg)
        QCOMPARE(done.value(QLatin1String("node")).toString(), QStringLiteral("b"));
    QVERIFY(b->stop());
}

QTEST_GUILESS_MAIN(TstStandby)
#include "tst_standby.moc"
