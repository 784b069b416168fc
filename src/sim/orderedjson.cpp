#include "sim/orderedjson.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cmath>
#include <limits>

namespace cr::sim {

OrderedJson::OrderedJson(bool value) : m_type(Type::Bool), m_bool(value) { }
OrderedJson::OrderedJson(int value) : m_type(Type::Int), m_int(value) { }
OrderedJson::OrderedJson(qint64 value) : m_type(Type::Int), m_int(value) { }
OrderedJson::OrderedJson(double value) : m_type(Type::Float), m_float(value) { }
OrderedJson::OrderedJson(const QString &value) : m_type(Type::String), m_string(value) { }
OrderedJson::OrderedJson(const char *value) : m_type(Type::String), m_string(QString::fromUtf8(value)) { }

OrderedJson OrderedJson::object(std::initializer_list<Member> members)
{
    OrderedJson result;
    result.m_type = Type::Object;
    for (const Member &member : members)
        result.insert(member.first, member.second);
    return result;
}

OrderedJson OrderedJson::array(std::initializer_list<OrderedJson> items)
{
    OrderedJson result;
    result.m_type = Type::Array;
    result.m_items.assign(items.begin(), items.end());
    return result;
}

OrderedJson OrderedJson::fromStrings(const QStringList &strings)
{
    OrderedJson result = array();
    for (const QString &s : strings)
        result.append(s);
    return result;
}

OrderedJson OrderedJson::fromQJson(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Bool:
        return OrderedJson(value.toBool());
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (std::trunc(d) == d && std::abs(d) < 9.0e15)
            return OrderedJson(qint64(d));
        return OrderedJson(d);
    }
    case QJsonValue::String:
        return OrderedJson(value.toString());
    case QJsonValue::Array: {
        OrderedJson result = array();
        for (const QJsonValue &item : value.toArray())
            result.append(fromQJson(item));
        return result;
    }
    case QJsonValue::Object: {
        OrderedJson result = object();
        const QJsonObject obj = value.toObject();
        for (auto it = obj.begin(); it != obj.end(); ++it)
            result.insert(it.key(), fromQJson(it.value()));
        return result;
    }
    default:
        return {};
    }
}

qint64 OrderedJson::toInt() const
{
    if (m_type == Type::Float)
        return std::isfinite(m_float) ? qint64(m_float) : 0;
    if (m_type == Type::Bool)
        return m_bool ? 1 : 0;
    return m_int;
}

double OrderedJson::toDouble() const
{
    if (m_type == Type::Float)
        return m_float;
    if (m_type == Type::Int)
        return m_bigInt.isEmpty() ? double(m_int) : m_bigInt.toDouble();
    if (m_type == Type::Bool)
        return m_bool ? 1 : 0;
    return 0;
}

const OrderedJson *OrderedJson::find(QStringView key) const
{
    for (const Member &member : m_members) {
        if (member.first == key)
            return &member.second;
    }
    return nullptr;
}

OrderedJson *OrderedJson::find(QStringView key)
{
    for (Member &member : m_members) {
        if (member.first == key)
            return &member.second;
    }
    return nullptr;
}

const OrderedJson &OrderedJson::value(QStringView key) const
{
    static const OrderedJson null;
    const OrderedJson *found = find(key);
    return found ? *found : null;
}

OrderedJson &OrderedJson::insert(const QString &key, OrderedJson value)
{
    m_type = Type::Object;
    if (OrderedJson *existing = find(key)) {
        *existing = std::move(value);
        return *existing;
    }
    m_members.emplace_back(key, std::move(value));
    return m_members.back().second;
}

bool OrderedJson::remove(QStringView key)
{
    for (auto it = m_members.begin(); it != m_members.end(); ++it) {
        if (it->first == key) {
            m_members.erase(it);
            return true;
        }
    }
    return false;
}

QStringList OrderedJson::keys() const
{
    QStringList result;
    for (const Member &member : m_members)
        result.append(member.first);
    return result;
}

qsizetype OrderedJson::size() const
{
    if (m_type == Type::Array)
        return qsizetype(m_items.size());
    if (m_type == Type::Object)
        return qsizetype(m_members.size());
    return 0;
}

