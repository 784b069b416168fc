#include "protocol/jobrecord.h"

#include "protocol/jsonutil.h"

#include <QFileInfo>
#include <QJsonArray>

namespace cr::protocol {

using namespace Qt::StringLiterals;

namespace {

constexpr const char *kStateNames[] = {"queued", "running", "succeeded", "failed", "cancelled", "lost"};
constexpr int kWireStates = int(std::size(kStateNames));

} // namespace

QString jobStateName(JobState state)
{
    const int i = int(state);
    return i >= 0 && i < kWireStates ? QString::fromLatin1(kStateNames[i]) : u"unknown"_s;
}

JobState jobStateFromName(const QString &name)
{
    for (int i = 0; i < kWireStates; ++i)
        if (name == QLatin1String(kStateNames[i]))
            return JobState(i);
    return JobState::Unknown;
}

QStringList jobStateNames()
{
    QStringList names;
    for (const char *n : kStateNames)
        names.append(QString::fromLatin1(n));
    return names;
}

QString isoUtc(const QDateTime &time) { return time.isValid() ? time.toUTC().toString(Qt::ISODateWithMs) : QString(); }

bool JobOutput::isImage() const
{
    if (!media.isEmpty())
        return media == "image"_L1 || media == "animated"_L1;
    static const QStringList kImageSuffixes = {u"png"_s, u"jpg"_s, u"jpeg"_s, u"webp"_s, u"gif"_s, u"bmp"_s};
    return kind == "images"_L1 || kImageSuffixes.contains(QFileInfo(filename).suffix().toLower());
}

QJsonObject encodeJob(const JobRecord &job)
{
    QJsonArray outputs;
    for (const JobOutput &f : job.outputs) {
        outputs.append(QJsonObject{
            {u"index"_s, f.index},
            {u"node_id"_s, f.nodeId},
            {u"filename"_s, f.filename},
            {u"subfolder"_s, f.subfolder},
            {u"type"_s, f.type},
            {u"kind"_s, f.kind},
            {u"media"_s, stringOrNull(f.media)},
            {u"content_type"_s, stringOrNull(f.contentType)},
            {u"text"_s,
             f.media == "text"_L1 && f.filename.isEmpty() ? QJsonValue(f.text) : QJsonValue(QJsonValue::Null)},
            {u"url"_s, f.url},
        });
    }
    QJsonValue error = QJsonValue::Null;
    if (job.error) {
        error = QJsonObject{
            {u"message"_s, job.error->message},
            {u"node_id"_s, job.error->nodeId},
            {u"node_type"_s, job.error->nodeType},
            {u"exception_type"_s, job.error->exceptionType},
        };
    }
    QJsonValue progress = QJsonValue::Null;
    if (!job.progressNode.isEmpty() || job.progressMax > 0) {
        progress = QJsonObject{
            {u"node"_s, job.progressNode},
            {u"class_type"_s, job.progressClass},
            {u"value"_s, job.progressValue},
            {u"max"_s, job.progressMax},
        };
    }
    QJsonArray attempts;
    for (const JobAttemptRecord &a : job.attempts)
        attempts.append(QJsonObject{
            {u"backend"_s, a.backend},
            {u"prompt_id"_s, a.promptId},
            {u"submitted_at"_s, timeOrNull(a.submittedAt)},
            {u"started_at"_s, timeOrNull(a.startedAt)},
            {u"finished_at"_s, timeOrNull(a.finishedAt)},
            {u"outcome"_s, stringOrNull(a.outcome)},
            {u"reason"_s, stringOrNull(a.reason)},
        });
    return QJsonObject{
        {u"id"_s, job.id},
        {u"client_ref"_s, stringOrNull(job.clientRef)},
        {u"workflow"_s, stringOrNull(job.workflow)},
        {u"state"_s, jobStateName(job.state)},
        {u"created_at"_s, timeOrNull(job.createdAt)},
        {u"started_at"_s, timeOrNull(job.startedAt)},
        {u"finished_at"_s, timeOrNull(job.finishedAt)},
        {u"duration_ms"_s, job.durationMs >= 0 ? QJsonValue(job.durationMs) : QJsonValue(QJsonValue::Null)},
        {u"progress"_s, progress},
        {u"outputs"_s, outputs},
        {u"error"_s, error},
        {u"reason"_s, stringOrNull(job.reason)},
        {u"cancel_requested"_s, job.cancelRequested},
        {u"backend"_s, stringOrNull(job.backend)},
        {u"attempts"_s, attempts},
        {u"priority"_s, job.priority},
        {u"queue_position"_s, job.queuePosition > 0 ? QJsonValue(job.queuePosition) : QJsonValue(QJsonValue::Null)},
        {u"eta_ms"_s, job.etaMs >= 0 ? QJsonValue(job.etaMs) : QJsonValue(QJsonValue::Null)},
        {u"node"_s, stringOrNull(job.node)},
        {u"live_url"_s, stringOrNull(job.liveUrl)},
    };
}

std::optional<JobRecord> parseJob(const QJsonObject &o)
{
    const QJsonValue id = o.value("id"_L1);
    if (!id.isString() || id.toString().isEmpty())
        return std::nullopt;
    JobRecord j;
    j.id = id.toString();
    j.clientRef = o.value("client_ref"_L1).toString();
    j.workflow = o.value("workflow"_L1).toString();
    j.state = jobStateFromName(o.value("state"_L1).toString());
    j.createdAt = timeFromJson(o.value("created_at"_L1));
    j.startedAt = timeFromJson(o.value("started_at"_L1));
    j.finishedAt = timeFromJson(o.value("finished_at"_L1));
    const QJsonValue duration = o.value("duration_ms"_L1);
    j.durationMs = duration.isDouble() ? qint64(duration.toDouble()) : -1;
    const QJsonObject progress = o.value("progress"_L1).toObject();
    j.progressNode = idString(progress.value("node"_L1));
    j.progressClass = progress.value("class_type"_L1).toString();
    j.progressValue = progress.value("value"_L1).toDouble();
    j.progressMax = progress.value("max"_L1).toDouble();
    const QJsonArray outputs = o.value("outputs"_L1).toArray();
    for (qsizetype i = 0; i < outputs.size(); ++i) {
        const QJsonObject f = outputs.at(i).toObject();
        JobOutput out;
        out.index = f.contains("index"_L1) ? f.value("index"_L1).toInt() : int(i);
        out.nodeId = idString(f.value("node_id"_L1));
        out.filename = f.value("filename"_L1).toString();
        out.subfolder = f.value("subfolder"_L1).toString();
        out.type = f.value("type"_L1).toString();
        out.kind = f.value("kind"_L1).toString();
        out.url = f.value("url"_L1).toString();
        out.media = f.value("media"_L1).toString();
        out.contentType = f.value("content_type"_L1).toString();
        out.text = f.value("text"_L1).toString();
        j.outputs.append(out);
    }
    const QJsonValue error = o.value("error"_L1);
    if (error.isObject()) {
        const QJsonObject e = error.toObject();
        j.error = JobError{e.value("message"_L1).toString(), idString(e.value("node_id"_L1)),
                           e.value("node_type"_L1).toString(), e.value("exception_type"_L1).toString()};
    } else if (error.isString()) {
        j.error = JobError{error.toString(), {}, {}, {}};
    }
    j.reason = o.value("reason"_L1).toString();
    j.cancelRequested = o.value("cancel_requested"_L1).toBool();
    j.backend = o.value("backend"_L1).toString();
    for (const QJsonValue &v : o.value("attempts"_L1).toArray()) {
        const QJsonObject a = v.toObject();
        j.attempts.append({a.value("backend"_L1).toString(), a.value("prompt_id"_L1).toString(),
                           timeFromJson(a.value("submitted_at"_L1)), timeFromJson(a.value("started_at"_L1)),
                           timeFromJson(a.value("finished_at"_L1)), a.value("outcome"_L1).toString(),
                           a.value("reason"_L1).toString()});
    }
    j.priority = o.value("priority"_L1).toInt();
    j.queuePosition = o.value("queue_position"_L1).toInt();
    j.node = o.value("node"_L1).toString();
    j.liveUrl = o.value("live_url"_L1).toString();
    const QJsonValue eta = o.value("eta_ms"_L1);
    j.etaMs = eta.isDouble() && eta.toDouble() >= 0 ? qint64(eta.toDouble()) : -1;
    return j;
}

QList<JobRecord> parseJobList(const QJsonObject &object)
{
    QList<JobRecord> out;
    for (const QJsonValue &v : object.value("jobs"_L1).toArray())
        if (auto j = parseJob(v.toObject()))
            out.append(*j);
    return out;
}

} // namespace cr::protocol
