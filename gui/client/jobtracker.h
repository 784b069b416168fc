#pragma once
// The monitor's picture of the runner's jobs: built from relay events as they happen (state, the running
// node and its step of max, previews per job; the reduction itself is JobReducer's) and corrected from the
// REST API (on connect, after a relay gap, when a job finishes; the requests are JobReconciler's). The
// workflows' descriptions come from WorkflowCache; OutputDownloader fetches the image outputs of jobs that
// succeeded while watched. Bounded: the oldest finished jobs are forgotten first.

#include "gui/client/jobreducer.h"
#include "gui/client/monitortypes.h"
#include "gui/client/relayclient.h"

#include <QHash>
#include <QObject>

namespace cr::monitor {

class JobReconciler;
class OutputDownloader;
class RestClient;
class WorkflowCache;

class JobTracker final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobTracker)

public:
    // relay, rest: not owned; must outlive the tracker.
    JobTracker(RelayClient *relay, RestClient *rest, QObject *parent = nullptr);
    ~JobTracker() override;

    void setMaxJobs(int count) { m_maxJobs = qMax(1, count); }
    void setListLimit(int count);
    // Outputs of the newest N succeeded jobs found at connect time are also fetched (for the gallery).
    void setInitialOutputJobs(int count) { m_initialOutputJobs = qMax(0, count); }

    QStringList jobIds() const; // newest first
    // The list order: newer sort key first; within the same millisecond, the job seen later first.
    static bool isNewer(const JobView &a, const JobView &b);
    int jobCount() const { return int(m_jobs.size()); }
    // Output downloads remembered (fetched or in flight), so that none is fetched twice; entries go with
    // their job when it is forgotten.
    int outputRequestCount() const;
    const JobView *job(const QString &id) const;
    QString newestActiveJob() const; // running, else queued; empty when none
    const WorkflowInfo *workflow(const QString &name) const;

    void refresh();                         // GET /api/v1/jobs and merge
    void refreshJob(const QString &id);     // GET /api/v1/jobs/{id} (coalesced)
    void noteSubmitted(const JobInfo &job); // the answer of POST /api/v1/jobs or .../cancel
    void clear();                           // forget everything (another runner)

signals:
    void jobAdded(const QString &id);
    void jobChanged(const QString &id);
    void jobRemoved(const QString &id);
    void jobStarted(const QString &id);  // became running (the UI may follow it)
    void jobFinished(const QString &id); // reached a final state
    void outputFetched(const cr::monitor::DownloadedOutput &file);
    void workflowLoaded(const QString &name);
    void refreshed(int jobs); // a full list refresh was merged

private:
    JobView &ensureJob(const QString &id, qint64 seenMs, bool *created = nullptr);
    void onEvent(const MonitorEvent &event);
    void onPreview(const QString &jobId);
    void applyInfo(const JobInfo &info, bool fromInitialList = false);
    bool follow(const QString &id, const JobChange &change); // signals and requests a reduction asks for
    void onJobFetched(const JobInfo &info);
    void onListFetched(const QList<JobInfo> &jobs, bool initial);
    void onWorkflowLoaded(const WorkflowInfo &workflow, const QString &name);
    void fetchOutputs(const JobView &job);
    void trim();

    RelayClient *m_relay;
    JobReconciler *m_reconciler; // children
    WorkflowCache *m_workflows;
    OutputDownloader *m_downloads;
    QHash<QString, JobView> m_jobs;
    quint64 m_seenCounter = 0;
    int m_maxJobs = 200;
    int m_initialOutputJobs = 6;
};

} // namespace cr::monitor
