#pragma once
// Standard Webhooks signing (https://www.standardwebhooks.com): the content "id.timestamp.body" is signed
// with HMAC-SHA256 keyed by the decoded "whsec_" secret; the header is "v1,<base64 signature>".

#include <QByteArray>
#include <QString>

namespace cr {

// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>"; timestamp in seconds since the epoch.
QByteArray webhookSignature(const QByteArray &key, const QString &id, qint64 timestamp, const QByteArray &body);

} // namespace cr
