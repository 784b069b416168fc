#pragma once
// The one meaning of a listener's host ([http-server] host, [server] host, --http-host, --relay-host), used by
// the config loader (to report a bad value at its file:line) and by both listeners (to bind):
//   "127.0.0.1", "::1", any IP literal: that address; "localhost": 127.0.0.1;
//   "0.0.0.0": every IPv4 interface; "::", "*" or "": every interface, IPv4 and IPv6.
// Also the start-up rule that a listener reachable from the network needs a token (README, Security).

#include <QHostAddress>
#include <QString>

#include <optional>

namespace cr {

struct Config;

// The address to bind for `host`; nullopt when it is none of the forms above.
std::optional<QHostAddress> resolveBindHost(const QString &host);

// "host:port" of a bound address as a client writes it ("[::]:8190" for IPv6).
QString hostPortString(const QHostAddress &address, quint16 port);

// A host name for URLs that point at a listener bound to `bound`, for events that answer no request
// (image_generated): the address itself when it is one address; for every interface (0.0.0.0, ::) the
// machine's host name (what a client elsewhere can use), or 127.0.0.1 when that is unknown.
QString urlHostFor(const QHostAddress &bound);

// Empty when the configuration may start; otherwise why not and how to fix it: a listener that is not on a
// loopback address needs [auth] token (or COMFY_RUNNER_TOKEN), unless [auth] allow_unauthenticated_network.
QString networkExposureError(const Config &config);

} // namespace cr
