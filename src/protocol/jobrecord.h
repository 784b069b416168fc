#pragma once
// The job wire model, one definition for the service and the monitor: the job states and their names, and
// the JSON shape of a job as the REST API returns it (GET /api/v1/jobs/{id}, the list, and the data of the
// relay's job_finished / job_failed / job_cancelled events). The job store keeps its own, richer on-disk
// shape (the graph, cached nodes, ComfyUI's whole error) but the same state names.

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr::protocol {

// A job's state. Unknown is never sent: it stands for a name this version does not know (a newer runner).
enum class JobState { Queued, Running, Succeeded, Failed, Cancelled, Lost, Unknown };
QString jobStateName(JobState state);           // "queued" ... "lost"; "unknown" for Unknown
JobState jobStateFromName(const QString &name); // Unknown for anything else
QStringList jobStateNames();                    // the six wire names, in enum order
inline bool isFinal(JobState s) { return s != JobState::Queued && s != JobState::Running && s != JobState::Unknown; }

// One output a job produced: {"index", "node_id", "filename", "subfolder", "type", "kind", "media",
// "content_type", "text", "url"}. A text output without a file has filename "" and its string in "text".
struct JobOutput {
    int index = 0;
    QString nodeId;
    QString filename;
    QString subfolder;
    QString type;        // "output" | "temp" | ...
    QString kind;        // ComfyUI's output key: "images", "gifs", "video", "audio", "text", "3d", ...
    QString url;         // path on the runner: /api/v1/jobs/{id}/outputs/{n}
    QString media;       // outputkind.h: image | animated | video | audio | text | 3d | file ("" from older runners)
    QString contentType; // what the download is served as
    QString text;        // an inline text output's string (null in JSON otherwise)
    // Shown as a picture: media image or animated (a runner without "media": kind "images" or an image
    // file extension).
    bool isImage() const;
    bool operator==(const JobOutput &) const = default;
};

// "error" of a failed job: ComfyUI's exception, {"message", "node_id", "node_type", "exception_type"}.
struct JobError {
    QString message;
    QString nodeId;
    QString nodeType;
    QString exceptionType;
    bool operator==(const JobError &) const = default;
};

// One hand-over of the job to a backend of the pool: {"backend", "prompt_id", "submitted_at", "started_at",
// "finished_at", "outcome", "reason"} (outcome null while it is the current one).
struct JobAttemptRecord {
    QString backend;
    QString promptId;
    QDateTime submittedAt, startedAt, finishedAt;
    QString outcome; // succeeded | failed | interrupted | cancelled | lost | refused | taken_back | backend_lost |
                     // superseded
    QString reason;
    bool operator==(const JobAttemptRecord &) const = default;
};

// A job as the API answers it. Empty strings, invalid times, durationMs -1 and a missing error are JSON null.
struct JobRecord {
    QString id;
    QString clientRef;
    QString workflow;
    JobState state = JobState::Unknown;
    QDateTime createdAt, startedAt, finishedAt;
    qint64 durationMs = -1;
    QString progressNode; // "progress" is null when there is neither a node nor a max
    QString progressClass;
    double progressValue = 0;
    double progressMax = 0;
    QList<JobOutput> outputs;
    std::optional<JobError> error;
    QString reason; // why it failed / was cancelled / lost
    bool cancelRequested = false;
    QString backend;                  // the current (or last) attempt's backend; null while waiting
    QList<JobAttemptRecord> attempts; // oldest first
    int priority = 0;
    int queuePosition = 0; // 1-based while waiting in the runner's queue; 0 (null) otherwise
    qint64 etaMs = -1;     // estimated ms until it ends, while queued or running; -1 (null) unknown or final
    // A cluster of runners (docs/cluster.md): the runner that owns the job (null while it waits in the
    // cluster's queue, and without a cluster) and where a relay client gets its live events (previews).
    QString node;
    QString liveUrl;

    QString errorMessage() const { return error ? error->message : QString(); }
    bool operator==(const JobRecord &) const = default;
};

// {id, client_ref, workflow, state, created_at, started_at, finished_at, duration_ms, progress, outputs,
//  error, reason, cancel_requested, backend, attempts, priority, queue_position, eta_ms, node, live_url}; times as
//  ISO 8601 UTC with
//  milliseconds.
QJsonObject encodeJob(const JobRecord &job);
// Lenient: a missing or mistyped field gets its default (a newer runner may send more); node ids sent as
// numbers become strings; "error" may also be a bare message string. nullopt without a non-empty string "id".
std::optional<JobRecord> parseJob(const QJsonObject &object);
// {"jobs": [...]}: the records that parse, in order.
QList<JobRecord> parseJobList(const QJsonObject &object);

QString isoUtc(const QDateTime &time); // "2024-05-01T12:00:00.123Z", or "" when invalid

} // namespace cr::protocol

Q_DECLARE_METATYPE(cr::protocol::JobRecord)
