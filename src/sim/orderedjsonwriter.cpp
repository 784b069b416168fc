// OrderedJson's writers: json.dumps (dump) and Python's str()/repr() spellings (pyStr, pyFloat, pyRepr).
#include "protocol/jsonutil.h"
#include "sim/orderedjson.h"

#include <cmath>

namespace cr::sim {

QByteArray OrderedJson::pyFloat(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "Infinity" : "-Infinity";
    if (value == 0)
        return std::signbit(value) ? "-0.0" : "0.0";
    const QByteArray sci = QByteArray::number(value, 'e', QLocale::FloatingPointShortest);
    const int exponent = sci.mid(sci.indexOf('e') + 1).toInt();
    if (exponent < -4 || exponent >= 16)
        return sci; // Python: 1e+16, 2.5e-07
    QByteArray fixed = QByteArray::number(value, 'f', QLocale::FloatingPointShortest);
    if (!fixed.contains('.'))
        fixed += ".0";
    return fixed;
}

QString OrderedJson::pyRepr(const QString &value)
{
    const bool useDouble = value.contains(u'\'') && !value.contains(u'"');
    const QChar quote = useDouble ? u'"' : u'\'';
    QString out(quote);
    for (QChar c : value) {
        if (c == u'\\')
            out += QLatin1String("\\\\");
        else if (c == quote)
            out += QString(u'\\') + c;
        else if (c == u'\n')
            out += QLatin1String("\\n");
        else if (c == u'\t')
            out += QLatin1String("\\t");
        else if (c == u'\r')
            out += QLatin1String("\\r");
        else
            out += c;
    }
    return out + quote;
}

QString OrderedJson::pyStr() const
{
    switch (m_type) {
    case Type::Null:
        return QStringLiteral("None");
    case Type::Bool:
        return m_bool ? QStringLiteral("True") : QStringLiteral("False");
    case Type::Int:
        return m_bigInt.isEmpty() ? QString::number(m_int) : QString::fromLatin1(m_bigInt);
    case Type::Float:
        return QString::fromLatin1(pyFloat(m_float));
    case Type::String:
        return m_string;
    case Type::Array: {
        QStringList parts;
        for (const OrderedJson &item : m_items)
            parts.append(item.isString() ? pyRepr(item.m_string) : item.pyStr());
        return u'[' + parts.join(QLatin1String(", ")) + u']';
    }
    case Type::Object: {
        QStringList parts;
        for (const Member &m : m_members)
            parts.append(pyRepr(m.first) + QLatin1String(": ")
                         + (m.second.isString() ? pyRepr(m.second.m_string) : m.second.pyStr()));
        return u'{' + parts.join(QLatin1String(", ")) + u'}';
    }
    }
    return {};
}

void OrderedJson::dumpTo(QByteArray &out) const
{
    switch (m_type) {
    case Type::Null:
        out += "null";
        break;
    case Type::Bool:
        out += m_bool ? "true" : "false";
        break;
    case Type::Int:
        out += m_bigInt.isEmpty() ? QByteArray::number(m_int) : m_bigInt;
        break;
    case Type::Float:
        out += pyFloat(m_float);
        break;
    case Type::String:
        out += protocol::jsonStringLiteral(m_string);
        break;
    case Type::Array:
        out += '[';
        for (size_t i = 0; i < m_items.size(); ++i) {
            if (i)
                out += ", ";
            m_items[i].dumpTo(out);
        }
        out += ']';
        break;
    case Type::Object:
        out += '{';
        for (size_t i = 0; i < m_members.size(); ++i) {
            if (i)
                out += ", ";
            out += protocol::jsonStringLiteral(m_members[i].first);
            out += ": ";
            m_members[i].second.dumpTo(out);
        }
        out += '}';
        break;
    }
}

QByteArray OrderedJson::dump() const
{
    QByteArray out;
    dumpTo(out);
    return out;
}

} // namespace cr::sim
