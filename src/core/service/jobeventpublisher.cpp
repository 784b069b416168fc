#include "core/service/jobeventpublisher.h"

#include "core/api/apijson.h"
#include "core/api/legacyanswers.h"
#include "core/jobs/jobmanager.h"
#include "core/pool/backendpool.h"
#include "core/relay/eventhub.h"

namespace cr {

JobEventPublisher::JobEventPublisher(BackendPool *pool, EventHub *hub, QObject *parent)
    : QObject(parent), m_pool(pool), m_hub(hub)
{
    // ComfyUI's own traffic, byte-identical; the job is the one whose current attempt the prompt is.
    connect(m_pool, &BackendPool::eventReceived, this, [this](const QString &backend, const protocol::ComfyEvent &ev) {
        if (ev.type == protocol::EventType::FeatureFlags)
            return; // the answer to our own negotiation, not an event
        // Remember what runs, to name the prompt and node of type-1 previews (which do not say).
        Running &run = m_running[backend];
        if (ev.type == protocol::EventType::ExecutionStart) {
            run.prompt = ev.promptId;
        } else if (const auto *ex = ev.as<protocol::ExecutingEvent>()) {
            if (ex->finished && ev.promptId == run.prompt)
                run.prompt.clear(), run.node.clear();
            else if (!ex->finished)
                run.node = ex->node;
        } else if (const auto *p = ev.as<protocol::ProgressEvent>()) {
            run.prompt = p->promptId.isEmpty() ? run.prompt : p->promptId;
            run.node = p->node;
        }
        m_hub->publishComfyEvent(ev, jobOf(ev.promptId), backend);
    });
    connect(m_pool, &BackendPool::previewReceived, this,
            [this](const QString &backend, const protocol::PreviewFrame &f, const QByteArray &raw) {
                if (f.hadMetadata) {
                    m_hub->publishPreview(f, jobOf(f.meta.promptId), raw, backend);
                    return;
                }
                const Running run = m_running.value(backend);
                protocol::PreviewFrame named = f;
                named.meta.promptId = run.prompt;
                named.meta.nodeId = named.meta.displayNodeId = named.meta.realNodeId = run.node;
                m_hub->publishPreview(named, jobOf(run.prompt), raw, backend);
            });
    connect(m_pool, &BackendPool::otherBinaryReceived, this,
            [this](const QString &, const QByteArray &raw) { m_hub->publishBinary(raw); });
}

QString JobEventPublisher::jobOf(const QString &promptId) const
{
    return m_jobs && !promptId.isEmpty() ? m_jobs->jobForPrompt(promptId) : QString();
}

void JobEventPublisher::attach(JobManager *jobs)
{
    m_jobs = jobs;
    using protocol::ServiceEvent;
    using protocol::ServiceEventType;
    connect(m_jobs, &JobManager::jobQueued, this, [this](const Job &job) {
        m_hub->publishServiceEvent(
            ServiceEvent::of(ServiceEventType::JobQueued,
                             protocol::JobQueuedEvent{job.id, job.id, job.workflow,
                                                      job.etaRemainingMs(QDateTime::currentMSecsSinceEpoch())}));
    });
    connect(m_jobs, &JobManager::jobStarted, this, [this](const Job &job) {
        m_hub->publishServiceEvent(
            ServiceEvent::of(ServiceEventType::JobStarted, protocol::JobStartedEvent{job.id, job.id}));
    });
    connect(m_jobs, &JobManager::jobProgress, this, [this](const Job &job) {
        m_hub->publishServiceEvent(ServiceEvent::of(
            ServiceEventType::JobProgress,
            protocol::JobProgressEvent{job.id, job.progress.node, job.progress.nodeClass, job.progress.value,
                                       job.progress.max, job.etaRemainingMs(QDateTime::currentMSecsSinceEpoch())}));
    });
    connect(m_jobs, &JobManager::jobFinished, this, &JobEventPublisher::onJobFinished);
    // A pruned job's event log goes with it (GET /api/v1/jobs/{id}/events then answers job_expired).
    connect(m_jobs, &JobManager::jobsPruned, this, [this](const QStringList &ids) {
        for (const QString &id : ids)
            m_hub->forgetJob(id);
    });
}

void JobEventPublisher::onJobFinished(const Job &job)
{
    m_hub->publishServiceEvent(protocol::ServiceEvent::ended(jobRecord(job)));
    if (job.state != JobState::Succeeded || job.outputs.isEmpty())
        return;
    // The Python project's event, one flat object as it sent it (Node-RED flows read msg.payload.image_url).
    protocol::ImageGeneratedEvent image{legacy::workflowCompleted(),       job.id, job.id,
                                        job.outputs.first().file.filename, {},     {}};
    for (int i = 0; i < job.outputs.size(); ++i) {
        QUrl u = m_httpBase;
        u.setPath(outputUrl(job.id, i));
        image.images.append(u.toString());
    }
    image.imageUrl = image.images.first();
    m_hub->publishServiceEvent(protocol::ServiceEvent::of(protocol::ServiceEventType::ImageGenerated, image));
}

} // namespace cr
