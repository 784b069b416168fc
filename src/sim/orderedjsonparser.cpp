// OrderedJson::parse: a recursive-descent parser over UTF-8 text (RFC 8259, plus a depth limit) that keeps
// key order, int vs float and ints beyond 64 bits.
#include "protocol/jsonutil.h"
#include "sim/orderedjson.h"

namespace cr::sim {

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
                const int code = protocol::jsonEscapeCodeUnit(m_text.sliced(m_pos, 4));
                if (code < 0)
                    return false;
                m_pos += 4;
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
