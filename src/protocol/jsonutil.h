#pragma once
// Small JSON helpers shared by the protocol parsers and encoders.

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>
#include <QJsonValue>
#include <QString>

namespace cr::protocol {

// A JSON string literal exactly as Python's json.dumps (ensure_ascii=True) writes it, quotes included; ComfyUI
// writes its frames that way, so re-encoded frames stay byte-identical.
QByteArray jsonStringLiteral(const QString &value);

// Node ids are strings on the wire; integral numbers are tolerated (custom nodes), anything else
// (null included) is "".
QString idString(const QJsonValue &value);

// The UTF-16 code unit of a \uXXXX escape from its four hex digits (either case); -1 when `digits` is not
// exactly four hex digits. Shared by the JSON readers that decode strings by hand.
int jsonEscapeCodeUnit(QByteArrayView digits);

// The API's JSON conventions: an empty string and an invalid time are null; times are ISO 8601 UTC with
// milliseconds ("2024-05-01T12:00:00.123Z"); reading accepts ISO 8601 with or without milliseconds.
QJsonValue stringOrNull(const QString &value);
QJsonValue timeOrNull(const QDateTime &time);
QDateTime timeFromJson(const QJsonValue &value); // invalid when not a string or not ISO 8601

} // namespace cr::protocol
