#pragma once
// The monitor's window: connection bar, live preview with progress, workflow picker with Run, the job
// list, the backends of the runner's pool, the gallery and the event log. It builds the widgets and wires them to the
// client library (RelayClient, RestClient, JobTracker) and to the parts that act for it: RelayDiscovery (where the
// relay listens), RunController (the REST calls of the panel and the job list), ScriptedRun (--run-workflow) and
// PreviewRouter (frames to the preview, the frame cache). Window state and the last connection are kept in the
// QSettings it is given (WindowSettings).

#include "gui/client/monitortypes.h"
#include "gui/client/relayclient.h"

#include <QIcon>
#include <QJsonObject>
#include <QMainWindow>

#include <memory>

class QAction;
class QLabel;
class QSettings;
class QSplitter;

namespace cr::monitor {

class BackendsPanel;
class ConnectionBar;
class EventLogModel;
class EventLogView;
class GalleryView;
class JobListModel;
class JobTableView;
class JobTracker;
class PreviewDecoder;
class PreviewRouter;
class PreviewView;
class ProgressPanel;
class RelayDiscovery;
class RestClient;
class RunController;
class ScriptedRun;
class WindowSettings;
class WorkflowPanel;
struct RelayEndpoint;

class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    // settings: not owned, must outlive the window.
    explicit MainWindow(QSettings *settings, RelayClientOptions relayOptions = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    // comfy_runner's icon in every size shipped (resources/icons), also the application's window icon.
    static QIcon applicationIcon();

    // Fills the connection bar and connects (REST and relay). Empty relayUrl: the runner is asked for its
    // relay port (GET /api/v1/system, asynchronously); only when it cannot say, its port + 1 is tried.
    void connectTo(const QString &runnerUrl, const QString &relayUrl = {}, const QString &token = {});
    void connectFromBar();
    void disconnectFromRunner();
    void runCurrentWorkflow();
    void cancelSelectedJob();
    void cancelJob(const QString &jobId);
    // Runs `workflow` (with its default parameters) as soon as it is loaded and the relay is connected;
    // scriptedRunDone follows when that job has finished and its image outputs are in the gallery.
    void runWhenReady(const QString &workflow, const QJsonObject &extraInputs = {});
    void setDarkPalette(bool dark);
    void setFollowNewest(bool follow);
    void saveSettings();

    QString selectedJob() const;
    QString scriptedJob() const;

    // The parts, for tests and automation (observe; drive through the methods above or the widgets).
    RelayClient *relay() const { return m_relay; }
    RestClient *rest() const { return m_rest; }
    JobTracker *tracker() const { return m_tracker; }
    PreviewDecoder *decoder() const { return m_decoder; }
    PreviewView *preview() const { return m_preview; }
    ProgressPanel *progress() const { return m_progress; }
    WorkflowPanel *workflows() const { return m_workflowPanel; }
    JobTableView *jobTable() const { return m_jobTable; }
    JobListModel *jobModel() const { return m_jobModel; }
    GalleryView *gallery() const { return m_gallery; }
    EventLogModel *log() const { return m_log; }
    EventLogView *logView() const { return m_logView; }
    ConnectionBar *connectionBar() const { return m_connection; }
    RelayDiscovery *discovery() const { return m_discovery; }
    RunController *runs() const { return m_runs; }
    ScriptedRun *scripted() const { return m_scripted; }
    PreviewRouter *previews() const { return m_previews; }
    BackendsPanel *backends() const { return m_backends; }
    QAction *runAction() const { return m_runAction; }
    QAction *cancelAction() const { return m_cancelAction; }

signals:
    void jobSubmitted(const QString &jobId);
    void scriptedRunDone(const QString &jobId, bool succeeded);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildUi();
    void buildActions();
    void restoreSettings();
    void wireRelay();
    void wireRuns();
    void wireBackends();
    void loadWorkflows();
    void openRelay(const QUrl &relay);
    void onDiscovered(const RelayEndpoint &endpoint);
    void onRelayState(RelayClient::State state);
    void onWorkflowLoaded(const QString &name);
    void onJobSelected(const QString &jobId);
    void onJobChanged(const QString &jobId);
    void onSubmitted(const QString &workflow, const JobInfo &job);
    void updateStatus();
    void updateLag();
    void logLine(const QString &category, const QString &type, const QString &text, int level = 0,
                 const QString &jobId = {});

    QSettings *m_settings;
    std::unique_ptr<WindowSettings> m_windowSettings; // made once the widgets are
    RelayClient *m_relay;
    RestClient *m_rest;
    JobTracker *m_tracker;
    JobListModel *m_jobModel;
    EventLogModel *m_log;
    PreviewDecoder *m_decoder;
    RelayDiscovery *m_discovery;

    ConnectionBar *m_connection = nullptr;
    PreviewView *m_preview = nullptr;
    ProgressPanel *m_progress = nullptr;
    WorkflowPanel *m_workflowPanel = nullptr;
    JobTableView *m_jobTable = nullptr;
    GalleryView *m_gallery = nullptr;
    EventLogView *m_logView = nullptr;
    BackendsPanel *m_backends = nullptr;
    QSplitter *m_vertical = nullptr;
    QSplitter *m_top = nullptr;
    QSplitter *m_bottom = nullptr;
    QSplitter *m_right = nullptr;
    QLabel *m_statusEvents = nullptr;
    QLabel *m_statusPreviews = nullptr;
    QAction *m_runAction = nullptr;
    QAction *m_cancelAction = nullptr;
    QAction *m_darkAction = nullptr;
    QAction *m_followAction = nullptr;
    RunController *m_runs = nullptr; // after the widgets it fills
    ScriptedRun *m_scripted = nullptr;
    PreviewRouter *m_previews = nullptr;

    RelayClient::State m_loggedState = RelayClient::State::Disconnected;
};

} // namespace cr::monitor
