#include "core/workflows/floatscanner.h"

#include "protocol/jsonutil.h"

namespace cr {

namespace {

// A forward-only reader over JSON text. It never reads past the end; on anything unexpected it stops
// (the text was validated before, so that only happens for duplicate-key oddities and is harmless).
class Scanner
{
public:
    explicit Scanner(const QByteArray &text) : m_p(text.constData()), m_end(text.constData() + text.size()) { }

    QHash<QString, QSet<QString>> run()
    {
        skipWs();
        if (!eat('{'))
            return {};
        forEachMember([this](const QString &nodeId) { scanNode(nodeId); });
        return m_result;
    }

private:
    bool atEnd() const { return m_p >= m_end; }
    void skipWs()
    {
        while (!atEnd() && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }
    bool eat(char c)
    {
        skipWs();
        if (atEnd() || *m_p != c)
            return false;
        ++m_p;
        return true;
    }
    bool peek(char c)
    {
        skipWs();
        return !atEnd() && *m_p == c;
    }

    // Calls f(key) with the reader on each member's value; f must consume the value.
    template <typename F>
    void forEachMember(F f)
    {
        if (eat('}'))
            return;
        while (!atEnd()) {
            QString key;
            if (!readString(&key) || !eat(':')) {
                m_p = m_end;
                return;
            }
            f(key);
            if (eat(','))
                continue;
            eat('}');
            return;
        }
    }

    void scanNode(const QString &nodeId)
    {
        if (!eat('{'))
            return skipValue();
        forEachMember([this, &nodeId](const QString &key) {
            if (key == QLatin1String("inputs") && eat('{')) {
                forEachMember([this, &nodeId](const QString &input) {
                    skipWs();
                    const char *start = m_p;
                    skipValue();
                    if (isFloatSpelling(start, m_p))
                        m_result[nodeId].insert(input);
                });
            } else {
                skipValue();
            }
        });
    }

    static bool isFloatSpelling(const char *b, const char *e)
    {
        if (b == e || !(*b == '-' || (*b >= '0' && *b <= '9')))
            return false;
        for (const char *p = b; p < e; ++p) {
            if (*p == '.' || *p == 'e' || *p == 'E')
                return true;
        }
        return false;
    }

    void skipValue()
    {
        skipWs();
        if (atEnd())
            return;
        if (*m_p == '"') {
            readString(nullptr);
            return;
        }
        if (*m_p == '{' || *m_p == '[') {
            int depth = 0;
            while (!atEnd()) {
                const char c = *m_p;
                if (c == '"') {
                    readString(nullptr);
                    continue;
                }
                ++m_p;
                if (c == '{' || c == '[')
                    ++depth;
                else if ((c == '}' || c == ']') && --depth == 0)
                    return;
            }
            return;
        }
        while (!atEnd() && *m_p != ',' && *m_p != '}' && *m_p != ']' && *m_p != ' ' && *m_p != '\n' && *m_p != '\r'
               && *m_p != '\t')
            ++m_p;
    }

    // Reads a string at the cursor; decodes it into out when given.
    bool readString(QString *out)
    {
        if (!eat('"'))
            return false;
        QByteArray utf8;
        QString decoded;
        auto flush = [&] {
            if (out && !utf8.isEmpty()) {
                decoded += QString::fromUtf8(utf8);
                utf8.clear();
            }
        };
        while (!atEnd()) {
            const char c = *m_p++;
            if (c == '"') {
                flush();
                if (out)
                    *out = decoded;
                return true;
            }
            if (c != '\\') {
                if (out)
                    utf8 += c;
                continue;
            }
            if (atEnd())
                break;
            const char esc = *m_p++;
            if (esc == 'u') {
                if (m_end - m_p < 4)
                    break;
                const int code = protocol::jsonEscapeCodeUnit(QByteArrayView(m_p, 4));
                if (code < 0)
                    return false;
                m_p += 4;
                flush();
                decoded += QChar(char16_t(code));
                continue;
            }
            const char plain = esc == 'n' ? '\n'
                : esc == 't'              ? '\t'
                : esc == 'r'              ? '\r'
                : esc == 'b'              ? '\b'
                : esc == 'f'              ? '\f'
                                          : esc;
            if (out)
                utf8 += plain;
        }
        m_p = m_end;
        return false;
    }

    const char *m_p;
    const char *m_end;
    QHash<QString, QSet<QString>> m_result;
};

} // namespace

QHash<QString, QSet<QString>> scanFloatInputs(const QByteArray &json) { return Scanner(json).run(); }

} // namespace cr
