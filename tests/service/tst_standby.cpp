// A runner killed mid-run (SIGKILL) and the runner that takes its place, as real comfy-runner processes
// (QProcess) against the fake ComfyUI: the running job is followed again by prompt id and finishes, ComfyUI
// ran it once. On PostgreSQL (tst_standby_pg) the second runner has a data folder of its own, shares only
// the database, and cannot start while the first one holds it (one runner per database, docs/cluster.md).

#include "sim/fakecomfy.h"
#include "tests/support/teststore.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>

using namespace cr;

namespace {

struct Runner {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    QByteArray log;
    quint16 httpPort = 0;
};

} // namespace

class TstStandby : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void killedRunnersJobIsFollowedByTheNext();

private:
    // Starts comfy-runner on its own data folder `name`; with `expectReady` waits until it serves.
    void start(Runner &r, const QString &name, bool expectReady = true)
    {
        const QString config = m_dir.filePath(name + QStringLiteral(".toml"));
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QStringLiteral("[comfy]\nurl = \"%1\"\nworkflow = \"sd15_txt2img\"\nping_interval = 0.2\n\n"
                               "[http-server]\nport = 0\n\n[server]\nws_port = 0\n\n"
                               "[paths]\nworkflows = \"%2\"\ndata = \"%3\"\n\n[store]\nurl = \"%4\"\n")
                    .arg(m_fake->httpUrl().toString(), QStringLiteral(CR_SOURCE_DIR "/workflows"), m_dir.filePath(name),
                         m_store.configUrl())
                    .toUtf8());
        f.close();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("COMFY_RUNNER_DB_PASSWORD"), m_store.password());
        r.process->setProcessEnvironment(env);
        connect(r.process.get(), &QProcess::readyReadStandardError, this,
                [&r] { r.log += r.process->readAllStandardError(); });
        r.process->start(QStringLiteral(CR_RUNNER_EXE), {QStringLiteral("--config"), config});
        QVERIFY(r.process->waitForStarted());
        if (!expectReady)
            return;
        QTRY_VERIFY2_WITH_TIMEOUT(r.log.contains("comfyrunner.service: ready"), r.log.constData(), 15000);
        const QRegularExpressionMatch m
            = QRegularExpression(QStringLiteral("REST API on http://[^:]+:(\\d+)")).match(QString::fromUtf8(r.log));
        QVERIFY2(m.hasMatch(), r.log.constData());
        r.httpPort = quint16(m.captured(1).toUInt());
    }
    QJsonObject call(const Runner &r, const QByteArray &verb, const QString &path, const QJsonObject &body = {})
    {
        QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(r.httpPort).arg(path)));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        QNetworkReply *reply
            = m_nam.sendCustomRequest(req, verb, body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson());
        QSignalSpy done(reply, &QNetworkReply::finished);
        done.wait(10000);
        const QJsonObject json = QJsonDocument::fromJson(reply->readAll()).object();
        reply->deleteLater();
        return json;
    }

    QTemporaryDir m_dir;
    test::TestStore m_store{m_dir.path()};
    std::unique_ptr<sim::FakeComfy> m_fake;
    QNetworkAccessManager m_nam;
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
    Runner a;
    start(a, QStringLiteral("a"));
    const QJsonObject job = call(a, "POST", QStringLiteral("/api/v1/jobs"),
                                 {{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}});
    const QString id = job.value(QLatin1String("id")).toString();
    QVERIFY2(!id.isEmpty(), QJsonDocument(job).toJson().constData());
    QTRY_COMPARE_WITH_TIMEOUT(m_fake->runningPromptId(), id, 10000);

    if (pg) { // the standby cannot start while the first runner holds the database
        Runner early;
        start(early, QStringLiteral("b"), false);
        QVERIFY(early.process->waitForFinished(15000));
        QCOMPARE(early.process->exitCode(), 1);
        early.log += early.process->readAllStandardError();
        QVERIFY2(early.log.contains("another comfy-runner uses the database"), early.log.constData());
    }

    ::kill(pid_t(a.process->processId()), SIGKILL);
    QVERIFY(a.process->waitForFinished(10000));
    QVERIFY(!m_fake->runningPromptId().isEmpty()); // still running at ComfyUI

    Runner b;
    start(b, pg ? QStringLiteral("b") : QStringLiteral("a")); // SQLite: the same data folder (a restart)
    QTRY_COMPARE_WITH_TIMEOUT(
        call(b, "GET", QStringLiteral("/api/v1/jobs/") + id).value(QLatin1String("state")).toString(),
        QStringLiteral("succeeded"), 20000);
    QCOMPARE(m_fake->promptCount(), 1); // followed again, not run again
    const QJsonObject done = call(b, "GET", QStringLiteral("/api/v1/jobs/") + id);
    QCOMPARE(done.value(QLatin1String("outputs")).toArray().size(), 1);
    b.process->terminate();
    QVERIFY(b.process->waitForFinished(10000));
}

QTEST_GUILESS_MAIN(TstStandby)
#include "tst_standby.moc"
