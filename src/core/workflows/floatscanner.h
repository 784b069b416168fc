#pragma once
// Finds the inputs whose numbers are spelled as floats ("cfg": 7.0, "denoise": 1e0) in API-format JSON text.
// Qt's JSON parser stores 7.0 as the integer 7, so the spelling is the only place the difference survives.
// Internal to the workflows module; expects text that QJsonDocument already accepted.

#include <QByteArray>
#include <QHash>
#include <QSet>
#include <QString>

namespace cr {

// node id -> names of its inputs whose literal is a number with a fraction or an exponent.
QHash<QString, QSet<QString>> scanFloatInputs(const QByteArray &json);

} // namespace cr
