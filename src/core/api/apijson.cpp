#include "core/api/apijson.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

namespace cr {

Result<QJsonObject> parseJsonObject(const ApiRequest &request, bool allowEmpty)
{
    if (request.body.trimmed().isEmpty()) {
        if (allowEmpty)
            return QJsonObject();
        return Error::make(ErrorCode::InvalidJson, QStringLiteral("the request body is empty; a JSON object is expected"));
    }
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(request.body, &pe);
    if (pe.error != QJsonParseError::NoError)
        return Error::make(ErrorCode::InvalidJson, QStringLiteral("the body is not valid JSON: %1").arg(pe.errorString()),
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
            return Error::make(ErrorCode::MissingField, QStringLiteral("field \"%1\" is required").arg(key), {{QStringLiteral("field"), key}});
        return QString();
    }
    if (!v.isString())
        return Error::make(ErrorCode::TypeMismatch, QStringLiteral("field \"%1\" must be a string").arg(key), {{QStringLiteral("field"), key}});
    if (required && v.toString().isEmpty())
        return Error::make(ErrorCode::MissingField, QStringLiteral("field \"%1\" must not be empty").arg(key), {{QStringLiteral("field"), key}});
    return v.toString();
}

QString isoUtc(const QDateTime &time)
{
    return time.isValid() ? time.toUTC().toString(Qt::ISODateWithMs) : QString();
}

QString outputUrl(const QString &jobId, int index)
{
    return QStringLiteral("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(index);
}

namespace {
QJsonValue timeOrNull(const QDateTime &t)
{
    return t.isValid() ? QJsonValue(isoUtc(t)) : QJsonValue(QJsonValue::Null);
}
QJsonValue stringOrNull(const QString &s)
{
    return s.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(s);
}
} // namespace

QJsonObject jobToJson(const Job &job)
{
    QJsonArray outputs;
    for (int i = 0; i < job.outputs.size(); ++i) {
        const NodeOutputFile &f = job.outputs.at(i);
        outputs.append(QJsonObject{
            {QStringLiteral("index"), i},
            {QStringLiteral("node_id"), f.nodeId},
            {QStringLiteral("filename"), f.file.filename},
            {QStringLiteral("subfolder"), f.file.subfolder},
            {QStringLiteral("type"), f.file.type},
            {QStringLiteral("kind"), f.file.kind},
            {QStringLiteral("url"), outputUrl(job.id, i)},
        });
    }
    QJsonValue error = QJsonValue::Null;
    if (job.comfyError) {
        error = QJsonObject{
            {QStringLiteral("message"), job.comfyError->exceptionMessage},
            {QStringLiteral("node_id"), job.comfyError->nodeId},
            {QStringLiteral("node_type"), job.comfyError->nodeType},
            {QStringLiteral("exception_type"), job.comfyError->exceptionType},
        };
    }
    const bool hasProgress = !job.progress.node.isEmpty() || job.progress.max > 0;
    QJsonValue progress = QJsonValue::Null;
    if (hasProgress) {
        progress = QJsonObject{
            {QStringLiteral("node"), job.progress.node},
            {QStringLiteral("class_type"), job.progress.nodeClass},
            {QStringLiteral("value"), job.progress.value},
            {QStringLiteral("max"), job.progress.max},
        };
    }
    return QJsonObject{
        {QStringLiteral("id"), job.id},
        {QStringLiteral("client_ref"), stringOrNull(job.clientRef)},
        {QStringLiteral("workflow"), stringOrNull(job.workflow)},
        {QStringLiteral("state"), jobStateName(job.state)},
        {QStringLiteral("created_at"), timeOrNull(job.createdAt)},
        {QStringLiteral("started_at"), timeOrNull(job.startedAt)},
        {QStringLiteral("finished_at"), timeOrNull(job.finishedAt)},
        {QStringLiteral("duration_ms"), job.startedAt.isValid() ? QJsonValue(job.durationMs()) : QJsonValue(QJsonValue::Null)},
        {QStringLiteral("progress"), progress},
        {QStringLiteral("outputs"), outputs},
        {QStringLiteral("error"), error},
        {QStringLiteral("reason"), stringOrNull(job.reason)},
        {QStringLiteral("cancel_requested"), job.cancelRequested},
    };
}

} // namespace cr
