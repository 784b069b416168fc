#include "core/service/servicemetrics.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/metrics/metricsregistry.h"
#include "core/metrics/processmetrics.h"
#include "core/relay/relayserver.h"
#include "core/workflows/workflowstore.h"

#include <QCoreApplication>

namespace cr {

namespace {
using protocol::RelayCloseCode;
constexpr const char *kOther = "other";
} // namespace

ServiceMetrics::ServiceMetrics(MetricsRegistry *registry, BackendPool *pool, JobManager *jobs, RelayServer *relay,
                               const WorkflowStore *workflows, QObject *parent)
    : QObject(parent), m_pool(pool), m_jobs(jobs), m_relay(relay), m_workflows(workflows)
{
    // The signal names the step: a job may already be running when jobQueued is emitted.
    connect(jobs, &JobManager::jobQueued, this, [this](const Job &job) { count(job, JobState::Queued); });
    connect(jobs, &JobManager::jobStarted, this, [this](const Job &job) { count(job, JobState::Running); });
    connect(jobs, &JobManager::jobFinished, this, [this](const Job &job) { count(job, job.state); });
    for (Backend *b : pool->backends()) {
        const QString name = b->name();
        connect(b->client(), &ComfyClient::stateChanged, this, [this, name](ConnectionState s) {
            if (s != ConnectionState::Connected)
                return;
            if (m_everConnected.contains(name))
                ++m_reconnects[name];
            m_everConnected.insert(name);
        });
    }
    registry->add(this, [this](MetricsWriter &w) {
        w.family("comfyrunner_build_info", MetricType::Gauge, "Always 1; the version of the running comfy-runner.");
        w.value({{"version", QCoreApplication::applicationVersion().toUtf8()}}, 1);
        writeJobs(w);
        writeBackend(w);
        writeRelay(w);
        writeProcessMetrics(w);
    });
}

QString ServiceMetrics::workflowLabel(const QString &workflow) const
{
    return m_workflows && !workflow.isEmpty() && m_workflows->names().contains(workflow) ? workflow
                                                                                         : QString::fromLatin1(kOther);
}

void ServiceMetrics::count(const Job &job, JobState state)
{
    if (job.remote)
        return; // another runner of the cluster counts it
    const QString label = workflowLabel(job.workflow);
    auto it = m_jobCounts.find(label);
    if (it == m_jobCounts.end())
        it = m_jobCounts.insert(label, {});
    ++(*it)[int(state)];
    auto observe = [&label](QHash<QString, Histogram> &h, std::span<const double> bounds, const QDateTime &from,
                            const QDateTime &to) {
        if (!from.isValid() || !to.isValid())
            return;
        auto hit = h.find(label);
        if (hit == h.end())
            hit = h.insert(label, Histogram(bounds));
        hit->observe(double(qMax<qint64>(0, from.msecsTo(to))) / 1000.0);
    };
    if (state == JobState::Running)
        observe(m_queueWait, kQueueWaitBuckets, job.createdAt, job.startedAt);
    else if (isFinal(state))
        observe(m_duration, kJobDurationBuckets, job.startedAt, job.finishedAt);
}

void ServiceMetrics::writeJobs(MetricsWriter &w) const
{
    // Every loaded workflow (and "other") with every state, zeros included, so that rate() has a start.
    QHash<QString, std::array<quint64, kStates>> counts = m_jobCounts;
    const QStringList names = m_workflows ? m_workflows->names() : QStringList();
    for (const QString &name : names + QStringList{QString::fromLatin1(kOther)})
        if (!counts.contains(name))
            counts.insert(name, {});
    QStringList labels = counts.keys();
    labels.sort();
    w.family("comfyrunner_jobs_total", MetricType::Counter,
             "Jobs that entered each state (queued, running, succeeded, failed, cancelled, lost), by workflow.");
    for (const QString &label : labels)
        for (int s = 0; s < kStates; ++s)
            w.value({{"workflow", label.toUtf8()}, {"state", jobStateName(JobState(s)).toUtf8()}},
                    double(counts.value(label)[s]));
    auto histograms = [&w](const QHash<QString, Histogram> &h) {
        QStringList keys = h.keys();
        keys.sort();
        for (const QString &key : keys)
            w.histogram({{"workflow", key.toUtf8()}}, h.value(key));
    };
    w.family("comfyrunner_job_duration_seconds", MetricType::Histogram,
             "Run time of finished jobs that started (started to finished), by workflow.");
    histograms(m_duration);
    w.family("comfyrunner_job_queue_wait_seconds", MetricType::Histogram,
             "Time jobs waited in ComfyUI's queue (accepted to started), by workflow.");
    histograms(m_queueWait);
}

void ServiceMetrics::writeBackend(MetricsWriter &w) const
{
    const QList<Backend *> &all = m_pool->backends();
    const auto label = [](const Backend *b) { return MetricLabels{{"backend", b->name().toUtf8()}}; };
    w.family("comfyrunner_comfyui_connected", MetricType::Gauge,
             "1 while the WebSocket to the ComfyUI backend is connected.");
    for (const Backend *b : all)
        w.value(label(b), b->isConnected() ? 1 : 0);
    w.family("comfyrunner_comfyui_reconnects_total", MetricType::Counter,
             "Connections to the ComfyUI backend established again after a loss.");
    for (const Backend *b : all)
        w.value(label(b), double(m_reconnects.value(b->name())));
    // A pool of one counts the jobs waiting in the runner as its own (as before pools); a pool counts the
    // jobs handed to each backend.
    const bool one = m_pool->isPoolOfOne();
    w.family("comfyrunner_backend_jobs_queued", MetricType::Gauge,
             "Jobs accepted by the backend and waiting in its queue.");
    for (const Backend *b : all)
        w.value(label(b), one ? m_jobs->countIn(JobState::Queued) : m_jobs->countAt(b->name(), JobState::Queued));
    w.family("comfyrunner_backend_jobs_running", MetricType::Gauge, "Jobs executing on the backend now (in flight).");
    for (const Backend *b : all)
        w.value(label(b), one ? m_jobs->countIn(JobState::Running) : m_jobs->countAt(b->name(), JobState::Running));
}

void ServiceMetrics::writeRelay(MetricsWriter &w) const
{
    if (!m_relay)
        return;
    const RelayTotals t = m_relay->totals();
    auto code = [](const QHash<quint16, quint64> &h, RelayCloseCode c) { return double(h.value(quint16(c))); };
    w.single("comfyrunner_relay_clients", MetricType::Gauge, "WebSocket relay clients connected now.",
             m_relay->clientCount());
    w.family("comfyrunner_relay_frames_total", MetricType::Counter,
             "WebSocket frames relayed to clients, by kind (json: events and control messages, preview, binary).");
    w.value({{"kind", "json"}}, double(t.messagesSent));
    w.value({{"kind", "preview"}}, double(t.previewsSent));
    w.value({{"kind", "binary"}}, double(t.binarySent));
    w.single("comfyrunner_relay_sent_bytes_total", MetricType::Counter, "Payload bytes relayed to WebSocket clients.",
             double(t.bytesSent));
    w.family("comfyrunner_relay_previews_dropped_total", MetricType::Counter,
             "Previews not sent, by reason (backlog: a newer one replaced it while the client was behind; rate_limit: "
             "preview_fps).");
    w.value({{"reason", "backlog"}}, double(t.previewsDropped));
    w.value({{"reason", "rate_limit"}}, double(t.previewsRateLimited));
    w.family("comfyrunner_relay_clients_closed_total", MetricType::Counter,
             "Relay clients closed by the service, by reason (too_slow: over its own backlog limit; over_budget: by "
             "the total backlog budget).");
    w.value({{"reason", "too_slow"}}, code(t.closed, RelayCloseCode::TooSlow) - double(t.closedOverBudget));
    w.value({{"reason", "over_budget"}}, double(t.closedOverBudget));
    w.value({{"reason", "ping_timeout"}}, code(t.closed, RelayCloseCode::PingTimeout));
    w.value({{"reason", "too_many_errors"}}, code(t.closed, RelayCloseCode::TooManyErrors));
    w.family("comfyrunner_relay_connections_rejected_total", MetricType::Counter,
             "Relay connections refused, by reason.");
    w.value({{"reason", "unauthorized"}}, code(t.rejected, RelayCloseCode::Unauthorized));
    w.value({{"reason", "bad_request"}}, code(t.rejected, RelayCloseCode::BadRequest));
    w.value({{"reason", "too_many_clients"}}, code(t.rejected, RelayCloseCode::TooManyClients));
}

} // namespace cr
