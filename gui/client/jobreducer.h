#pragma once
// The monitor's reduction of relay events and REST records to the state of one job (JobView): pure, no
// sockets, no timers, no signals. JobTracker owns the jobs and does what a JobChange asks for (fetch the
// record or the workflow, merge a carried record, emit its signals); tests feed recorded events directly.

#include "gui/client/monitortypes.h"
#include "gui/client/relayclient.h"

#include <QSet>
#include <QString>

#include <optional>

namespace cr::monitor {

// The step of max of the node that reports progress.
struct NodeProgressView {
    QString nodeId;
    QString name; // the node's title / class from the workflow, else "node <id>"
    double value = 0;
    double max = 0;
};

struct JobView {
    JobInfo info;
    qint64 sortKeyMs = 0;         // created_at, else when first seen (ms since the epoch)
    quint64 seenOrder = 0;        // when the tracker first saw it (a counter): orders jobs of the same ms
    bool watched = false;         // seen running through the relay (its outputs go to the gallery)
    bool confirmedFinal = false;  // the REST API reported its final state (outputs are complete)
    QString currentNode;          // node executing now
    NodeProgressView node;        // the latest progress (after success: the last node that had steps)
    NodeProgressView lastStepped; // the newest progress of a node with steps (max > 0)
    QSet<QString> nodesDone;      // executed or cached
    int nodesTotal = 0;           // nodes of the workflow; 0 = unknown
    quint64 previewFrames = 0;    // previews received for this job
    qint64 etaMs = -1;            // the runner's estimate of the time left (eta_ms), made at etaAtMs; -1 unknown
    qint64 etaAtMs = 0;

    double overallFraction() const;            // 0..1: nodes done plus the running node's share
    qint64 durationMs(qint64 nowMs) const;     // -1 when it has not started
    qint64 etaRemainingMs(qint64 nowMs) const; // what is left of the estimate; -1 unknown or final
};

// What one reduction step changed and what it asks the owner to do.
struct JobChange {
    bool started = false;          // the job became running
    bool finished = false;         // the job reached a final state
    bool refresh = false;          // ask the REST API for the job's record (outputs, duration, the runner's verdict)
    std::optional<JobInfo> record; // the event carried the job's final record: merge it (then it is the change)
    QString workflowNeeded;        // the job's workflow, when the owner has not loaded it yet
};

class JobReducer final
{
public:
    // The job an event is about: the envelope's job_id, else the service event's, else ComfyUI's prompt id
    // (= the job id). Empty when it names none (status, broadcasts).
    static QString jobIdOf(const MonitorEvent &event);
    // A job seen for the first time (queued until an event or record says otherwise).
    static JobView newJob(const QString &id, qint64 seenMs, quint64 seenOrder);

    // Applies one relay event to its job. atMs: when it happened (the relay's timestamp). workflow: the
    // job's workflow if loaded (names nodes), else nullptr. isNew: the job was just created for this event
    // (its owner asks for the record anyway).
    static JobChange applyEvent(JobView &job, const MonitorEvent &event, qint64 atMs, const WorkflowInfo *workflow,
                                bool isNew = false);
    // Merges a record from the REST API (or carried by a final event). A record older than the events
    // applied never moves a job back from a final state. isNew: the job was just created for it;
    // fromInitialList: it came with the first list after connect (its outputs go to the gallery).
    static JobChange applyRecord(JobView &job, const JobInfo &record, bool isNew, bool fromInitialList,
                                 const WorkflowInfo *workflow);

    // The workflow was loaded: name the nodes and count them.
    static void applyWorkflow(JobView &job, const WorkflowInfo &workflow);

private:
    static void setState(JobView &job, JobState state, qint64 atMs, JobChange &change);
    static void setNodeProgress(JobView &job, const QString &nodeId, double value, double max,
                                const WorkflowInfo *workflow);
    static void settleNode(JobView &job);
    static void applyServiceEvent(JobView &job, const MonitorEvent &event, qint64 atMs, const WorkflowInfo *workflow,
                                  bool isNew, JobChange &change);
};

} // namespace cr::monitor
