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
    // Relays ComfyUI's traffic from now on. Constructed before anything else listens to `comfy`, so that a
    // frame goes out to the relay clients before the service does its own bookkeeping for it.
    JobEventPublisher(ComfyClient *comfy, EventHub *hub, QObject *parent = nullptr);
    // Names the jobs (ComfyUI's frames are routed to them) and publishes their events from now on; attached
    // after the REST API, so that a blocking request waiting for a job is answered before the relay clients
    // are written the job's end. Before ComfyClient::start().
    void attach(JobManager *jobs);

    // `httpBase` is the API's base URL, used for the absolute image_url of image_generated.
    void setHttpBase(const QUrl &httpBase) { m_httpBase = httpBase; }

private:
    void onJobFinished(const Job &job);
    QString jobOf(const QString &promptId) const; // the prompt id when it is a job's, else ""

    ComfyClient *m_comfy;
    JobManager *m_jobs = nullptr;
    EventHub *m_hub;
    QUrl m_httpBase;
    QString m_runningPrompt; // from execution_start/executing/progress
    QString m_runningNode;
};

} // namespace cr
