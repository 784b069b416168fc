#pragma once
// The one token rule of the service, used by the REST API, its Server-Sent Events routes and the relay:
// - no token configured: everything is allowed;
// - a present Authorization header decides alone: it must be "Bearer <token>" (the scheme in any case,
//   RFC 7235), otherwise the request is refused even when a right ?token= is also given;
// - ?token= is looked at only when there is no Authorization header, and only where the caller allows it
//   (event streams and the relay, for clients that cannot set headers).
// Tokens are compared in constant time.

#include <QByteArray>

#include <optional>

namespace cr {

// Compares without an early exit, so the time taken does not tell how much of a secret was right.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

struct TokenCheck {
    std::optional<QByteArray> authorization; // the Authorization header's value; nullopt when absent
    std::optional<QByteArray> queryToken;    // the decoded ?token= value (UTF-8); nullopt when absent
    bool queryTokenAllowed = false;          // whether this route or listener accepts ?token=
};

// Applies the rule above; `secret` empty means authentication is off.
bool tokenAccepted(const QByteArray &secret, const TokenCheck &check);

} // namespace cr
