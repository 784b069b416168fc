#include "core/api/apierrors.h"

#include "core/common/listenerguard.h"
#include "protocol/httpstatus.h"

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
        {QLatin1String(ErrorCode::BackendNotFound), 404},
        {QLatin1String(ErrorCode::DeliveryNotFound), 404},
        {QLatin1String(ErrorCode::MethodNotAllowed), 405},
        {QLatin1String(ErrorCode::RequestTimeout), 408},
        {QLatin1String(ErrorCode::JobConflict), 409},
        {QLatin1String(ErrorCode::JobExpired), 410},
        {QLatin1String(ErrorCode::LengthRequired), 411},
        {QLatin1String(ErrorCode::PayloadTooLarge), 413},
        {QLatin1String(ErrorCode::RangeNotSatisfiable), 416},
        {QLatin1String(ErrorCode::HeadersTooLarge), 431},
        {QLatin1String(ErrorCode::ComfyValidation), 422},
        {QLatin1String(ErrorCode::NoBackendCanRun), 422},
        {QLatin1String(ErrorCode::WebhookUrlForbidden), 422},
        {QLatin1String(ErrorCode::WebhooksNotConfigured), 422},
        {QLatin1String(ErrorCode::ComfyError), 502},
        {QLatin1String(ErrorCode::NoOutput), 502},
        {QLatin1String(ErrorCode::ComfyUnreachable), 502},
        {QLatin1String(ErrorCode::UpstreamUnreachable), 502},
        {QLatin1String(ErrorCode::UpstreamError), 502},
        {QLatin1String(ErrorCode::NotReady), 503},
        {QLatin1String(ErrorCode::StoreUnavailable), 503},
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
    const QByteArray phrase = protocol::httpReasonPhrase(status);
    return phrase.isEmpty() ? QByteArrayLiteral("Status") : phrase;
}

QByteArray rawErrorResponse(int status, const Error &error, bool legacyStatus)
{
    return closingHttpAnswer(status, reasonPhrase(status), errorBody(error, legacyStatus));
}

} // namespace cr
