#pragma once
// The rules of webhook targets and secrets, in one place for the config loader (a default url, the secret),
// the API (a job's webhook at submission) and the dispatcher (every attempt, since DNS can change): which
// URLs may be called, which addresses are refused (link-local and cloud metadata, unless [webhooks]
// allow_hosts names them), the event names, and the Standard Webhooks "whsec_" secret form.

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

namespace cr::webhookpolicy {

// job_started, job_progress, job_finished, job_failed, job_cancelled.
const QStringList &eventNames();
// The events a webhook gets when it names none: job_finished, job_failed, job_cancelled.
const QStringList &defaultEvents();
// "" when `events` is a non-empty list of known names without duplicates, else why not.
QString eventsProblem(const QStringList &events);

// "" when `url` may be a webhook target as written: http or https, a host, at most 2048 characters, no
// fragment; else why not. Says nothing about where the host points (addressProblem).
QString urlProblem(const QUrl &url);

// True for 169.254.0.0/16, fe80::/10, 100.100.100.200 and fd00:ec2::254 (also IPv4-mapped), and 0.0.0.0/::
// (which reach this machine). Loopback and private ranges are not refused: receivers often live there.
bool isForbiddenAddress(const QHostAddress &address);
// "" when a request to `host` (which resolved to `addresses`; a literal address resolves to itself) may go
// out: none of them is forbidden, or the host or each forbidden address is in `allowHosts` (host names
// compared case-insensitively, addresses exactly, "a.b.c.d/n" and "x::/n" as subnets). Else the sentence.
QString addressProblem(const QString &host, const QList<QHostAddress> &addresses, const QStringList &allowHosts);
// "" when every entry of allow_hosts is a host name, an address or a subnet; else the first bad one's problem.
QString allowHostsProblem(const QStringList &allowHosts);

// The HMAC key of a "whsec_<base64>" secret (24 to 64 bytes once decoded); nullopt when it is not one.
std::optional<QByteArray> decodeSecret(const QString &secret);

} // namespace cr::webhookpolicy