QStringList OrderedJson::toStringList() const
{
    QStringList result;
    for (const OrderedJson &item : m_items) {
        if (item.isString())
            result.append(item.m_string);
    }
    return result;
}

bool OrderedJson::operator==(const OrderedJson &other) const
{
    if (isNumber() && other.isNumber())
        return toDouble() == other.toDouble();
    if (m_type != other.m_type)
        return false;
    switch (m_type) {
    case Type::Null:
        return true;
    case Type::Bool:
        return m_bool == other.m_bool;
    case Type::String:
        return m_string == other.m_string;
    case Type::Array:
        return m_items == other.m_items;
    case Type::Object:
        return m_members == other.m_members;
    default:
        return false;
    }
}

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

static void dumpString(QByteArray &out, const QString &s)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (QChar c : s) {
        const char16_t u = c.unicode();
        switch (u) {
        case u'"':
            out += "\\\"";
            break;
        case u'\\':
            out += "\\\\";
            break;
        case u'\n':
            out += "\\n";
            break;
        case u'\r':
            out += "\\r";
            break;
        case u'\t':
            out += "\\t";
            break;
        case u'\b':
            out += "\\b";
            break;
        case u'\f':
            out += "\\f";
            break;
        default:
            if (u < 0x20 || u > 0x7e) {
                out += "\\u";
                out += hex[(u >> 12) & 0xf];
                out += hex[(u >> 8) & 0xf];
                out += hex[(u >> 4) & 0xf];
                out += hex[u & 0xf];
            } else {
                out += char(u);
            }
        }
    }
    out += '"';
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
        dumpString(out, m_string);
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
            dumpString(out, m_members[i].first);
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

QJsonValue OrderedJson::toQJson() const
{
    switch (m_type) {
    case Type::Null:
        return QJsonValue::Null;
    case Type::Bool:
        return m_bool;
    case Type::Int:
        return m_bigInt.isEmpty() ? QJsonValue(m_int) : QJsonValue(m_bigInt.toDouble());
    case Type::Float:
        return m_float;
    case Type::String:
        return m_string;
    case Type::Array: {
        QJsonArray array;
        for (const OrderedJson &item : m_items)
            array.append(item.toQJson());
        return array;
    }
    case Type::Object: {
        QJsonObject obj;
        for (const Member &m : m_members)
            obj.insert(m.first, m.second.toQJson());
        return obj;
    }
    }
    return {};
}

// Recursive-descent parser over UTF-8 text (RFC 8259, plus a depth limit).
class OrderedJsonParser
{
public:
    explicit OrderedJsonParser(QByteArrayView text) : m_text(text) { }

