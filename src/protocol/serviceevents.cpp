#include "protocol/serviceevents.h"

#include "protocol/jsonutil.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace cr::protocol {

using namespace Qt::StringLiterals;

namespace {

constexpr const char *kTypeNames[]
    = {"job_queued", "job_started", "job_progress", "job_finished", "job_failed", "job_cancelled", "image_generated"};

QJsonValue eta(qint64 ms) { return ms >= 0 ? QJsonValue(ms) : QJsonValue(QJsonValue::Null); }
qint64 etaFrom(const QJsonValue &v) { return v.isDouble() && v.toDouble() >= 0 ? qint64(v.toDouble()) : -1; }

struct DataOf {
    QJsonObject operator()(const JobQueuedEvent &e) const
    {
        return {{u"job_id"_s, e.jobId},
                {u"prompt_id"_s, e.promptId},
                {u"workflow"_s, e.workflow},
                {u"eta_ms"_s, eta(e.etaMs)}};
    }
    QJsonObject operator()(const JobStartedEvent &e) const
    {
        return {{u"job_id"_s, e.jobId}, {u"prompt_id"_s, e.promptId}};
    }
    QJsonObject operator()(const JobProgressEvent &e) const
    {
        return {{u"job_id"_s, e.jobId}, {u"node"_s, e.node}, {u"class_type"_s, e.classType},
                {u"value"_s, e.value},  {u"max"_s, e.max},   {u"eta_ms"_s, eta(e.etaMs)}};
    }
    QJsonObject operator()(const JobEndedEvent &e) const
    {
        QJsonObject d = encodeJob(e.job);
        d.insert(u"job_id"_s, e.job.id);
        return d;
    }
    QJsonObject operator()(const ImageGeneratedEvent &e) const
    {
        return {{u"STATUS"_s, e.status},      {u"prompt_id"_s, e.promptId},
                {u"job_id"_s, e.jobId},       {u"image_filename"_s, e.imageFilename},
                {u"image_url"_s, e.imageUrl}, {u"images"_s, QJsonArray::fromStringList(e.images)}};
    }
};

QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &s : v.toArray())
        if (s.isString())
            out.append(s.toString());
    return out;
}

} // namespace

QString serviceEventTypeName(ServiceEventType type) { return QString::fromLatin1(kTypeNames[int(type)]); }

std::optional<ServiceEventType> serviceEventTypeFromName(const QString &name)
{
    for (int i = 0; i < int(std::size(kTypeNames)); ++i)
        if (name == QLatin1String(kTypeNames[i]))
            return ServiceEventType(i);
    return std::nullopt;
}

bool isFinalServiceEvent(const QString &typeName)
{
    const auto type = serviceEventTypeFromName(typeName);
    return type && isFinal(*type);
}

ServiceEvent ServiceEvent::ended(const JobRecord &job)
{
    const ServiceEventType type = job.state == JobState::Succeeded ? ServiceEventType::JobFinished
        : job.state == JobState::Cancelled                         ? ServiceEventType::JobCancelled
                                                                   : ServiceEventType::JobFailed;
    return {type, JobEndedEvent{job}};
}

QString ServiceEvent::jobId() const
{
    return std::visit(
        [](const auto &e) {
            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, JobEndedEvent>)
                return e.job.id;
            else
                return e.jobId;
        },
        payload);
}

QString ServiceEvent::promptId() const
{
    if (const auto *e = as<JobQueuedEvent>())
        return e->promptId;
    if (const auto *e = as<JobStartedEvent>())
        return e->promptId;
    if (const auto *e = as<ImageGeneratedEvent>())
        return e->promptId;
    return {};
}

QByteArray encodeDataEvent(const QString &type, const QJsonObject &data)
{
    return "{\"type\":" + jsonStringLiteral(type) + ",\"data\":" + QJsonDocument(data).toJson(QJsonDocument::Compact)
        + '}';
}

QByteArray encodeServiceEvent(const ServiceEvent &event)
{
    QJsonObject data = std::visit(DataOf{}, event.payload);
    if (event.type != ServiceEventType::ImageGenerated)
        return encodeDataEvent(event.typeName(), data);
    data.insert(u"type"_s, event.typeName()); // flat, as the Python project sent it
    return QJsonDocument(data).toJson(QJsonDocument::Compact);
}

std::optional<ServiceEvent> parseServiceEvent(const ComfyEvent &event)
{
    const auto type = serviceEventTypeFromName(event.typeName);
    if (!type)
        return std::nullopt;
    const QJsonObject &d = event.data;
    const QString jobId = d.value("job_id"_L1).toString();
    switch (*type) {
    case ServiceEventType::JobQueued:
        return ServiceEvent::of(*type,
                                JobQueuedEvent{jobId, d.value("prompt_id"_L1).toString(),
                                               d.value("workflow"_L1).toString(), etaFrom(d.value("eta_ms"_L1))});
    case ServiceEventType::JobStarted:
        return ServiceEvent::of(*type, JobStartedEvent{jobId, d.value("prompt_id"_L1).toString()});
    case ServiceEventType::JobProgress:
        return ServiceEvent::of(*type,
                                JobProgressEvent{jobId, idString(d.value("node"_L1)),
                                                 d.value("class_type"_L1).toString(), d.value("value"_L1).toDouble(),
                                                 d.value("max"_L1).toDouble(), etaFrom(d.value("eta_ms"_L1))});
    case ServiceEventType::JobFinished:
    case ServiceEventType::JobFailed:
    case ServiceEventType::JobCancelled: {
        JobRecord job = parseJob(d).value_or(JobRecord{});
        if (job.id.isEmpty())
            job.id = jobId;
        return ServiceEvent::of(*type, JobEndedEvent{job});
    }
    case ServiceEventType::ImageGenerated:
        return ServiceEvent::of(*type,
                                ImageGeneratedEvent{d.value("STATUS"_L1).toString(), d.value("prompt_id"_L1).toString(),
                                                    jobId, d.value("image_filename"_L1).toString(),
                                                    d.value("image_url"_L1).toString(), strings(d.value("images"_L1))});
    }
    return std::nullopt;
}

} // namespace cr::protocol
