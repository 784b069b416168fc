#include "core/api/apijson.h"

#include "core/api/routetable.h"

#include "protocol/outputkind.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

namespace cr {

Status queryInt(const ApiRequest &request, const char *key, int def, int min, int max, int *out)
{
    const QString v = request.query.queryItemValue(QLatin1String(key));
    if (v.isEmpty()) {
        *out = def;
        return std::nullopt;
    }
    const std::optional<qint64> n = canonicalNumber(v, max);
    if (!n || *n < min)
        return Error::make(
            ErrorCode::InvalidRequest,
            QStringLiteral("\"%1\" must be an integer from %2 to %3").arg(QLatin1String(key)).arg(min).arg(max),
            {{QStringLiteral("field"), QLatin1String(key)}});
    *out = int(*n);
    return std::nullopt;
}

Result<QJsonObject> parseJsonObject(const ApiRequest &request, bool allowEmpty)
{
    if (request.body.trimmed().isEmpty()) {
        if (allowEmpty)
            return QJsonObject();
        return Error::make(ErrorCode::InvalidJson,
                           QStringLiteral("the request body is empty; a JSON object is expected"));
    }
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(request.body, &pe);
    if (pe.error != QJsonParseError::NoError)
        return Error::make(ErrorCode::InvalidJson,
                           QStringLiteral("the body is not valid JSON: %1").arg(pe.errorString()),
                           {{QStringLiteral("offset"), pe.offset}});
    if (!doc.isObject())
        return Error::make(ErrorCode::InvalidRequest, QStringLiteral("the body must be a JSON object"));
    return doc.object();
}

Result<QString> stringField(const QJsonObject &body, const QString &key, bool required)
{
    const QJsonValue v = body.value(key);
    if (v.isUndefined() || v.isNull()) {
        if (required)
            return Error::make(ErrorCode::MissingField, QStringLiteral("field \"%1\" is required").arg(key),
                               {{QStringLiteral("field"), key}});
        return QString();
    }
    if (!v.isString())
        return Error::make(ErrorCode::TypeMismatch, QStringLiteral("field \"%1\" must be a string").arg(key),
                           {{QStringLiteral("field"), key}});
    if (required && v.toString().isEmpty())
        return Error::make(ErrorCode::MissingField, QStringLiteral("field \"%1\" must not be empty").arg(key),
                           {{QStringLiteral("field"), key}});
    return v.toString();
}

QString outputUrl(const QString &jobId, int index)
{
    return QStringLiteral("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(index);
}

protocol::JobRecord jobRecord(const Job &job)
{
    protocol::JobRecord r;
    r.id = job.id;
    r.clientRef = job.clientRef;
    r.workflow = job.workflow;
    r.state = job.state;
    r.createdAt = job.createdAt;
    r.startedAt = job.startedAt;
    r.finishedAt = job.finishedAt;
    r.durationMs = job.startedAt.isValid() ? job.durationMs() : -1;
    r.progressNode = job.progress.node;
    r.progressClass = job.progress.nodeClass;
    r.progressValue = job.progress.value;
    r.progressMax = job.progress.max;
    for (int i = 0; i < job.outputs.size(); ++i) {
        const NodeOutputFile &f = job.outputs.at(i);
        r.outputs.append({i, f.nodeId, f.file.filename, f.file.subfolder, f.file.type, f.file.kind,
                          outputUrl(job.id, i), protocol::outputMedia(f.file), protocol::outputContentType(f.file),
                          f.file.text});
    }
    if (job.comfyError)
        r.error = protocol::JobError{job.comfyError->exceptionMessage, job.comfyError->nodeId, job.comfyError->nodeType,
                                     job.comfyError->exceptionType};
    r.reason = job.reason;
    r.cancelRequested = job.cancelRequested;
    r.node = job.node;
    r.liveUrl = job.liveUrl;
    r.backend = job.currentAttempt() || job.isFinished() ? job.backend() : QString();
    for (const JobAttempt &a : job.attempts)
        r.attempts.append({a.backend, a.promptId, a.submittedAt, a.startedAt, a.finishedAt, a.outcome, a.reason});
    r.priority = job.priority;
    r.queuePosition = job.queuePosition;
    r.etaMs = job.etaRemainingMs(QDateTime::currentMSecsSinceEpoch());
    return r;
}

QJsonObject jobToJson(const Job &job) { return protocol::encodeJob(jobRecord(job)); }

QByteArray JobBodyCache::body(const Job &job)
{
    if (!job.isFinished())
        return QJsonDocument(jobToJson(job)).toJson(QJsonDocument::Compact); // progress, duration so far
    if (auto it = m_entries.constFind(job.id);
        it != m_entries.cend() && it->revision == job.revision && it->finishedAt == job.finishedAt)
        return it->bytes;
    if (m_entries.size() >= kMaxEntries)
        m_entries.clear();
    QByteArray bytes = QJsonDocument(jobToJson(job)).toJson(QJsonDocument::Compact);
    m_entries.insert(job.id, {job.revision, job.finishedAt, bytes});
    return bytes;
}

QJsonObject pageJson(const QString &key, const QJsonArray &items, int total, int offset, int limit)
{
    return {{key, items},
            {QStringLiteral("total"), total},
            {QStringLiteral("offset"), offset},
            {QStringLiteral("limit"), limit}};
}

} // namespace cr
