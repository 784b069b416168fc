#include "gui/app/scriptedrun.h"

#include "gui/app/galleryview.h"
#include "gui/client/jobtracker.h"

namespace cr::monitor {

ScriptedRun::ScriptedRun(JobTracker *tracker, GalleryView *gallery, QObject *parent)
    : QObject(parent), m_tracker(tracker), m_gallery(gallery)
{ }

void ScriptedRun::start(const QString &workflow, const QJsonObject &extraInputs)
{
    m_workflow = workflow;
    m_inputs = extraInputs;
    m_jobId.clear();
    m_done = false;
}

void ScriptedRun::takeInputs(const std::function<bool(const QString &, const QJsonValue &)> &take)
{
    for (const QString &key : m_inputs.keys())
        if (take(key, m_inputs.value(key)))
            m_inputs.remove(key);
}

QJsonObject ScriptedRun::withExtraInputs(const QString &workflow, QJsonObject inputs) const
{
    if (!m_workflow.isEmpty() && workflow == m_workflow)
        for (auto it = m_inputs.begin(); it != m_inputs.end(); ++it)
            inputs.insert(it.key(), it.value());
    return inputs;
}

void ScriptedRun::jobSubmitted(const QString &jobId)
{
    if (m_workflow.isEmpty() || !m_jobId.isEmpty())
        return;
    m_jobId = jobId;
    m_workflow.clear();
    m_inputs = {};
}

void ScriptedRun::submitFailed(const QString &workflow)
{
    if (m_workflow.isEmpty() || workflow != m_workflow)
        return;
    m_workflow.clear(); // a scripted run that cannot start is over
    m_inputs = {};
    emit finished(QString(), false);
}

void ScriptedRun::check()
{
    if (m_jobId.isEmpty() || m_done)
        return;
    const JobView *job = m_tracker->job(m_jobId);
    if (!job || !isFinal(job->info.state) || !job->confirmedFinal)
        return;
    bool complete = true;
    if (job->info.state == JobState::Succeeded)
        for (const JobOutput &out : job->info.outputs)
            complete = complete && (!out.isImage() || m_gallery->contains(m_jobId, out.index));
    if (!complete)
        return;
    m_done = true;
    emit finished(m_jobId, job->info.state == JobState::Succeeded);
}

} // namespace cr::monitor
