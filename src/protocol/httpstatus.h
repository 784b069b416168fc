#pragma once
// The one table of HTTP reason phrases, shared by the API's raw answers and the simulator's HTTP server.

#include <QByteArray>

namespace cr::protocol {

// The RFC 9110 reason phrase of `status` ("Not Found"); empty for a status not in the table, so each caller
// keeps its own fallback.
QByteArray httpReasonPhrase(int status);

} // namespace cr::protocol
