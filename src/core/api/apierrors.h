#pragma once
// The one place where error codes become HTTP status codes, and the one error body shape of the API:
// {"error": {"code", "message", "details"?}}.

#include "protocol/error.h"

#include <QByteArray>

namespace cr {

// HTTP status of an error code (unknown codes: 500).
int httpStatusFor(const QString &code);
// The compact JSON error body; with legacyStatus also {"STATUS": message} for the Python project's clients.
QByteArray errorBody(const Error &error, bool legacyStatus = false);
// A full raw HTTP/1.1 response carrying an error, for answers written below QHttpServer (the socket guard).
QByteArray rawErrorResponse(int status, const Error &error, bool legacyStatus = false);
// Reason phrase for the status codes this API uses.
QByteArray reasonPhrase(int status);

} // namespace cr
