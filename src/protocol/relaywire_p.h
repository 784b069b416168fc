#pragma once
// Private to src/protocol: the JSON pieces the relay's subscription messages (relaysubscription.cpp) and
// its control messages (relaycontrol.cpp) share.

#include "protocol/relaysubscription.h"

#include <QByteArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <optional>

namespace cr::protocol::detail {

// {"type": T, "data": {...}} with "type" first, as ComfyUI's own frames.
QByteArray controlMessage(const char *type, const QJsonObject &data);
QByteArray nullOrString(const QString &s); // null for "", else the JSON string literal
// A JSON number that is a non-negative integer (seq, protocol).
std::optional<qint64> nonNegativeInteger(const QJsonValue &v);
// Reads the subscription fields of `data` into `update`; false with `why` on the first bad one.
bool readSubscription(const QJsonObject &data, RelaySubscriptionUpdate &update, QString *why);

} // namespace cr::protocol::detail
