#pragma once
// Small JSON helpers shared by the protocol parsers and encoders.

#include <QByteArray>
#include <QByteArrayView>
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

} // namespace cr::protocol
