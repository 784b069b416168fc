#include "protocol/jsonutil.h"

#include <cmath>

namespace cr::protocol {

QByteArray jsonStringLiteral(const QString &value)
{
    static constexpr char kHex[] = "0123456789abcdef";
    QByteArray out;
    out.reserve(value.size() + 2);
    out.append('"');
    for (const QChar c : value) {
        const char16_t u = c.unicode();
        switch (u) {
        case u'"':
            out.append("\\\"");
            continue;
        case u'\\':
            out.append("\\\\");
            continue;
        case u'\n':
            out.append("\\n");
            continue;
        case u'\r':
            out.append("\\r");
            continue;
        case u'\t':
            out.append("\\t");
            continue;
        case u'\b':
            out.append("\\b");
            continue;
        case u'\f':
            out.append("\\f");
            continue;
        default:
            break;
        }
        if (u >= 0x20 && u <= 0x7e) {
            out.append(char(u));
        } else { // also splits non-BMP characters into their two surrogates, as Python does
            const char esc[6]
                = {'\\', 'u', kHex[(u >> 12) & 0xf], kHex[(u >> 8) & 0xf], kHex[(u >> 4) & 0xf], kHex[u & 0xf]};
            out.append(esc, 6);
        }
    }
    out.append('"');
    return out;
}

QString idString(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isDouble()) {
        const double d = v.toDouble();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
            return QString::number(static_cast<qint64>(d));
    }
    return {};
}

int jsonEscapeCodeUnit(QByteArrayView digits)
{
    if (digits.size() != 4)
        return -1;
    int code = 0;
    for (const char c : digits) {
        int h = -1;
        if (c >= '0' && c <= '9')
            h = c - '0';
        else if (c >= 'a' && c <= 'f')
            h = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            h = c - 'A' + 10;
        if (h < 0)
            return -1;
        code = code * 16 + h;
    }
    return code;
}

} // namespace cr::protocol

namespace cr::protocol {

QJsonValue stringOrNull(const QString &value)
{
    return value.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(value);
}

QJsonValue timeOrNull(const QDateTime &time)
{
    return time.isValid() ? QJsonValue(time.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue(QJsonValue::Null);
}

QDateTime timeFromJson(const QJsonValue &value)
{
    if (!value.isString())
        return {};
    QDateTime t = QDateTime::fromString(value.toString(), Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(value.toString(), Qt::ISODate);
    return t;
}

} // namespace cr::protocol
