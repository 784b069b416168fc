#pragma once
// Feeds the relay: ComfyUI's events and previews routed to their job (job id = prompt id), and the
// service's own job events (job_queued, job_started, job_progress, job_finished, job_failed,
// job_cancelled, plus the Python project's image_generated) — docs/relay-protocol.md lists their shapes.

#include <QObject>
#include <QString>
#include <QUrl>

namespace cr {

class ComfyClient;
class EventHub;
class JobManager;
struct Job;

class JobEventPublisher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobEventPublisher)

public:
    // `httpBase` is the API's base URL, used for the absolute image_url of image_generated.
    JobEventPublisher(ComfyClient *comfy, JobManager *jobs, EventHub *hub, QObject *parent = nullptr);

    void setHttpBase(const QUrl &httpBase) { m_httpBase = httpBase; }

private:
    void onJobFinished(const Job &job);

    ComfyClient *m_comfy;
    JobManager *m_jobs;
    EventHub *m_hub;
    QUrl m_httpBase;
    QString m_runningPrompt; // from execution_start/executing/progress
    QString m_runningNode;
};

} // namespace cr
