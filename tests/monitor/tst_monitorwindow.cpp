// The monitor's window end to end (offscreen) against a real comfy_runner Service and the fake ComfyUI:
// a run started with the Run shortcut shows its preview frames, reaches the maximum step, ends as
// succeeded in the job list and puts its output in the gallery; a dropped relay connection resumes
// without losing an event; a runner restart is survived; cancel by shortcut; settings are remembered;
// without a relay URL the relay port is asked from the runner (a relay that is not on port + 1), and a
// runner that cannot say gets port + 1 with a warning, without blocking the window; state colours are
// readable in both palettes; 30 previews per second keep the window responsive.
// Screenshots go to <build>/tests/monitor/*.png.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "gui/app/connectionbar.h"
#include "gui/app/eventlogview.h"
#include "gui/app/galleryview.h"
#include "gui/app/jobtableview.h"
#include "gui/app/mainwindow.h"
#include "gui/app/previewdecoder.h"
#include "gui/app/previewview.h"
#include "gui/app/progresspanel.h"
#include "gui/app/theme.h"
#include "gui/app/workflowpanel.h"
#include "gui/client/eventlogmodel.h"
#include "gui/client/joblistmodel.h"
#include "gui/client/jobtracker.h"
#include "gui/client/restclient.h"
#include "runnerenv.h"

#include <QApplication>
#include <QBuffer>
#include <QElapsedTimer>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <memory>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

RelayClientOptions fastRelay()
{
    RelayClientOptions o;
    o.initialBackoffMs = 50;
    o.maxBackoffMs = 400;
    o.backoffJitter = 0;
    return o;
}

QString screenshotPath(const char *name)
{
    return QStringLiteral(CR_BINARY_DIR "/tests/monitor/") + QLatin1String(name);
}

// WCAG contrast ratio of two colours.
double contrast(const QColor &a, const QColor &b)
{
    auto luminance = [](const QColor &c) {
        auto channel = [](double v) { return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF());
    };
    const double la = luminance(a), lb = luminance(b);
    return (qMax(la, lb) + 0.05) / (qMin(la, lb) + 0.05);
}

// The newest log entry of this type, or nullptr.
const LogEntry *lastLogEntry(const EventLogModel &log, const QString &type)
{
    for (int row = log.rowCount() - 1; row >= 0; --row)
        if (log.entry(row).type == type)
            return &log.entry(row);
    return nullptr;
}

} // namespace

class TstMonitorWindow : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void runShowsPreviewsProgressAndOutput();
    void resumesAndSurvivesRunnerRestart();
    void cancelShortcutCancelsTheSelectedJob();
    void remembersWindowAndConnection();
    void asksTheRunnerForItsRelayPort();
    void guessesPortPlusOneWithoutBlocking();
    void stateColoursAreReadable_data();
    void stateColoursAreReadable();
    void staysResponsiveAt30Fps();
    void showsItsIcon();

private:
    // A window connected to m_env (relay connected, workflow parameters loaded).
    std::unique_ptr<MainWindow> openWindow();
    // Presses the Run shortcut and returns the submitted job's id.
    QString runByShortcut(MainWindow &window);

    std::unique_ptr<QTemporaryDir> m_settingsDir;
    std::unique_ptr<QSettings> m_settings;
    std::unique_ptr<RunnerEnv> m_env;
};

void TstMonitorWindow::init()
{
    theme::apply(false);
    m_settingsDir = std::make_unique<QTemporaryDir>();
    m_settings = std::make_unique<QSettings>(m_settingsDir->filePath(u"monitor.ini"_s), QSettings::IniFormat);
    m_env = std::make_unique<RunnerEnv>();
    QVERIFY(m_env->start());
}

void TstMonitorWindow::cleanup()
{
    m_env.reset();
    m_settings.reset();
    m_settingsDir.reset();
}

std::unique_ptr<MainWindow> TstMonitorWindow::openWindow()
{
    auto window = std::make_unique<MainWindow>(m_settings.get(), fastRelay());
    window->resize(1400, 900);
    window->show();
    window->activateWindow();
    if (!QTest::qWaitForWindowActive(window.get()))
        return nullptr;
    window->connectTo(m_env->httpUrl(), m_env->relayUrl());
    if (!QTest::qWaitFor(
            [&] {
                return window->relay()->state() == RelayClient::State::Connected
                    && window->workflows()->parameterCount() > 0;
            },
            10000))
        return nullptr;
    return window;
}

