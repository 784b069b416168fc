#pragma once
// One run of a workflow: a private copy of the graph with its inputs applied, and everything that happened
// to it in ComfyUI. It waits in the runner until a backend of the pool has room, then is handed over: each
// hand-over is an attempt. Attempt 1's ComfyUI prompt id is the job id; a later attempt (the job taken back
// from a backend that dropped) gets a fresh prompt id that the JobManager maps back to the job.

#include "core/comfy/promptoutcome.h"
#include "protocol/error.h"
#include "protocol/jobrecord.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>

#include <optional>

namespace cr {

// The states and their names are the wire model's (protocol/jobrecord.h); a job is never Unknown here.
using protocol::isFinal;
using protocol::JobState;
using protocol::jobStateFromName;
using protocol::jobStateName;

struct JobProgress {
    QString node;      // node id being executed
    QString nodeClass; // its class_type, when known
    double value = 0;
    double max = 0;
};

// Where a job's events are delivered (POST /api/v1/jobs "webhook"; docs/webhooks.md). An empty url is the
// job's "webhook": false, which also turns the [webhooks] url default off for it.
struct JobWebhook {
    QString url;
    QStringList events; // names of webhookpolicy::eventNames()
    bool operator==(const JobWebhook &) const = default;
};

// One hand-over of a job to a backend.
struct JobAttempt {
    QString backend;  // the backend's name ("" in a store written before pools: the first backend)
    QString promptId; // ComfyUI's prompt id there
    QDateTime submittedAt, startedAt, finishedAt;
    // "" while current; then succeeded | failed | interrupted | cancelled | lost | refused | taken_back
    // (not started, handed to another backend) | backend_lost (it ran when its backend dropped) | superseded
    QString outcome;
    QString reason;
    // The backend's URL (JobManager::backendUrlKey): how the runners of a cluster, whose configurations may
    // name one ComfyUI differently, know which of them can follow the prompt ("" before clusters).
    QString backendUrl;
    bool isCurrent() const { return outcome.isEmpty(); }
};

struct Job {
    QString id;        // also ComfyUI's prompt_id of the first attempt
    QString clientRef; // caller-supplied idempotency key (empty when none)
    QString workflow;  // workflow name, or "" for a posted graph
    QJsonObject graph; // what was submitted
    JobState state = JobState::Queued;
    QDateTime createdAt, startedAt, finishedAt;
    JobProgress progress;
    QStringList cachedNodes;
    QList<NodeOutputFile> outputs; // every file of every output node
    QJsonObject rawOutputs;        // ComfyUI's history outputs (text and other non-file outputs)
    std::optional<protocol::ExecutionErrorEvent> comfyError;
    QString reason; // why it failed / was cancelled / lost
    bool cancelRequested = false;
    // Bumped by every stored change (JobManager::persist): what a cached answer of the job is checked against
    // (a finished job may still change: an attempt found to have run anyway is marked superseded).
    quint64 revision = 0;
    int priority = 0;         // higher first; FIFO within a level
    QString pinnedBackend;    // "backend" of the request: only this one may run it
    QStringList requiredTags; // "tags" of the request: every one must be on the backend
    QList<JobAttempt> attempts;
    int queuePosition = 0; // 1-based while waiting in the runner's queue, else 0 (not stored)
    // The estimate of how long it still takes (jobeta.cpp), made at etaAtMs (ms since the epoch); -1 when
    // unknown. Not stored. remaining = etaMs - (now - etaAtMs), at least 0.
    qint64 etaMs = -1;
    qint64 etaAtMs = 0;
    qint64 etaRemainingMs(qint64 nowMs) const; // -1 unknown or final

    // The job's own webhook; none: the [webhooks] url default applies.
    std::optional<JobWebhook> webhook;

    // Cluster (a PostgreSQL store shared by runners, jobcluster.cpp): the runner that owns it ("" while it
    // waits in the cluster's queue, and always with a store of one runner) ...
    QString node;
    // ... and whether this runner only mirrors it (owned by another runner, or waiting unclaimed): then its
    // events come from the database, not from a backend of this runner. Not stored.
    bool remote = false;
    QString liveUrl; // the owner's live events ([cluster] live_url of that runner); not stored
    qint64 seq = 0;  // the store's arrival order (the row's seq / rowid), as read by loadAll(); not in the data

    bool isFinished() const { return isFinal(state); }
    // The attempt handed over and not finished; null while the job waits in the runner (or is final).
    const JobAttempt *currentAttempt() const;
    JobAttempt *currentAttempt();
    // The backend of the current attempt, else of the last one (the one that ran it); "" before any.
    QString backend() const;
    int attemptsThatRan() const; // attempts that started (the ones [jobs] max_attempts counts)
    qint64 durationMs() const;
};

} // namespace cr

Q_DECLARE_METATYPE(cr::Job)
