#include "core/api/apierrors.h"

#include "core/common/listenerguard.h"

#include <QHash>
#include <QJsonDocument>

namespace cr {

int httpStatusFor(const QString &code)
{
    static const QHash<QString, int> table = {
        {QLatin1String(ErrorCode::InvalidJson), 400},
        {QLatin1String(ErrorCode::MissingField), 400},
        {QLatin1String(ErrorCode::InvalidField), 400},
        {QLatin1String(ErrorCode::InvalidRequest), 400},
        {QLatin1String(ErrorCode::TypeMismatch), 400},
        {QLatin1String(ErrorCode::UnknownInput), 400},
        {QLatin1String(ErrorCode::UnknownParameter), 400},
        {QLatin1String(ErrorCode::LinkedInput), 400},
        {QLatin1String(ErrorCode::InvalidWorkflow), 400},
        {QLatin1String(ErrorCode::NoWorkflow), 400},
        {QLatin1String(ErrorCode::Unauthorized), 401},
        {QLatin1String(ErrorCode::NotFound), 404},
        {QLatin1String(ErrorCode::UnknownWorkflow), 404},
        {QLatin1String(ErrorCode::UnknownNode), 404},
        {QLatin1String(ErrorCode::JobNotFound), 404},
        {QLatin1String(ErrorCode::OutputNotFound), 404},
        {QLatin1String(ErrorCode::MethodNotAllowed), 405},
        {QLatin1String(ErrorCode::RequestTimeout), 408},
        {QLatin1String(ErrorCode::JobConflict), 409},
        {QLatin1String(ErrorCode::JobExpired), 410},
        {QLatin1String(ErrorCode::LengthRequired), 411},
        {QLatin1String(ErrorCode::PayloadTooLarge), 413},
        {QLatin1String(ErrorCode::HeadersTooLarge), 431},
        {QLatin1String(ErrorCode::ComfyValidation), 422},
        {QLatin1String(ErrorCode::ComfyError), 502},
        {QLatin1String(ErrorCode::NoOutput), 502},
        {QLatin1String(ErrorCode::ComfyUnreachable), 502},
        {QLatin1String(ErrorCode::UpstreamUnreachable), 502},
        {QLatin1String(ErrorCode::UpstreamError), 502},
        {QLatin1String(ErrorCode::NotReady), 503},
        {QLatin1String(ErrorCode::TooManyStreams), 503},
        {QLatin1String(ErrorCode::TooManyConnections), 503},
        {QLatin1String(ErrorCode::ComfyTimeout), 504},
        {QLatin1String(ErrorCode::WaitTimeout), 504},
        {QLatin1String(ErrorCode::HttpVersionNotSupported), 505},
        {QLatin1String(ErrorCode::Internal), 500},
    };
    return table.value(code, 500);
}

QByteArray errorBody(const Error &error, bool legacyStatus)
{
    QJsonObject body{{QStringLiteral("error"), error.toJson()}};
    if (legacyStatus)
        body.insert(QStringLiteral("STATUS"), error.message);
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

QByteArray rawErrorResponse(int status, const Error &error, bool legacyStatus)
{
    return closingHttpAnswer(status, reasonPhrase(status), errorBody(error, legacyStatus));
}

} // namespace cr
