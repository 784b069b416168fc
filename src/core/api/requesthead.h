#pragma once
// The strict reading of one HTTP/1.x request head (RFC 9112), done by the socket guard before QHttpServer
// sees a byte of the request: QHttpServer's own parser is lenient where a reverse proxy in front of us may
// read the same bytes differently (request smuggling), so anything ambiguous is refused here with 400, an
// HTTP version other than 1.0/1.1 with 505.

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <variant>

namespace cr {

// What the guard needs of a valid head.
struct RequestHead {
    QByteArray method;
    QByteArray target;
    int minorVersion = 1; // HTTP/1.<minorVersion>
    qint64 contentLength = 0;
    bool chunked = false; // a Transfer-Encoding was sent (refused with 411 by the guard)
    bool expectContinue = false;
    bool close = false; // the connection ends after this answer: "Connection: close", or HTTP/1.0
                        // (keep-alive of HTTP/1.0 is not offered)
};

// A head that must be refused: code is an ErrorCode (invalid_request 400, http_version_not_supported 505;
// the status comes from httpStatusFor).
struct HeadError {
    const char *code = nullptr;
    QString message;
};

// `head` is the request line and the field lines, without the final empty line; lines end with CRLF (a bare
// LF is accepted as a line end, RFC 9112 §2.2). Refused: a malformed request line, a version other than
// HTTP/1.0 and HTTP/1.1 (505), a field line without a colon or with whitespace before it, obs-fold, a field
// name that is not a token, a control character (NUL, bare CR, ...) in a value, HTTP/1.1 without exactly one
// Host (HTTP/1.0 may omit it, never repeat it), a Content-Length that is not digits or is repeated with
// another value. HTTP/1.2 and later 1.x are served as HTTP/1.1 (RFC 9110 §2.5).
std::variant<RequestHead, HeadError> parseRequestHead(QByteArrayView head);

} // namespace cr
