#pragma once
// The relay's source of truth, without sockets: every event to push (ComfyUI JSON events, previews, other
// binary frames, the service's own job events) is published here once, numbered (JSON events only), kept
// in a bounded replay ring and in bounded per-job logs, and handed to the transports (RelayServer for
// WebSocket; SSE later) through `published`.

#include "core/config/config.h"
#include "core/relay/relayevent.h"
#include "protocol/binaryframe.h"
#include "protocol/comfyevents.h"
#include "protocol/serviceevents.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>

#include <deque>
#include <limits>

namespace cr {

// Bounds of what the hub keeps.
struct EventHubLimits {
    int replayEvents = 4096; // JSON events kept for since= (RelaySettings::replayEvents)
    int jobLogEvents = 2048; // JSON events kept per job (the newest; older ones are counted as dropped)
    int jobLogJobs = 256;    // jobs whose log is kept (the least recently active is forgotten first)

    // replay_events from [server], log_events and log_jobs from [jobs].
    static EventHubLimits from(const RelaySettings &relay, const JobSettings &jobs);
};

// Numbers, keeps and fans out every relayed event; the transports subscribe to `published`.
class EventHub final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventHub)

public:
    explicit EventHub(EventHubLimits limits = {}, QObject *parent = nullptr);
    ~EventHub() override;

    // A ComfyUI text frame; its `raw` bytes are relayed unchanged. jobId: the job the prompt belongs to
    // (empty for broadcasts such as status, or prompts that are not ours). Returns the published event.
    // backend: the ComfyUI backend it came from (the envelope's and type-4 metadata's "backend").
    RelayEventPtr publishComfyEvent(const protocol::ComfyEvent &event, const QString &jobId,
                                    const QString &backend = {});
    // A preview (type 1 or 4 as received). frame.meta is used as given: for type-1 input fill promptId
    // and nodeId from the running job if known, so type-4 clients get them. rawFrame: the received bytes
    // (reused as the legacy frame when it was type 1). Previews get no seq and are never replayed.
    RelayEventPtr publishPreview(const protocol::PreviewFrame &frame, const QString &jobId,
                                 const QByteArray &rawFrame = {}, const QString &backend = {});
    // Another binary frame (type 3, custom types), passed to clients that ask for binary frames. Not replayed.
    RelayEventPtr publishBinary(const QByteArray &frame, const QString &jobId = {});
    // One of the service's own events (job_queued ... job_cancelled, image_generated), in the bytes of
    // protocol::encodeServiceEvent, attributed to its job.
    RelayEventPtr publishServiceEvent(const protocol::ServiceEvent &event);
    // Any other event sent as {"type": type, "data": data}; "job_id" is added to data when missing and
    // jobId is set.
    RelayEventPtr publishServiceEvent(const QString &type, const QJsonObject &data, const QString &jobId);

    qint64 lastSeq() const { return m_lastSeq; } // 0 before the first JSON event
    qint64 firstSeq() const;                     // the oldest seq in the ring (lastSeq()+1 when empty)

    // The JSON events after `since` (up to and including `until`), from the ring.
    struct Replay {
        QList<RelayEventPtr> events;
        bool gap = false;    // events after `since` are missing (evicted, or since is unknown)
        QString gapReason;   // "evicted" | "unknown_seq"
        qint64 firstSeq = 0; // seq of events.first() when not empty, else the next seq to come
        qint64 lastSeq = 0;  // the hub's lastSeq()
    };
    Replay eventsSince(qint64 since, qint64 until = std::numeric_limits<qint64>::max()) const;

    // The JSON events of one job (for GET /api/v1/jobs/{id}/events), oldest first.
    struct JobLog {
        bool known = false; // false: no event of that job (or it was forgotten)
        qint64 dropped = 0; // older events of the job not kept (per-job bound)
        QList<RelayEventPtr> events;
    };
    JobLog jobEvents(const QString &jobId) const;
    void forgetJob(const QString &jobId); // the job was pruned: its log goes with it
    int jobLogCount() const { return int(m_jobs.size()); }

    // Counters for /api/v1/system: {"last_seq", "ring": {size, capacity}, "jobs_logged", "published": {...}}.
    QJsonObject statsJson() const;

signals:
    // Emitted synchronously for each published item, after it entered the ring and the job log.
    void published(const cr::RelayEventPtr &event);

private:
    struct JobEntry {
        std::deque<RelayEventPtr> events;
        qint64 dropped = 0;
        qint64 lastSeq = 0;
    };
    RelayEventPtr publishJson(const QString &type, const QString &jobId, const QString &promptId, const QByteArray &raw,
                              const QString &backend = {});
    void logForJob(const RelayEventPtr &event);

    EventHubLimits m_limits;
    qint64 m_lastSeq = 0;
    std::deque<RelayEventPtr> m_ring;
    QHash<QString, JobEntry> m_jobs;
    quint64 m_publishedJson = 0;
    quint64 m_publishedPreviews = 0;
    quint64 m_publishedBinary = 0;
};

} // namespace cr