    std::optional<OrderedJson> run(QString *error)
    {
        OrderedJson value;
        skipSpace();
        if (!parseValue(value, 0)) {
            if (error)
                *error = QStringLiteral("invalid JSON at offset %1").arg(m_pos);
            return std::nullopt;
        }
        skipSpace();
        if (m_pos != m_text.size()) {
            if (error)
                *error = QStringLiteral("extra data at offset %1").arg(m_pos);
            return std::nullopt;
        }
        return value;
    }

private:
    QByteArrayView m_text;
    qsizetype m_pos = 0;

    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
    void skipSpace()
    {
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                break;
            ++m_pos;
        }
    }
    bool literal(const char *word)
    {
        const QByteArrayView w(word);
        if (m_text.sliced(m_pos).startsWith(w)) {
            m_pos += w.size();
            return true;
        }
        return false;
    }

    bool parseValue(OrderedJson &out, int depth)
    {
        if (depth > 256)
            return false;
        switch (peek()) {
        case '{':
            return parseObject(out, depth);
        case '[':
            return parseArray(out, depth);
        case '"': {
            QString s;
            if (!parseString(s))
                return false;
            out = OrderedJson(s);
            return true;
        }
        case 't':
            if (!literal("true"))
                return false;
            out = OrderedJson(true);
            return true;
        case 'f':
            if (!literal("false"))
                return false;
            out = OrderedJson(false);
            return true;
        case 'n':
            if (!literal("null"))
                return false;
            out = OrderedJson();
            return true;
        default:
            return parseNumber(out);
        }
    }

    bool parseObject(OrderedJson &out, int depth)
    {
        ++m_pos; // {
        out = OrderedJson::object();
        skipSpace();
        if (peek() == '}') {
            ++m_pos;
            return true;
        }
        for (;;) {
            skipSpace();
            QString key;
            if (peek() != '"' || !parseString(key))
                return false;
            skipSpace();
            if (peek() != ':')
                return false;
            ++m_pos;
            skipSpace();
            OrderedJson value;
            if (!parseValue(value, depth + 1))
                return false;
            out.insert(key, std::move(value)); // duplicate keys: last wins, like Python
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == '}') {
                ++m_pos;
                return true;
            }
            return false;
        }
    }

    bool parseArray(OrderedJson &out, int depth)
    {
        ++m_pos; // [
        out = OrderedJson::array();
        skipSpace();
        if (peek() == ']') {
            ++m_pos;
            return true;
        }
        for (;;) {
            skipSpace();
            OrderedJson value;
            if (!parseValue(value, depth + 1))
                return false;
            out.append(std::move(value));
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == ']') {
                ++m_pos;
                return true;
            }
            return false;
        }
    }

    static int hexValue(char c)
    {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }

    bool parseString(QString &out)
    {
        ++m_pos; // "
        QByteArray utf8;
        QString result;
        auto flush = [&] {
            if (!utf8.isEmpty()) {
                result += QString::fromUtf8(utf8);
                utf8.clear();
            }
        };
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos++];
            if (c == '"') {
                flush();
                out = result;
                return true;
            }
            if (uchar(c) < 0x20)
                return false;
            if (c != '\\') {
                utf8 += c;
                continue;
            }
            if (m_pos >= m_text.size())
                return false;
            const char e = m_text[m_pos++];
            switch (e) {
            case '"':
                utf8 += '"';
                break;
            case '\\':
                utf8 += '\\';
                break;
            case '/':
                utf8 += '/';
                break;
            case 'b':
                utf8 += '\b';
                break;
            case 'f':
                utf8 += '\f';
                break;
            case 'n':
                utf8 += '\n';
                break;
            case 'r':
                utf8 += '\r';
                break;
            case 't':
                utf8 += '\t';
                break;
            case 'u': {
                if (m_pos + 4 > m_text.size())
                    return false;
                int code = 0;
                for (int i = 0; i < 4; ++i) {
                    const int h = hexValue(m_text[m_pos++]);
                    if (h < 0)
                        return false;
                    code = code * 16 + h;
                }
                flush();
                result += QChar(char16_t(code)); // surrogate pairs combine naturally in UTF-16
                break;
            }
            default:
                return false;
            }
        }
        return false;
    }

    bool parseNumber(OrderedJson &out)
    {
        const qsizetype start = m_pos;
        bool isFloat = false;
        if (peek() == '-')
            ++m_pos;
        if (peek() == '0') {
            ++m_pos;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        } else {
            return false;
        }
        if (peek() == '.') {
            isFloat = true;
            ++m_pos;
            if (!(peek() >= '0' && peek() <= '9'))
                return false;
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        }
        if (peek() == 'e' || peek() == 'E') {
            isFloat = true;
            ++m_pos;
            if (peek() == '+' || peek() == '-')
                ++m_pos;
            if (!(peek() >= '0' && peek() <= '9'))
                return false;
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        }
        const QByteArray token = m_text.sliced(start, m_pos - start).toByteArray();
        if (isFloat) {
            out = OrderedJson(token.toDouble());
            return true;
        }
        bool ok = false;
        const qint64 v = token.toLongLong(&ok);
        out = OrderedJson(v);
        if (!ok)
            out.m_bigInt = token;
        return true;
    }
};

std::optional<OrderedJson> OrderedJson::parse(QByteArrayView text, QString *error)
{
    return OrderedJsonParser(text).run(error);
}

} // namespace cr::sim
