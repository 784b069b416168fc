#include "gui/app/mainwindow.h"

#include "gui/app/backendspanel.h"
#include "gui/app/connectionbar.h"
#include "gui/app/eventlogview.h"
#include "gui/app/galleryview.h"
#include "gui/app/jobtableview.h"
#include "gui/app/previewdecoder.h"
#include "gui/app/previewrouter.h"
#include "gui/app/previewview.h"
#include "gui/app/progresspanel.h"
#include "gui/app/relaydiscovery.h"
#include "gui/app/runcontroller.h"
#include "gui/app/scriptedrun.h"
#include "gui/app/theme.h"
#include "gui/app/windowsettings.h"
#include "gui/app/workflowpanel.h"
#include "gui/client/backendpoller.h"
#include "gui/client/eventlogmodel.h"
#include "gui/client/joblistmodel.h"
#include "gui/client/jobtracker.h"
#include "gui/client/restclient.h"

#include <QAction>
#include <QCloseEvent>
#include <QIcon>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>

namespace cr::monitor {

QIcon MainWindow::applicationIcon()
{
    QIcon icon;
    for (int size : {16, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/comfyrunner/icons/comfy-runner-%1.png").arg(size), QSize(size, size));
    return icon;
}

MainWindow::MainWindow(QSettings *settings, RelayClientOptions relayOptions, QWidget *parent)
    : QMainWindow(parent), m_settings(settings), m_relay(new RelayClient(relayOptions, this)),
      m_rest(new RestClient(this)), m_tracker(new JobTracker(m_relay, m_rest, this)),
      m_jobModel(new JobListModel(m_tracker, this)), m_log(new EventLogModel(2000, this)),
      m_decoder(new PreviewDecoder(this)), m_discovery(new RelayDiscovery(m_rest, this))
{
    setWindowTitle(tr("comfy-runner monitor"));
    setWindowIcon(applicationIcon());
    buildUi();
    buildActions();
    m_runs = new RunController(m_rest, m_tracker, m_workflowPanel, this);
    m_scripted = new ScriptedRun(m_tracker, m_gallery, this);
    m_previews = new PreviewRouter(m_relay, m_decoder, m_preview, this);
    wireRelay();
    wireRuns();
    wireBackends();

    auto *tick = new QTimer(this);
    tick->setInterval(1000);
    connect(tick, &QTimer::timeout, this, [this] {
        m_jobModel->tick();
        updateStatus();
        m_preview->update(); // the fps figure decays when frames stop
    });
    tick->start();
    restoreSettings();
    m_previews->setFollowNewest(m_followAction->isChecked());
    updateStatus();
}

// The relay link and discovery: state, lag and what the relay says, into the bar and the event log.
void MainWindow::wireRelay()
{
    connect(m_discovery, &RelayDiscovery::discovered, this, &MainWindow::onDiscovered);
    connect(m_relay, &RelayClient::stateChanged, this, &MainWindow::onRelayState);
    connect(m_previews, &PreviewRouter::frameDecoded, this, &MainWindow::updateStatus);
    connect(m_relay, &RelayClient::eventReceived, m_log, &EventLogModel::appendEvent);
    connect(m_relay, &RelayClient::lagChanged, this, &MainWindow::updateLag);
    connect(m_relay, &RelayClient::roundTripChanged, this, &MainWindow::updateLag);
    connect(m_relay, &RelayClient::gap, this, [this](qint64 since, qint64 first, const QString &reason) {
        logLine(QStringLiteral("relay"), QStringLiteral("relay_gap"),
                tr("events after seq %1 are gone (%2); next seq %3; refreshing from the REST API")
                    .arg(since)
                    .arg(reason)
                    .arg(first),
                1);
    });
    connect(m_relay, &RelayClient::welcomed, this, [this](qint64 lastSeq, qint64 replayed) {
        logLine(QStringLiteral("relay"), QStringLiteral("relay_welcome"),
                replayed > 0 ? tr("resumed: %1 missed event(s) replayed, relay at seq %2").arg(replayed).arg(lastSeq)
                             : tr("relay at seq %1").arg(lastSeq));
    });
    connect(m_relay, &RelayClient::errorOccurred, this,
            [this](const QString &message) { logLine(QStringLiteral("relay"), QStringLiteral("error"), message, 2); });
    connect(m_relay, &RelayClient::closedByRelay, this, [this](int code, const QString &reason) {
        logLine(QStringLiteral("relay"), QStringLiteral("closed"),
                tr("closed by the relay: %1 %2").arg(code).arg(reason), 1);
    });
    connect(m_rest, &RestClient::requestFailed, this,
            [this](const QString &method, const QString &path, const cr::Error &e) {
                logLine(QStringLiteral("rest"), e.code, QStringLiteral("%1 %2: %3").arg(method, path, e.message), 2);
            });
    connect(m_connection, &ConnectionBar::connectRequested, this, &MainWindow::connectFromBar);
    connect(m_connection, &ConnectionBar::disconnectRequested, this, &MainWindow::disconnectFromRunner);
}

// The backends panel: polled while the relay is up; the preview follows the backend chosen there.
void MainWindow::wireBackends()
{
    connect(m_backends, &BackendsPanel::followedBackendChanged, m_previews, &PreviewRouter::setFollowedBackend);
    connect(m_relay, &RelayClient::stateChanged, this, [this](RelayClient::State state) {
        BackendPoller *poller = m_backends->poller();
        if (state == RelayClient::State::Connected && !poller->isRunning())
            poller->start();
        else if (state == RelayClient::State::Disconnected)
            poller->stop();
    });
    connect(m_backends, &BackendsPanel::drainFailed, this, [this](const QString &backend, const QString &message) {
        logLine(QStringLiteral("rest"), QStringLiteral("drain"), tr("backend %1: %2").arg(backend, message), 2);
    });
}

// Runs and jobs: the panel and the job table to the RunController, its answers to the scripted run, the
// selection and the log; the tracker's jobs to the progress panel and the gallery.
void MainWindow::wireRuns()
{
    connect(m_tracker, &JobTracker::jobChanged, this, &MainWindow::onJobChanged);
    connect(m_tracker, &JobTracker::jobStarted, this, [this](const QString &id) {
        const JobView *job = m_tracker->job(id);
        const QString backend = m_backends->followedBackend();
        if (m_followAction->isChecked() && (backend.isEmpty() || (job && job->info.backend == backend)))
            m_jobTable->selectJob(id);
    });
    connect(m_tracker, &JobTracker::outputFetched, this, [this](const DownloadedOutput &file) {
        if (!m_gallery->addOutput(file))
            logLine(QStringLiteral("rest"), QStringLiteral("output"),
                    tr("output %1 of job %2 is not a readable image").arg(file.index).arg(file.jobId), 1, file.jobId);
    });
    connect(m_jobTable, &JobTableView::jobSelected, this, &MainWindow::onJobSelected);
    connect(m_jobTable, &JobTableView::cancelClicked, this, &MainWindow::cancelJob);
    connect(m_followAction, &QAction::toggled, m_previews, &PreviewRouter::setFollowNewest);

    connect(m_workflowPanel, &WorkflowPanel::workflowSelected, m_runs, &RunController::loadWorkflow);
    connect(m_workflowPanel, &WorkflowPanel::runRequested, this,
            [this](const QString &workflow, const QJsonObject &inputs) {
                m_runs->submit(workflow, m_scripted->withExtraInputs(workflow, inputs));
            });
    connect(m_runs, &RunController::workflowLoaded, this, &MainWindow::onWorkflowLoaded);
    connect(m_runs, &RunController::submitted, this, &MainWindow::onSubmitted);
    connect(m_runs, &RunController::submitFailed, m_scripted, &ScriptedRun::submitFailed);
    connect(m_gallery, &GalleryView::outputAdded, m_scripted, &ScriptedRun::check); // (job changes: onJobChanged)
    connect(m_scripted, &ScriptedRun::finished, this, [this](const QString &jobId, bool succeeded) {
        updateStatus();
        emit scriptedRunDone(jobId, succeeded);
    });
}

MainWindow::~MainWindow() { m_relay->close(); }

void MainWindow::restoreSettings()
{
    // First start: preview ~58 % wide, the bottom row (outputs, log) ~30 % high.
    m_windowSettings = std::make_unique<WindowSettings>(
        m_settings,
        WindowParts{this,
                    {{m_vertical, {620, 270}}, {m_top, {810, 590}}, {m_bottom, {560, 840}}, {m_right, {250, 370, 150}}},
                    m_connection,
                    m_workflowPanel,
                    m_logView,
                    m_followAction,
                    m_darkAction});
    m_windowSettings->restore();
}

void MainWindow::saveSettings() { m_windowSettings->save(); }

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    event->accept();
}

void MainWindow::setDarkPalette(bool dark)
{
    theme::apply(dark);
    if (m_darkAction->isChecked() != dark) {
        const QSignalBlocker block(m_darkAction);
        m_darkAction->setChecked(dark);
    }
    onRelayState(m_relay->state()); // colours of the state dot and the progress title
    onJobChanged(selectedJob());
}

void MainWindow::setFollowNewest(bool follow) { m_followAction->setChecked(follow); }

void MainWindow::connectTo(const QString &runnerUrl, const QString &relayUrl, const QString &token)
{
    m_connection->setFields(runnerUrl, relayUrl, token);
    connectFromBar();
}

void MainWindow::connectFromBar()
{
    const QUrl runner = QUrl::fromUserInput(m_connection->runnerUrl());
    const QUrl typedRelay = m_connection->typedRelayUrl();
    if (!runner.isValid() || runner.host().isEmpty()) {
        logLine(QStringLiteral("ui"), QStringLiteral("error"),
                tr("\"%1\" is not a runner URL").arg(m_connection->runnerUrl()), 2);
        return;
    }
    if (runner != m_rest->baseUrl()) {
        m_tracker->clear(); // another runner: its jobs are not these
        m_previews->clear();
        m_backends->poller()->clear();
    }
    m_rest->setBaseUrl(runner);
    m_rest->setToken(m_connection->token());
    m_relay->setToken(m_connection->token());
    setWindowTitle(tr("comfy-runner monitor — %1").arg(runner.toString()));
    loadWorkflows();
    saveSettings();
    if (!typedRelay.isEmpty()) {
        m_discovery->cancel(); // one still under way must not open another relay
        m_connection->setRelayInUse({}, false);
        logLine(QStringLiteral("ui"), QStringLiteral("connect"),
                tr("runner %1, relay %2").arg(runner.toString(), typedRelay.toString()));
        openRelay(typedRelay);
        return;
    }
    // No relay URL typed: ask the runner where its relay listens (asynchronously; the UI goes on).
    m_discovery->start();
    logLine(QStringLiteral("ui"), QStringLiteral("connect"),
            tr("runner %1; asking it for its relay port").arg(runner.toString()));
    onRelayState(m_relay->state());
}

void MainWindow::onDiscovered(const RelayEndpoint &endpoint)
{
    m_connection->setRelayInUse(endpoint.url, endpoint.reported);
    if (endpoint.reported) {
        logLine(QStringLiteral("ui"), QStringLiteral("relay_discovered"),
                tr("relay %1 (reported by the runner)").arg(endpoint.url.toString()));
    } else {
        const QString text
            = tr("relay %1 guessed (runner port + 1): %2").arg(endpoint.url.toString(), endpoint.fallbackReason);
        logLine(QStringLiteral("ui"), QStringLiteral("relay_guessed"), text, 1);
        statusBar()->showMessage(text, 15000);
    }
    openRelay(endpoint.url);
}

void MainWindow::openRelay(const QUrl &relay)
{
    m_relay->setUrl(relay);
    m_relay->open();
}

void MainWindow::disconnectFromRunner()
{
    m_discovery->cancel(); // a discovery still under way must not open the relay
    m_relay->close();
    onRelayState(m_relay->state());
    logLine(QStringLiteral("ui"), QStringLiteral("disconnect"), tr("disconnected by the user"));
}

void MainWindow::loadWorkflows()
{
    m_runs->loadWorkflows([this] {
        const QString pending = m_scripted->pendingWorkflow();
        return pending.isEmpty() ? m_windowSettings->lastWorkflow() : pending;
    });
}

void MainWindow::onRelayState(RelayClient::State state)
{
    QString detail;
    if (state == RelayClient::State::Reconnecting)
        detail = tr("retry in %1 s").arg(m_relay->retryInMs() / 1000.0, 0, 'f', 1);
    if (state != RelayClient::State::Connected && !m_relay->lastError().isEmpty())
        detail += (detail.isEmpty() ? QString() : QStringLiteral("; ")) + m_relay->lastError();
    if (m_discovery->isActive() && state == RelayClient::State::Disconnected)
        m_connection->setState(RelayClient::State::Connecting, tr("asking the runner for its relay port"));
    else
        m_connection->setState(state, detail);
    updateStatus();
    if (state != m_loggedState)
        logLine(QStringLiteral("relay"), QStringLiteral("state"),
                RelayClient::stateName(state) + (detail.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(detail)),
                state == RelayClient::State::Reconnecting ? 1 : 0);
    m_loggedState = state;
    if (state == RelayClient::State::Connected) {
        if (!m_runs->workflowsLoaded())
            loadWorkflows();
        const QString pending = m_scripted->pendingWorkflow();
        if (!pending.isEmpty() && m_workflowPanel->workflow().name == pending)
            runCurrentWorkflow();
    }
    updateLag();
}

void MainWindow::updateLag() { m_connection->setLag(m_relay->lagMs(), m_relay->roundTripMs()); }

// A workflow's parameters are in the editors: a scripted run of it puts its inputs there and starts.
void MainWindow::onWorkflowLoaded(const QString &name)
{
    if (m_scripted->pendingWorkflow() != name)
        return;
    m_scripted->takeInputs(
        [this](const QString &key, const QJsonValue &value) { return m_workflowPanel->setParameter(key, value); });
    if (m_relay->state() == RelayClient::State::Connected)
        runCurrentWorkflow();
}

QString MainWindow::selectedJob() const { return m_previews->selectedJob(); }

QString MainWindow::scriptedJob() const { return m_scripted->jobId(); }

void MainWindow::onJobSelected(const QString &jobId)
{
    if (jobId == selectedJob())
        return;
    m_previews->selectJob(jobId);
    m_cancelAction->setEnabled(!jobId.isEmpty());
    onJobChanged(jobId);
}

void MainWindow::onJobChanged(const QString &jobId)
{
    if (jobId == selectedJob())
        m_progress->setJob(m_tracker->job(jobId));
    updateStatus();
    if (jobId == m_scripted->jobId())
        m_scripted->check();
}

void MainWindow::onSubmitted(const QString &workflow, const JobInfo &job)
{
    logLine(QStringLiteral("rest"), QStringLiteral("submitted"), tr("%1 queued").arg(workflow), 0, job.id);
    if (m_followAction->isChecked())
        m_jobTable->selectJob(job.id);
    m_scripted->jobSubmitted(job.id);
    emit jobSubmitted(job.id);
}

void MainWindow::runCurrentWorkflow()
{
    if (!m_workflowPanel->runButton()->isEnabled())
        return;
    m_workflowPanel->runButton()->click();
}

void MainWindow::runWhenReady(const QString &workflow, const QJsonObject &extraInputs)
{
    m_scripted->start(workflow, extraInputs);
    if (m_workflowPanel->workflow().name == workflow && m_relay->state() == RelayClient::State::Connected)
        runCurrentWorkflow();
    else if (m_runs->workflowsLoaded() && !m_workflowPanel->selectWorkflow(workflow))
        logLine(QStringLiteral("ui"), QStringLiteral("error"), tr("the runner has no workflow \"%1\"").arg(workflow),
                2);
}

void MainWindow::cancelSelectedJob() { cancelJob(selectedJob()); }

void MainWindow::cancelJob(const QString &jobId)
{
    if (jobId.isEmpty())
        return;
    logLine(QStringLiteral("ui"), QStringLiteral("cancel"), tr("cancel requested"), 0, jobId);
    m_runs->cancel(jobId);
}

void MainWindow::updateStatus()
{
    m_statusPreviews->setText(tr("previews: %1 received · %2 shown · %3 skipped")
                                  .arg(m_relay->previewsReceived())
                                  .arg(m_preview->framesShown())
                                  .arg(m_relay->previewsReplaced() + m_decoder->skipped()));
    m_statusEvents->setText(tr("events: %1 · last seq %2 · connections %3")
                                .arg(m_relay->eventsReceived())
                                .arg(m_relay->lastSeq())
                                .arg(m_relay->connections()));
}

void MainWindow::logLine(const QString &category, const QString &type, const QString &text, int level,
                         const QString &jobId)
{
    LogEntry e;
    e.category = category;
    e.type = type;
    e.text = text;
    e.jobId = jobId;
    e.level = LogEntry::Level(qBound(0, level, 2));
    m_log->append(std::move(e));
}

} // namespace cr::monitor
