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
    // `httpBase` is the API's base URL, used for the absolute image_url of image_generated.
    JobEventPublisher(BackendPool *pool, JobManager *jobs, EventHub *hub, QObject *parent = nullptr);

    void setHttpBase(const QUrl &httpBase) { m_httpBase = httpBase; }

private:
    void onJobFinished(const Job &job);

    BackendPool *m_pool;
    JobManager *m_jobs;
    EventHub *m_hub;
    QUrl m_httpBase;
    struct Running {
        QString prompt; // from execution_start/executing/progress
        QString node;
    };
    QHash<QString, Running> m_running; // per backend
};

} // namespace cr