QString TstMonitorWindow::runByShortcut(MainWindow &window)
{
    QSignalSpy submitted(&window, &MainWindow::jobSubmitted);
    QTest::keyClick(&window, Qt::Key_Return, Qt::ControlModifier);
    if (!submitted.wait(10000))
        return {};
    return submitted.at(0).at(0).toString();
}

void TstMonitorWindow::runShowsPreviewsProgressAndOutput()
{
    constexpr int kSteps = 12;
    m_env->fake().setSteps(kSteps);
    m_env->fake().setStepIntervalMs(60);
    m_env->fake().setPreviewSize(256);
    auto window = openWindow();
    QVERIFY(window);
    MainWindow &w = *window;
    QCOMPARE(w.workflows()->currentWorkflow(), u"sd15_txt2img"_s);
    QVERIFY(w.workflows()->setParameter(u"Positive Prompt"_s, u"a lighthouse in a monitor test"_s));

    const QString id = runByShortcut(w);
    QVERIFY(!id.isEmpty());
    // The edited parameter reached ComfyUI.
    QTRY_VERIFY_WITH_TIMEOUT(m_env->fake().promptCount() == 1, 5000);
    const QJsonObject prompt = m_env->fake().lastPromptBody().value("prompt"_L1).toObject();
    QCOMPARE(prompt.value("6"_L1).toObject().value("inputs"_L1).toObject().value("text"_L1).toString(),
             u"a lighthouse in a monitor test"_s);

    // The job row ends as succeeded.
    QTRY_COMPARE_WITH_TIMEOUT(w.tracker()->job(id) ? int(w.tracker()->job(id)->info.state) : -1,
                              int(JobState::Succeeded), 20000);
    const int row = w.jobModel()->rowOf(id);
    QVERIFY(row >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(w.jobModel()->index(row, JobListModel::StateColumn).data().toString(), u"succeeded"_s,
                              5000);
    QTRY_VERIFY_WITH_TIMEOUT(w.tracker()->job(id)->confirmedFinal, 5000); // the runner's record (job_finished)
    const QString duration = w.jobModel()->index(row, JobListModel::DurationColumn).data().toString();
    QVERIFY2(QRegularExpression(u"^\\d+(\\.\\d)? m?s$"_s).match(duration).hasMatch(), qPrintable(duration));
    const qint64 durationMs = w.tracker()->job(id)->durationMs(QDateTime::currentMSecsSinceEpoch());
    QVERIFY2(durationMs >= kSteps * 60 / 2, qPrintable(QString::number(durationMs)));
    QCOMPARE(w.jobModel()->index(row, JobListModel::WorkflowColumn).data().toString(), u"sd15_txt2img"_s);
    QVERIFY(!w.jobModel()->index(row, JobListModel::CancelColumn).data(JobListModel::CanCancelRole).toBool());

    // N preview frames: every one received, the last one on screen, for this job.
    QTRY_COMPARE_WITH_TIMEOUT(w.tracker()->job(id)->previewFrames, quint64(kSteps), 5000);
    QCOMPARE(w.relay()->previewsReceived(), quint64(kSteps));
    QTRY_COMPARE_WITH_TIMEOUT(w.preview()->frameNumber(), quint64(kSteps), 5000);
    QCOMPARE(w.preview()->jobId(), id);
    QCOMPARE(w.preview()->image().size(), QSize(256, 256));
    QVERIFY2(w.preview()->framesShown() >= quint64(kSteps) / 2 && w.preview()->framesShown() <= quint64(kSteps),
             qPrintable(QString::number(w.preview()->framesShown())));

    // Progress reached its maximum: the sampler at step N of N, overall 100 %.
    QTRY_COMPARE_WITH_TIMEOUT(w.progress()->nodeMaximum(), kSteps, 5000);
    QCOMPARE(w.progress()->nodeValue(), kSteps);
    QCOMPARE(w.progress()->nodeText(), u"KSampler"_s);
    QCOMPARE(w.progress()->overallPercent(), 100);

    // The gallery shows the output, fetched through the runner.
    QTRY_COMPARE_WITH_TIMEOUT(w.gallery()->count(), 1, 10000);
    QVERIFY(w.gallery()->contains(id, 0));
    QVERIFY(m_env->fake().requestLog().contains(u"GET /view"_s)
            || !m_env->fake().requestLog().filter(u"/view"_s).isEmpty());

    // The log has the run; its filter finds the success.
    w.logView()->setFilterText(u"execution_success"_s);
    QCOMPARE(w.logView()->visibleRows(), 1);
    w.logView()->setFilterText({});
    QVERIFY(w.relay()->lagMs() >= 0);
    QVERIFY(w.grab().save(screenshotPath("monitor-run.png")));
}

void TstMonitorWindow::resumesAndSurvivesRunnerRestart()
{
    constexpr int kSteps = 16;
    m_env->fake().setSteps(kSteps);
    m_env->fake().setStepIntervalMs(50);
    m_env->fake().setPreviewSize(64);
    auto window = openWindow();
    QVERIFY(window);
    MainWindow &w = *window;
    QSignalSpy events(w.relay(), &RelayClient::eventReceived);

    // 1. The relay link drops mid-run: the client reconnects with since= and nothing is lost.
    const QString first = runByShortcut(w);
    QVERIFY(!first.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(w.tracker()->job(first) && w.tracker()->job(first)->node.value >= 3, 10000);
    w.relay()->dropConnection();
    QCOMPARE(w.relay()->state(), RelayClient::State::Reconnecting);
    QTRY_COMPARE_WITH_TIMEOUT(w.relay()->state(), RelayClient::State::Connected, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(int(w.tracker()->job(first)->info.state), int(JobState::Succeeded), 20000);
    QCOMPARE(w.relay()->connections(), 2);
    QCOMPARE(w.relay()->gapsSeen(), quint64(0));
    QList<qint64> seqs;
    for (const QList<QVariant> &args : events)
        seqs.append(args.at(0).value<MonitorEvent>().seq);
    QVERIFY(!seqs.isEmpty());
    for (qsizetype i = 1; i < seqs.size(); ++i)
        QVERIFY2(seqs.at(i) == seqs.at(i - 1) + 1,
                 qPrintable(u"seq %1 follows %2"_s.arg(seqs.at(i)).arg(seqs.at(i - 1))));
    QTRY_COMPARE_WITH_TIMEOUT(w.progress()->nodeValue(), kSteps, 5000); // every progress event arrived
    QTRY_COMPARE_WITH_TIMEOUT(w.gallery()->count(), 1, 10000);

    // 2. The runner restarts (same ports, numbering from 1): the monitor reconnects, sees the gap, goes on.
    QSignalSpy states(w.relay(), &RelayClient::stateChanged);
    QVERIFY(m_env->restart());
    QTRY_COMPARE_WITH_TIMEOUT(w.relay()->state(), RelayClient::State::Connected, 10000);
    QVERIFY(std::any_of(states.cbegin(), states.cend(), [](const QList<QVariant> &a) {
        return a.at(0).value<RelayClient::State>() == RelayClient::State::Reconnecting;
    }));
    QTRY_COMPARE_WITH_TIMEOUT(w.relay()->gapsSeen(), quint64(1), 5000);
    QVERIFY(w.connectionBar()->stateText().startsWith(u"Connected"_s));

    m_env->fake().setSteps(6);
    QVERIFY(w.workflows()->setParameter(u"Positive Prompt"_s, u"after the restart"_s)); // not a cached graph
    const QString second = runByShortcut(w);
    QVERIFY(!second.isEmpty());
    QVERIFY(second != first);
    QTRY_COMPARE_WITH_TIMEOUT(w.tracker()->job(second) ? int(w.tracker()->job(second)->info.state) : -1,
                              int(JobState::Succeeded), 20000);
    QTRY_COMPARE_WITH_TIMEOUT(w.progress()->nodeValue(), 6, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(w.gallery()->contains(second, 0), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(w.preview()->jobId(), second, 5000);
    QVERIFY(w.grab().save(screenshotPath("monitor-restart.png")));
}

void TstMonitorWindow::cancelShortcutCancelsTheSelectedJob()
{
    m_env->fake().setSteps(200);
    m_env->fake().setStepIntervalMs(50);
    m_env->fake().setPreviewSize(64);
    auto window = openWindow();
    QVERIFY(window);
    MainWindow &w = *window;
    const QString id = runByShortcut(w);
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(w.selectedJob(), id, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(
        w.tracker()->job(id)->info.state == JobState::Running && w.tracker()->job(id)->node.value >= 2, 10000);
    const int row = w.jobModel()->rowOf(id);
    QVERIFY(w.jobModel()->index(row, JobListModel::CancelColumn).data(JobListModel::CanCancelRole).toBool());

    QTest::keyClick(&w, Qt::Key_Period, Qt::ControlModifier);
    QTRY_COMPARE_WITH_TIMEOUT(int(w.tracker()->job(id)->info.state), int(JobState::Cancelled), 10000);
    QVERIFY(!m_env->fake().interruptRequests().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(w.jobModel()->index(row, JobListModel::StateColumn).data().toString(), u"cancelled"_s,
                              5000);
    QVERIFY(w.tracker()->job(id)->node.value < 200);
    QVERIFY(!w.jobModel()->index(row, JobListModel::CancelColumn).data(JobListModel::CanCancelRole).toBool());

    // The Cancel button in the row of another running job.
    QVERIFY(w.workflows()->setParameter(u"Positive Prompt"_s, u"cancelled by its button"_s));
    const QString second = runByShortcut(w);
    QVERIFY(!second.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(
        w.tracker()->job(second)->info.state == JobState::Running && w.tracker()->job(second)->node.value >= 2, 10000);
    const int interruptsBefore = int(m_env->fake().interruptRequests().size());
    const QModelIndex button = w.jobModel()->index(w.jobModel()->rowOf(second), JobListModel::CancelColumn);
    const QRect cell = w.jobTable()->visualRect(button);
    QVERIFY(cell.isValid());
    QTest::mouseClick(w.jobTable()->viewport(), Qt::LeftButton, {}, cell.center());
    QTRY_COMPARE_WITH_TIMEOUT(int(w.tracker()->job(second)->info.state), int(JobState::Cancelled), 10000);
    QCOMPARE(int(m_env->fake().interruptRequests().size()), interruptsBefore + 1);
    QCOMPARE(int(w.tracker()->job(id)->info.state), int(JobState::Cancelled));
}

void TstMonitorWindow::remembersWindowAndConnection()
{
    {
        auto window = openWindow();
        QVERIFY(window);
        window->resize(1234, 777);
        window->setFollowNewest(false);
        window->close(); // saves
    }
    QCOMPARE(m_settings->value(u"connection/runner"_s).toString(), m_env->httpUrl());
    QCOMPARE(m_settings->value(u"connection/relay"_s).toString(), m_env->relayUrl());
    QCOMPARE(m_settings->value(u"workflow/last"_s).toString(), u"sd15_txt2img"_s);

    MainWindow again(m_settings.get(), fastRelay());
    QCOMPARE(again.size(), QSize(1234, 777));
    QCOMPARE(again.connectionBar()->runnerUrl(), m_env->httpUrl());
    QCOMPARE(again.connectionBar()->relayUrl(), m_env->relayUrl());
    QCOMPARE(m_settings->value(u"view/follow"_s).toBool(), false);
    QCOMPARE(again.relay()->state(), RelayClient::State::Disconnected); // connecting is main()'s decision
}

void TstMonitorWindow::asksTheRunnerForItsRelayPort()
{
    // Both ports are chosen by the system (port 0); a runner whose relay happens to sit on port + 1 would
    // not tell discovery from the guess, so take another one then.
    for (int i = 0; i < 5 && m_env->service()->relayPort() == m_env->service()->httpPort() + 1; ++i) {
        auto other = std::make_unique<RunnerEnv>();
        QVERIFY(other->start());
        m_env = std::move(other);
    }
    const int httpPort = m_env->service()->httpPort();
    const int relayPort = m_env->service()->relayPort();
    QVERIFY2(relayPort != httpPort + 1, qPrintable(u"http %1, relay %2"_s.arg(httpPort).arg(relayPort)));

    MainWindow w(m_settings.get(), fastRelay());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.connectTo(m_env->httpUrl()); // no relay URL, as when --relay is not given
    QVERIFY(w.connectionBar()->relayUrl().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(w.relay()->state(), RelayClient::State::Connected, 10000);
    QCOMPARE(w.relay()->url(), QUrl(m_env->relayUrl()));
    QCOMPARE(w.relay()->connections(), 1); // no detour through a guessed URL
    QVERIFY(lastLogEntry(*w.log(), u"relay_discovered"_s));
    QVERIFY(!lastLogEntry(*w.log(), u"relay_guessed"_s));
    QCOMPARE(w.connectionBar()->relayPlaceholder(), u"%1 (from the runner)"_s.arg(m_env->relayUrl()));
    QTRY_VERIFY_WITH_TIMEOUT(w.workflows()->parameterCount() > 0, 10000);

    // The relay URL stays unset in the settings, so the next start asks again.
    w.close();
    QCOMPARE(m_settings->value(u"connection/runner"_s).toString(), m_env->httpUrl());
    QCOMPARE(m_settings->value(u"connection/relay"_s).toString(), QString());
}

void TstMonitorWindow::guessesPortPlusOneWithoutBlocking()
{
    // A "runner" that accepts connections and never answers.
    QTcpServer mute;
    QVERIFY(mute.listen(QHostAddress::LocalHost, 0));
    const QString runner = u"http://127.0.0.1:%1"_s.arg(mute.serverPort());
    MainWindow w(m_settings.get(), fastRelay());
    w.rest()->setTimeoutMs(400);
    w.rest()->setDiscoveryTimeoutMs(400);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy relayStates(w.relay(), &RelayClient::stateChanged);

    // connectTo returns at once; the bar says what is going on; the Disconnect button abandons the question.
    w.connectTo(runner);
    QCOMPARE(w.relay()->state(), RelayClient::State::Disconnected);
    QVERIFY2(w.connectionBar()->stateText().contains(u"asking the runner"_s),
             qPrintable(w.connectionBar()->stateText()));
    QVERIFY(w.rest()->pendingRequests() > 0);
    w.disconnectFromRunner();
    QVERIFY2(w.connectionBar()->stateText().startsWith(u"Disconnected"_s), qPrintable(w.connectionBar()->stateText()));
    QTRY_COMPARE_WITH_TIMEOUT(w.rest()->pendingRequests(), 0, 5000); // the discovery timed out meanwhile
    QCOMPARE(relayStates.count(), 0);                                // and did not open the relay
    QVERIFY(!lastLogEntry(*w.log(), u"relay_guessed"_s));

    // Connect again and let the question time out: port + 1, said in the log and the status bar.
    w.connectFromBar();
    QTRY_VERIFY_WITH_TIMEOUT(lastLogEntry(*w.log(), u"relay_guessed"_s), 5000);
    const QUrl guess(u"ws://127.0.0.1:%1/"_s.arg(mute.serverPort() + 1));
    const LogEntry *entry = lastLogEntry(*w.log(), u"relay_guessed"_s);
    QCOMPARE(entry->level, LogEntry::Level::Warning);
    QVERIFY2(entry->text.contains(guess.toString()) && entry->text.contains(u"no answer"_s), qPrintable(entry->text));
    QVERIFY2(w.statusBar()->currentMessage().contains(u"port + 1"_s), qPrintable(w.statusBar()->currentMessage()));
    QCOMPARE(w.relay()->url(), guess);
    QVERIFY(w.relay()->state() != RelayClient::State::Disconnected); // trying it
    QCOMPARE(w.connectionBar()->relayPlaceholder(), u"%1 (guessed: port + 1)"_s.arg(guess.toString()));
    w.disconnectFromRunner();
}

void TstMonitorWindow::stateColoursAreReadable_data()
{
    QTest::addColumn<bool>("dark");
    QTest::addColumn<int>("state");
    for (bool dark : {false, true})
        for (JobState s : {JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed,
                           JobState::Cancelled, JobState::Lost})
            QTest::addRow("%s %s", dark ? "dark" : "light", qPrintable(jobStateName(s))) << dark << int(s);
}

void TstMonitorWindow::stateColoursAreReadable()
{
    QFETCH(bool, dark);
    QFETCH(int, state);
    theme::apply(dark);
    const QPalette palette = QApplication::palette();
    QCOMPARE(theme::isDark(palette), dark);
    for (QPalette::ColorRole background : {QPalette::Base, QPalette::AlternateBase, QPalette::Window}) {
        const double ratio = contrast(theme::stateColor(JobState(state), palette), palette.color(background));
        QVERIFY2(ratio >= 3.0, qPrintable(u"contrast %1 on role %2"_s.arg(ratio).arg(int(background))));
    }
    QVERIFY(contrast(palette.color(QPalette::Text), palette.color(QPalette::Base)) >= 7.0);
    theme::apply(false);
}

void TstMonitorWindow::staysResponsiveAt30Fps()
{
    // The relay alone, fed at exactly 30 frames per second with full-size 512 px JPEG previews (the fake
    // ComfyUI renders its frames in this process, so it could not keep that pace itself).
    cr::EventHub hub;
    cr::RelaySettings settings;
    settings.host = u"127.0.0.1"_s;
    settings.port = 0;
    cr::RelayServer relay(&hub, settings, QString());
    QVERIFY(relay.listen());
    QList<QByteArray> jpegs;
    for (int i = 0; i < 6; ++i) {
        QImage image(512, 512, QImage::Format_RGB32);
        QPainter painter(&image);
        QRadialGradient gradient(QPointF(100 + 60 * i, 256), 400);
        gradient.setColorAt(0, QColor::fromHsv(i * 60, 200, 250));
        gradient.setColorAt(1, QColor::fromHsv(i * 60 + 120, 255, 60));
        painter.fillRect(image.rect(), gradient);
        for (int y = 0; y < 512; y += 8) // texture, so the JPEG is as large as a real preview
            painter.fillRect(QRect((y * 37 + i * 11) % 512, y, 40, 4), QColor::fromHsv((y + i * 40) % 360, 180, 220));
        painter.end();
        QByteArray bytes;
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        image.save(&buffer, "JPEG", 95);
        jpegs.append(bytes);
    }

    MainWindow w(m_settings.get(), fastRelay());
    w.resize(1400, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    theme::apply(true);
    w.connectTo(m_env->httpUrl(), u"ws://127.0.0.1:%1/"_s.arg(relay.port()));
    QTRY_COMPARE_WITH_TIMEOUT(w.relay()->state(), RelayClient::State::Connected, 5000);

    constexpr int kFrames = 90;
    const QString job = u"burst-job"_s;
    int sent = 0;
    QTimer producer;
    producer.setTimerType(Qt::PreciseTimer);
    producer.setInterval(33);
    connect(&producer, &QTimer::timeout, this, [&] {
        ++sent;
        const QByteArray event
            = u"{\"type\": \"progress\", \"data\": {\"value\": %1, \"max\": %2, \"prompt_id\": \"%3\", \"node\": \"3\"}}"_s
                  .arg(sent)
                  .arg(kFrames)
                  .arg(job)
                  .toUtf8();
        hub.publishComfyEvent(cr::protocol::parseTextFrame(event).value(), job);
        cr::protocol::PreviewFrame frame;
        frame.image = jpegs.at(sent % jpegs.size());
        frame.meta.promptId = job;
        frame.meta.nodeId = u"3"_s;
        hub.publishPreview(frame, job);
        if (sent == kFrames)
            producer.stop();
    });

    // The UI thread's longest pause while the frames stream in, and the frame rate it shows.
    QElapsedTimer clock;
    qint64 last = 0, worst = 0;
    double bestFps = 0;
    QTimer probe;
    probe.setInterval(10);
    connect(&probe, &QTimer::timeout, this, [&] {
        const qint64 now = clock.elapsed();
        worst = qMax(worst, now - last);
        last = now;
        bestFps = qMax(bestFps, w.preview()->fps());
    });
    clock.start();
    probe.start();
    producer.start();
    QTRY_COMPARE_WITH_TIMEOUT(w.preview()->frameNumber(), quint64(kFrames), 15000);
    probe.stop();
    const quint64 shown = w.preview()->framesShown();
    qInfo("frames: %llu received, %llu shown, %llu replaced in the relay slot, %llu skipped by the decoder; "
          "best shown rate %.0f fps; longest UI pause %lld ms",
          w.relay()->previewsReceived(), shown, w.relay()->previewsReplaced(), w.decoder()->skipped(), bestFps, worst);
    QCOMPARE(w.relay()->previewsReceived(), quint64(kFrames));
    QCOMPARE(w.tracker()->job(job)->node.value, double(kFrames));
    QVERIFY2(shown >= quint64(kFrames) / 2 && shown <= quint64(kFrames), qPrintable(QString::number(shown)));
    QVERIFY2(bestFps >= 20, qPrintable(QString::number(bestFps)));
    QVERIFY2(worst < 250, qPrintable(u"the UI thread stalled for %1 ms"_s.arg(worst)));
    QVERIFY(w.grab().save(screenshotPath("monitor-dark-30fps.png")));
    theme::apply(false);
}

// The window carries comfy_runner's icon in every size shipped in resources/icons.
void TstMonitorWindow::showsItsIcon()
{
    MainWindow window(m_settings.get());
    const QIcon icon = window.windowIcon();
    QVERIFY(!icon.isNull());
    for (int size : {16, 32, 48, 64, 128, 256})
        QVERIFY2(icon.availableSizes().contains(QSize(size, size)), qPrintable(QString::number(size)));
    QCOMPARE(icon.pixmap(QSize(256, 256)).size(), QSize(256, 256));
}

QTEST_MAIN(TstMonitorWindow)
#include "tst_monitorwindow.moc"
