#include "core/api/uploadnames.h"

namespace cr {

namespace {

Error invalid(const QString &field, const QString &reason)
{
    return Error::make(ErrorCode::InvalidField, QStringLiteral("\"%1\" %2").arg(field, reason),
                       {{QStringLiteral("field"), field}, {QStringLiteral("reason"), reason}});
}

} // namespace

Status checkUploadFileName(const QString &name, const QString &field)
{
    if (name.isEmpty())
        return invalid(field, QStringLiteral("must not be empty"));
    if (name.toUtf8().size() > 255)
        return invalid(field, QStringLiteral("is longer than 255 bytes"));
    if (name == QLatin1String("."))
        return invalid(field, QStringLiteral("must not be \".\""));
    if (name.contains(QLatin1String("..")))
        return invalid(field, QStringLiteral("must not contain \"..\""));
    for (const QChar c : name) {
        if (c == QLatin1Char('/') || c == QLatin1Char('\\'))
            return invalid(field, QStringLiteral("must not contain \"/\" or \"\\\""));
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            return invalid(field, QStringLiteral("must not contain NUL or control characters"));
    }
    return std::nullopt;
}

Status checkUploadSubfolder(const QString &subfolder)
{
    if (subfolder.isEmpty())
        return std::nullopt;
    if (subfolder.startsWith(QLatin1Char('/')))
        return invalid(QStringLiteral("subfolder"), QStringLiteral("must be a relative path inside the folder"));
    for (const QString &part : subfolder.split(QLatin1Char('/')))
        if (Status bad = checkUploadFileName(part, QStringLiteral("subfolder")))
            return bad;
    return std::nullopt;
}

Error uploadError(const Error &comfyError)
{
    const int status = comfyError.details.value(QStringLiteral("status")).toInt();
    if (!comfyError.is(ErrorCode::ComfyError) || status < 400 || status > 499)
        return comfyError;
    QJsonObject details = comfyError.details;
    details.insert(QStringLiteral("comfy_status"), status);
    details.remove(QStringLiteral("status"));
    return Error::make(ErrorCode::ComfyValidation, QStringLiteral("ComfyUI refused the upload (HTTP %1)").arg(status),
                       details);
}

} // namespace cr
