#pragma once
// The service's own metrics (docs/metrics.md), registered with the MetricsRegistry by the composition root:
// jobs by state and workflow with duration and queue-wait histograms (counted from JobManager's signals,
// once per job step), and, read at scrape time from the modules' own counters, the ComfyUI connection per
// backend, the jobs queued and running per backend, the relay's clients and totals, and the process.

#include "core/comfy/comfyconnection.h"
#include "core/jobs/job.h"
#include "core/metrics/histogram.h"
#include "core/pool/backendpool.h"

#include <QHash>
#include <QObject>
#include <QSet>

#include <array>

namespace cr {

class ComfyClient;
class JobManager;
class MetricsRegistry;
class MetricsWriter;
class RelayServer;
class WorkflowStore;

class ServiceMetrics final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServiceMetrics)

public:
    // Pointers are not owned and must outlive this object; each backend of the pool is a `backend` label.
    ServiceMetrics(MetricsRegistry *registry, BackendPool *pool, JobManager *jobs, RelayServer *relay,
                   const WorkflowStore *workflows, QObject *parent = nullptr);

private:
    static constexpr int kStates = int(JobState::Lost) + 1;
    // The bounded `workflow` label: a name loaded from the workflows folder, else "other".
    QString workflowLabel(const QString &workflow) const;
    void count(const Job &job, JobState state); // the job entered `state`
    void writeJobs(MetricsWriter &w) const;
    void writeBackend(MetricsWriter &w) const;
    void writeRelay(MetricsWriter &w) const;

    BackendPool *m_pool;
    JobManager *m_jobs;
    RelayServer *m_relay;
    const WorkflowStore *m_workflows;
    QHash<QString, std::array<quint64, kStates>> m_jobCounts; // workflow label -> jobs that entered each state
    QHash<QString, Histogram> m_duration;                     // workflow label -> run time (started to finished)
    QHash<QString, Histogram> m_queueWait;                    // workflow label -> created to started
    QHash<QString, quint64> m_reconnects;                     // per backend
    QSet<QString> m_everConnected;
};

} // namespace cr
