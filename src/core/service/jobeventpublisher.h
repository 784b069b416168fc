#pragma once
// Feeds the relay: every backend's ComfyUI events and previews routed to their job (through the prompt id of
// the job's current attempt), and the
// service's own job events (job_queued, job_started, job_progress, job_finished, job_failed,
// job_cancelled, plus the Python project's image_generated) — docs/relay-protocol.md lists their shapes.

#include <QHash>
#include <QObject>
#include <QString>
#include <QUrl>

namespace cr {

class BackendPool;
class EventHub;
class JobManager;
struct Job;

class JobEventPublisher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobEventPublisher)

public:
    // Relays every backend's ComfyUI traffic from now on. Constructed before anything else listens to the
    // pool, so that a frame goes out to the relay clients before the service does its own bookkeeping for it.
    JobEventPublisher(BackendPool *pool, EventHub *hub, QObject *parent = nullptr);
    // Names the jobs (ComfyUI's frames are routed to them) and publishes their events from now on; attached
    // after the REST API, so that a blocking request waiting for a job is answered before the relay clients
    // are written the job's end. Before the pool starts.
    void attach(JobManager *jobs);

    // `httpBase` is the API's base URL, used for the absolute image_url of image_generated.
    void setHttpBase(const QUrl &httpBase) { m_httpBase = httpBase; }

private:
    void onJobFinished(const Job &job);
    QString jobOf(const QString &promptId) const; // the job whose attempt the prompt is, else ""

    BackendPool *m_pool;
    JobManager *m_jobs = nullptr;
    EventHub *m_hub;
    QUrl m_httpBase;
    struct Running {
        QString prompt; // from execution_start/executing/progress
        QString node;
    };
    QHash<QString, Running> m_running; // per backend
};

} // namespace cr
