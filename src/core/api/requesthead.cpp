#include "core/api/requesthead.h"

#include "protocol/error.h"

#include <QList>

#include <cctype>

namespace cr {

namespace {

// tchar of RFC 9110 §5.6.2.
bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(QByteArrayView s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

// field-content of RFC 9110 §5.5: visible ASCII, obs-text, and SP/HTAB inside.
bool isFieldValue(QByteArrayView s)
{
    for (char c : s) {
        const uchar u = uchar(c);
        if (u < 0x20 ? u != '\t' : u == 0x7f)
            return false;
    }
    return true;
}

QByteArrayView trimmedOws(QByteArrayView s)
{
    while (!s.isEmpty() && (s.front() == ' ' || s.front() == '\t'))
        s = s.sliced(1);
    while (!s.isEmpty() && (s.back() == ' ' || s.back() == '\t'))
        s.chop(1);
    return s;
}

bool allDigits(QByteArrayView s)
{
    if (s.isEmpty() || s.size() > 18)
        return false;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

HeadError bad(const QString &message) { return HeadError{ErrorCode::InvalidRequest, message}; }

} // namespace

std::variant<RequestHead, HeadError> parseRequestHead(QByteArrayView head)
{
    QList<QByteArrayView> lines;
    for (qsizetype from = 0; from <= head.size();) {
        qsizetype nl = head.indexOf('\n', from);
        if (nl < 0)
            nl = head.size();
        QByteArrayView line = head.sliced(from, nl - from);
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.contains('\r'))
            return bad(QStringLiteral("a bare CR in the request head"));
        lines.append(line);
        from = nl + 1;
    }

    // request-line = method SP request-target SP HTTP-version
    RequestHead out;
    const QByteArrayView requestLine = lines.value(0);
    const qsizetype sp1 = requestLine.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : requestLine.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || requestLine.indexOf(' ', sp2 + 1) >= 0)
        return bad(QStringLiteral("the request line is not \"METHOD target HTTP/1.1\""));
    const QByteArrayView method = requestLine.first(sp1);
    const QByteArrayView target = requestLine.sliced(sp1 + 1, sp2 - sp1 - 1);
    const QByteArrayView version = requestLine.sliced(sp2 + 1);
    if (!isToken(method))
        return bad(QStringLiteral("the method is not a token"));
    if (target.isEmpty())
        return bad(QStringLiteral("the request target is empty"));
    for (char c : target) {
        if (uchar(c) <= 0x20 || uchar(c) >= 0x7f)
            return bad(QStringLiteral("the request target contains a control, space or non-ASCII byte"));
    }
    if (version.size() != 8 || !version.startsWith("HTTP/") || version.at(6) != '.'
        || !std::isdigit(uchar(version.at(5))) || !std::isdigit(uchar(version.at(7))))
        return bad(QStringLiteral("the request line does not end with a version like HTTP/1.1"));
    if (version.at(5) != '1')
        return HeadError{ErrorCode::HttpVersionNotSupported,
                         QStringLiteral("%1 is not supported; use HTTP/1.1").arg(QString::fromLatin1(version))};
    out.method = method.toByteArray();
    out.target = target.toByteArray();
    out.minorVersion = version.at(7) - '0';

    int hosts = 0;
    bool haveLength = false;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArrayView line = lines.at(i);
        if (line.isEmpty())
            return bad(QStringLiteral("an empty line inside the request head"));
        if (line.front() == ' ' || line.front() == '\t')
            return bad(QStringLiteral("obsolete line folding (a field line starting with whitespace)"));
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            return bad(QStringLiteral("a field line without a colon"));
        const QByteArrayView name = line.first(colon);
        if (!isToken(name))
            return bad(QStringLiteral("the field name \"%1\" is not a token (no whitespace before the colon)")
                           .arg(QString::fromLatin1(name.toByteArray().toPercentEncoding())));
        const QByteArrayView value = trimmedOws(line.sliced(colon + 1));
        if (!isFieldValue(value))
            return bad(QStringLiteral("the value of %1 contains a control character").arg(QString::fromLatin1(name)));
        const QByteArray lower = name.toByteArray().toLower();
        if (lower == "host") {
            ++hosts;
        } else if (lower == "content-length") {
            if (!allDigits(value))
                return bad(QStringLiteral("invalid Content-Length"));
            const qint64 length = value.toLongLong();
            if (haveLength && length != out.contentLength)
                return bad(QStringLiteral("two different Content-Length values"));
            haveLength = true;
            out.contentLength = length;
        } else if (lower == "transfer-encoding") {
            out.chunked = true;
        } else if (lower == "expect") {
            out.expectContinue = value.compare("100-continue", Qt::CaseInsensitive) == 0;
        } else if (lower == "connection") {
            for (QByteArrayView token : value.toByteArray().split(',')) {
                if (trimmedOws(token).compare("close", Qt::CaseInsensitive) == 0)
                    out.close = true;
            }
        }
    }
    if (hosts > 1)
        return bad(QStringLiteral("more than one Host field"));
    if (hosts == 0 && out.minorVersion >= 1)
        return bad(QStringLiteral("an HTTP/1.1 request needs a Host field"));
    if (out.minorVersion == 0)
        out.close = true;
    return out;
}

} // namespace cr
