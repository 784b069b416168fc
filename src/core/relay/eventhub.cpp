#include "core/relay/eventhub.h"

#include "protocol/relaymessages.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QLoggingCategory>

#include <algorithm>

Q_LOGGING_CATEGORY(lcRelayHub, "comfyrunner.relay.hub")

namespace cr {

using namespace Qt::StringLiterals;

EventHubLimits EventHubLimits::from(const RelaySettings &relay, const JobSettings &jobs)
{
    EventHubLimits limits;
    limits.replayEvents = relay.replayEvents;
    limits.jobLogEvents = jobs.logEvents;
    limits.jobLogJobs = jobs.logJobs;
    return limits;
}

EventHub::EventHub(EventHubLimits limits, QObject *parent) : QObject(parent), m_limits(limits)
{
    m_limits.replayEvents = std::max(1, m_limits.replayEvents);
    m_limits.jobLogEvents = std::max(1, m_limits.jobLogEvents);
    m_limits.jobLogJobs = std::max(1, m_limits.jobLogJobs);
    qRegisterMetaType<cr::RelayEventPtr>();
}

EventHub::~EventHub() = default;

RelayEventPtr EventHub::publishComfyEvent(const protocol::ComfyEvent &event, const QString &jobId,
                                          const QString &backend)
{
    QByteArray raw = event.raw;
    if (raw.isEmpty()) // built in code rather than received: serialise it the way ComfyUI shapes frames
        raw = protocol::encodeDataEvent(event.typeName, event.data);
    return publishJson(event.typeName, jobId, event.promptId, raw, backend);
}

RelayEventPtr EventHub::publishPreview(const protocol::PreviewFrame &frame, const QString &jobId,
                                       const QByteArray &rawFrame, const QString &backend)
{
    ++m_publishedPreviews;
    auto event = RelayEventPtr::create(
        RelayEvent::preview(QDateTime::currentMSecsSinceEpoch(), jobId, frame, rawFrame, backend));
    emit published(event);
    return event;
}

RelayEventPtr EventHub::publishBinary(const QByteArray &frame, const QString &jobId)
{
    ++m_publishedBinary;
    auto event = RelayEventPtr::create(RelayEvent::binary(QDateTime::currentMSecsSinceEpoch(), jobId, frame));
    emit published(event);
    return event;
}

RelayEventPtr EventHub::publishServiceEvent(const QString &type, const QJsonObject &data, const QString &jobId)
{
    QJsonObject d = data;
    if (!jobId.isEmpty() && !d.contains("job_id"_L1))
        d.insert("job_id"_L1, jobId);
    return publishJson(type, jobId, d.value("prompt_id"_L1).toString(), protocol::encodeDataEvent(type, d));
}

RelayEventPtr EventHub::publishServiceEvent(const protocol::ServiceEvent &event)
{
    return publishJson(event.typeName(), event.jobId(), event.promptId(), protocol::encodeServiceEvent(event));
}

RelayEventPtr EventHub::publishJson(const QString &type, const QString &jobId, const QString &promptId,
                                    const QByteArray &raw, const QString &backend)
{
    ++m_publishedJson;
    auto event = RelayEventPtr::create(
        RelayEvent::json(++m_lastSeq, QDateTime::currentMSecsSinceEpoch(), type, jobId, promptId, raw, backend));
    m_ring.push_back(event);
    while (qsizetype(m_ring.size()) > m_limits.replayEvents)
        m_ring.pop_front();
    if (!jobId.isEmpty())
        logForJob(event);
    emit published(event);
    return event;
}

void EventHub::logForJob(const RelayEventPtr &event)
{
    auto it = m_jobs.find(event->jobId());
    if (it == m_jobs.end()) {
        if (m_jobs.size() >= m_limits.jobLogJobs) { // forget the least recently active job
            auto oldest = std::min_element(m_jobs.begin(), m_jobs.end(),
                                           [](const JobEntry &a, const JobEntry &b) { return a.lastSeq < b.lastSeq; });
            qCDebug(lcRelayHub) << "forgetting the event log of job" << oldest.key();
            m_jobs.erase(oldest);
        }
        it = m_jobs.insert(event->jobId(), JobEntry{});
    }
    it->events.push_back(event);
    it->lastSeq = event->seq();
    while (qsizetype(it->events.size()) > m_limits.jobLogEvents) {
        it->events.pop_front();
        ++it->dropped;
    }
}

qint64 EventHub::firstSeq() const { return m_ring.empty() ? m_lastSeq + 1 : m_ring.front()->seq(); }

EventHub::Replay EventHub::eventsSince(qint64 since, qint64 until) const
{
    Replay r;
    r.lastSeq = m_lastSeq;
    const qint64 first = firstSeq();
    qint64 from = first; // the first seq wanted
    // Compared before adding one: `since` comes from clients and may be INT64_MAX.
    if (since > m_lastSeq) { // a seq we never issued: the service restarted; everything kept is new to the client
        r.gap = true;
        r.gapReason = u"unknown_seq"_s;
    } else {
        from = since + 1; // cannot overflow: since <= m_lastSeq
        if (from < first) {
            r.gap = true;
            r.gapReason = u"evicted"_s;
            from = first;
        }
    }
    const qint64 last = std::min(until, m_lastSeq);
    for (qint64 seq = from; seq <= last; ++seq)
        r.events.append(m_ring[std::size_t(seq - first)]);
    r.firstSeq = r.events.isEmpty() ? std::max(from, first) : r.events.first()->seq();
    return r;
}

EventHub::JobLog EventHub::jobEvents(const QString &jobId) const
{
    JobLog log;
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.cend())
        return log;
    log.known = true;
    log.dropped = it->dropped;
    log.events = QList<RelayEventPtr>(it->events.begin(), it->events.end());
    return log;
}

void EventHub::forgetJob(const QString &jobId) { m_jobs.remove(jobId); }

QJsonObject EventHub::statsJson() const
{
    return QJsonObject{
        {"last_seq"_L1, double(m_lastSeq)},
        {"ring"_L1, QJsonObject{{"size"_L1, qint64(m_ring.size())}, {"capacity"_L1, m_limits.replayEvents}}},
        {"jobs_logged"_L1, qint64(m_jobs.size())},
        {"published"_L1,
         QJsonObject{{"json"_L1, double(m_publishedJson)},
                     {"previews"_L1, double(m_publishedPreviews)},
                     {"binary"_L1, double(m_publishedBinary)}}},
    };
}

} // namespace cr
