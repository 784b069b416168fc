// The scripted run (--run-workflow NAME --input KEY=VALUE) through the window, against a real comfy_runner
// Service and the fake ComfyUI (offscreen): asked for before the window connects, it is submitted once the
// workflow and the relay are ready, with its inputs (a named parameter shown in the editor, a "node.input"
// added to the request); scriptedRunDone comes once, after the job succeeded and its image is in the
// gallery. A submission the runner refuses ends the run as failed; an unknown workflow is logged.

#include "gui/app/galleryview.h"
#include "gui/app/mainwindow.h"
#include "gui/app/scriptedrun.h"
#include "gui/app/theme.h"
#include "gui/app/workflowpanel.h"
#include "gui/client/eventlogmodel.h"
#include "gui/client/jobtracker.h"
#include "runnerenv.h"

#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

class TstScriptedRun : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void runsOnceReadyAndEndsWithItsOutput();
    void aRefusedSubmissionEndsTheRun();
    void anUnknownWorkflowIsLogged();

private:
    std::unique_ptr<MainWindow> newWindow();

    std::unique_ptr<QTemporaryDir> m_settingsDir;
    std::unique_ptr<QSettings> m_settings;
    std::unique_ptr<RunnerEnv> m_env;
};

void TstScriptedRun::init()
{
    theme::apply(false);
    m_settingsDir = std::make_unique<QTemporaryDir>();
    m_settings = std::make_unique<QSettings>(m_settingsDir->filePath(u"monitor.ini"_s), QSettings::IniFormat);
    m_env = std::make_unique<RunnerEnv>();
    QVERIFY(m_env->start());
    m_env->fake().setSteps(4);
    m_env->fake().setStepIntervalMs(20);
    m_env->fake().setPreviewSize(64);
}

void TstScriptedRun::cleanup()
{
    m_env.reset();
    m_settings.reset();
    m_settingsDir.reset();
}

std::unique_ptr<MainWindow> TstScriptedRun::newWindow()
{
    RelayClientOptions fast;
    fast.initialBackoffMs = 50;
    fast.maxBackoffMs = 400;
    fast.backoffJitter = 0;
    auto window = std::make_unique<MainWindow>(m_settings.get(), fast);
    window->resize(1200, 800);
    window->show();
    return window;
}

void TstScriptedRun::runsOnceReadyAndEndsWithItsOutput()
{
    auto window = newWindow();
    MainWindow &w = *window;
    QSignalSpy done(&w, &MainWindow::scriptedRunDone);
    QSignalSpy submitted(&w, &MainWindow::jobSubmitted);
    bool outputShownAtDone = false;
    connect(&w, &MainWindow::scriptedRunDone, this,
            [&](const QString &jobId) { outputShownAtDone = w.gallery()->contains(jobId, 0); });

    // As main() does: the run first, then the connection (the relay URL asked from the runner).
    w.runWhenReady(u"sd15_txt2img"_s,
                   QJsonObject{{u"Positive Prompt"_s, u"a scripted lighthouse"_s}, {u"3.seed"_s, 4242}});
    QCOMPARE(w.scripted()->pendingWorkflow(), u"sd15_txt2img"_s);
    w.connectTo(m_env->httpUrl());
    QVERIFY(done.wait(20000));
    QCOMPARE(done.count(), 1);
    const QString id = done.at(0).at(0).toString();
    QVERIFY(!id.isEmpty());
    QCOMPARE(done.at(0).at(1).toBool(), true);
    QCOMPARE(w.scriptedJob(), id);
    QVERIFY(w.scripted()->isDone());
    QVERIFY(w.scripted()->pendingWorkflow().isEmpty());
    QCOMPARE(submitted.count(), 1);
    QCOMPARE(submitted.at(0).at(0).toString(), id);
    QVERIFY(outputShownAtDone); // the window was complete when it said so
    QCOMPARE(int(w.tracker()->job(id)->info.state), int(JobState::Succeeded));

    // Both inputs reached ComfyUI; the named parameter went through the editor.
    QCOMPARE(m_env->fake().promptCount(), 1);
    const QJsonObject prompt = m_env->fake().lastPromptBody().value("prompt"_L1).toObject();
    QCOMPARE(prompt.value("6"_L1).toObject().value("inputs"_L1).toObject().value("text"_L1).toString(),
             u"a scripted lighthouse"_s);
    QCOMPARE(prompt.value("3"_L1).toObject().value("inputs"_L1).toObject().value("seed"_L1).toInteger(), 4242);
    QCOMPARE(w.workflows()->inputs().value(u"Positive Prompt"_s).toString(), u"a scripted lighthouse"_s);

    // A run by hand afterwards is not scripted: no second scriptedRunDone, no extra inputs.
    QVERIFY(w.workflows()->setParameter(u"Positive Prompt"_s, u"by hand"_s));
    w.runCurrentWorkflow();
    QVERIFY(submitted.wait(10000));
    const QString second = submitted.at(1).at(0).toString();
    QTRY_VERIFY_WITH_TIMEOUT(w.gallery()->contains(second, 0), 20000);
    QCOMPARE(done.count(), 1);
    QCOMPARE(w.scriptedJob(), id);
    QVERIFY(m_env->fake()
                .lastPromptBody()
                .value("prompt"_L1)
                .toObject()
                .value("3"_L1)
                .toObject()
                .value("inputs"_L1)
                .toObject()
                .value("seed"_L1)
                .toInteger()
            != 4242);
}

void TstScriptedRun::aRefusedSubmissionEndsTheRun()
{
    auto window = newWindow();
    MainWindow &w = *window;
    QSignalSpy done(&w, &MainWindow::scriptedRunDone);
    w.runWhenReady(u"sd15_txt2img"_s, QJsonObject{{u"999.seed"_s, 1}}); // no node 999: the runner refuses it
    w.connectTo(m_env->httpUrl(), m_env->relayUrl());
    QVERIFY(done.wait(20000));
    QCOMPARE(done.count(), 1);
    QCOMPARE(done.at(0).at(0).toString(), QString());
    QCOMPARE(done.at(0).at(1).toBool(), false);
    QVERIFY(w.scripted()->pendingWorkflow().isEmpty());
    QVERIFY(w.scriptedJob().isEmpty());
    QCOMPARE(m_env->fake().promptCount(), 0);
}

void TstScriptedRun::anUnknownWorkflowIsLogged()
{
    auto window = newWindow();
    MainWindow &w = *window;
    w.connectTo(m_env->httpUrl(), m_env->relayUrl());
    QTRY_VERIFY_WITH_TIMEOUT(w.workflows()->parameterCount() > 0 && w.relay()->state() == RelayClient::State::Connected,
                             10000);
    QSignalSpy done(&w, &MainWindow::scriptedRunDone);
    w.runWhenReady(u"no_such_workflow"_s);
    const EventLogModel &log = *w.log();
    const LogEntry &last = log.entry(log.rowCount() - 1);
    QCOMPARE(last.type, u"error"_s);
    QVERIFY2(last.text.contains(u"no workflow \"no_such_workflow\""_s), qPrintable(last.text));
    QCOMPARE(m_env->fake().promptCount(), 0);
    QCOMPARE(done.count(), 0);
}

QTEST_MAIN(TstScriptedRun)
#include "tst_scriptedrun.moc"
