#pragma once
// The REST calls behind the workflow panel and the job list: the runner's workflows, one workflow's
// parameters, submitting a run and cancelling a job. Answers go into the panel (list, editors, status
// line) and the job tracker; the window wires the panel's signals to these methods and reacts to the
// signals below (scripted run, log, selection).

#include "gui/client/monitortypes.h"

#include <QJsonObject>
#include <QObject>

#include <functional>

namespace cr::monitor {

class JobTracker;
class RestClient;
class WorkflowPanel;

class RunController final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RunController)

public:
    // All not owned.
    RunController(RestClient *rest, JobTracker *tracker, WorkflowPanel *panel, QObject *parent = nullptr);

    // GET /api/v1/workflows into the panel, `preferred()` (asked when the answer arrives) selected.
    void loadWorkflows(const std::function<QString()> &preferred);
    bool workflowsLoaded() const { return m_workflowsLoaded; } // a list arrived once
    // GET /api/v1/workflows/{name} into the panel's editors; workflowLoaded follows.
    void loadWorkflow(const QString &name);
    // POST /api/v1/jobs; the queued job goes into the tracker, then submitted (or submitFailed).
    void submit(const QString &workflow, const QJsonObject &inputs);
    // POST /api/v1/jobs/{id}/cancel; the answer goes into the tracker.
    void cancel(const QString &jobId);

signals:
    void workflowLoaded(const QString &name);
    void submitted(const QString &workflow, const cr::monitor::JobInfo &job);
    void submitFailed(const QString &workflow);

private:
    RestClient *m_rest;
    JobTracker *m_tracker;
    WorkflowPanel *m_panel;
    bool m_workflowsLoaded = false;
};

} // namespace cr::monitor
