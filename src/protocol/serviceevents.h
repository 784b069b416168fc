#pragma once
// The service's own relay events (docs/relay-protocol.md §2): job_queued, job_started, job_progress, the
// three final ones (job_finished, job_failed, job_cancelled: their data is the whole job, protocol::JobRecord)
// and the Python project's flat image_generated. One struct per type, one encoder (the exact bytes the relay,
// the SSE stream and the job event logs send) and one parser (the monitor's), so no one matches these names
// or pulls keys out of "data" by hand.

#include "protocol/comfyevents.h"
#include "protocol/jobrecord.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <variant>

namespace cr::protocol {

enum class ServiceEventType {
    JobQueued,
    JobStarted,
    JobProgress,
    JobFinished,
    JobFailed,
    JobCancelled,
    ImageGenerated
};
QString serviceEventTypeName(ServiceEventType type); // "job_queued" ... "image_generated"
std::optional<ServiceEventType> serviceEventTypeFromName(const QString &name);
// The events that end a job: job_finished, job_failed, job_cancelled.
inline bool isFinal(ServiceEventType t)
{
    return t == ServiceEventType::JobFinished || t == ServiceEventType::JobFailed
        || t == ServiceEventType::JobCancelled;
}
bool isFinalServiceEvent(const QString &typeName); // the same for a wire name (false for any other name)

// job_queued: {"job_id", "prompt_id", "workflow", "eta_ms"} (prompt id = job id; workflow "" for a posted
// graph; eta_ms: the estimated ms until it ends, null when unknown).
struct JobQueuedEvent {
    QString jobId;
    QString promptId;
    QString workflow;
    qint64 etaMs = -1;
    bool operator==(const JobQueuedEvent &) const = default;
};

// job_started: {"job_id", "prompt_id"}.
struct JobStartedEvent {
    QString jobId;
    QString promptId;
    bool operator==(const JobStartedEvent &) const = default;
};

// job_progress: {"job_id", "node", "class_type", "value", "max", "eta_ms"} (eta_ms null when unknown).
struct JobProgressEvent {
    QString jobId;
    QString node;
    QString classType;
    double value = 0;
    double max = 0;
    qint64 etaMs = -1;
    bool operator==(const JobProgressEvent &) const = default;
};

// job_finished | job_failed | job_cancelled: the job as GET /api/v1/jobs/{id} shows it, plus "job_id".
struct JobEndedEvent {
    JobRecord job;
    bool operator==(const JobEndedEvent &) const = default;
};

// image_generated, flat (no "data"): {"type", "STATUS", "prompt_id", "job_id", "image_filename",
// "image_url", "images"}; image_url is the absolute URL of output 0, images every output's.
struct ImageGeneratedEvent {
    QString status; // the Python project's STATUS sentence
    QString promptId;
    QString jobId;
    QString imageFilename;
    QString imageUrl;
    QStringList images;
    bool operator==(const ImageGeneratedEvent &) const = default;
};

struct ServiceEvent {
    ServiceEventType type = ServiceEventType::JobQueued;
    std::variant<JobQueuedEvent, JobStartedEvent, JobProgressEvent, JobEndedEvent, ImageGeneratedEvent> payload;

    // The final event of a job: its type follows the state (succeeded -> job_finished, cancelled ->
    // job_cancelled, anything else -> job_failed).
    static ServiceEvent ended(const JobRecord &job);
    template <typename T>
    static ServiceEvent of(ServiceEventType type, T payload)
    {
        return {type, std::move(payload)};
    }

    QString typeName() const { return serviceEventTypeName(type); }
    QString jobId() const;
    QString promptId() const; // the "prompt_id" it carries ("" for job_progress and the final events)
    template <typename T>
    const T *as() const
    {
        return std::get_if<T>(&payload);
    }
    bool operator==(const ServiceEvent &) const = default;
};

// The exact text frame: {"type":T,"data":{...}} with compact, key-sorted data, or the flat image_generated.
QByteArray encodeServiceEvent(const ServiceEvent &event);
// {"type":T,"data":<compact data>}: the framing every "data" event uses (also for other service events).
QByteArray encodeDataEvent(const QString &type, const QJsonObject &data);

// A relay event that is one of the service's, read from the already parsed frame (no second JSON parse);
// nullopt for ComfyUI's events and unknown names. Lenient like parseJob; a final event whose data is no job
// record still parses, with the job id from "job_id".
std::optional<ServiceEvent> parseServiceEvent(const ComfyEvent &event);

} // namespace cr::protocol
