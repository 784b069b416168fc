#include "gui/app/runcontroller.h"

#include "gui/app/workflowpanel.h"
#include "gui/client/jobtracker.h"
#include "gui/client/restclient.h"

namespace cr::monitor {

RunController::RunController(RestClient *rest, JobTracker *tracker, WorkflowPanel *panel, QObject *parent)
    : QObject(parent), m_rest(rest), m_tracker(tracker), m_panel(panel)
{ }

void RunController::loadWorkflows(const std::function<QString()> &preferred)
{
    m_rest->listWorkflows(this, [this, preferred](Result<QStringList> r) {
        if (!r) {
            m_panel->setStatus(tr("No workflows: %1").arg(r.error().message), true);
            return;
        }
        m_workflowsLoaded = true;
        m_panel->setWorkflows(*r, preferred ? preferred() : QString());
        m_panel->setRunEnabled(!r->isEmpty());
    });
}

void RunController::loadWorkflow(const QString &name)
{
    m_rest->getWorkflow(name, this, [this, name](Result<WorkflowInfo> r) {
        if (!r)
            return m_panel->setStatus(tr("Cannot load \"%1\": %2").arg(name, r.error().message), true);
        m_panel->setWorkflow(*r);
        emit workflowLoaded(name);
    });
}

void RunController::submit(const QString &workflow, const QJsonObject &inputs)
{
    m_panel->setStatus(tr("Submitting…"));
    m_rest->createJob(workflow, inputs, this, [this, workflow](Result<JobInfo> r) {
        if (!r) {
            m_panel->setStatus(tr("Run failed: %1").arg(r.error().message), true);
            emit submitFailed(workflow);
            return;
        }
        m_panel->setStatus(tr("Queued job %1").arg(r->id.left(8)));
        m_tracker->noteSubmitted(*r);
        emit submitted(workflow, *r);
    });
}

void RunController::cancel(const QString &jobId)
{
    m_rest->cancelJob(jobId, this, [this](Result<JobInfo> r) {
        if (r)
            m_tracker->noteSubmitted(*r);
    });
}

} // namespace cr::monitor
