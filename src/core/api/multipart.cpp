#include "core/api/multipart.h"

namespace cr {

namespace {

Error bad(const QString &message) { return Error::make(ErrorCode::InvalidRequest, message); }

// The value of `key` in a header's parameters (key="value" or key=value).
QByteArray param(const QByteArray &header, const QByteArray &key)
{
    const QList<QByteArray> items = header.split(';');
    for (const QByteArray &raw : items) {
        const QByteArray item = raw.trimmed();
        const qsizetype eq = item.indexOf('=');
        if (eq <= 0 || item.left(eq).trimmed().toLower() != key)
            continue;
        QByteArray v = item.mid(eq + 1).trimmed();
        if (v.size() >= 2 && v.startsWith('"') && v.endsWith('"'))
            v = v.mid(1, v.size() - 2);
        return v;
    }
    return {};
}

} // namespace

Result<QList<FormPart>> parseMultipart(const QByteArray &contentTypeHeader, const QByteArray &body, int maxParts)
{
    if (!contentTypeHeader.trimmed().toLower().startsWith("multipart/form-data"))
        return bad(QStringLiteral("the body must be multipart/form-data"));
    const QByteArray boundary = param(contentTypeHeader, "boundary");
    if (boundary.isEmpty() || boundary.size() > 200)
        return bad(QStringLiteral("the multipart boundary is missing or too long"));
    const QByteArray delimiter = "--" + boundary;
    qsizetype pos = body.indexOf(delimiter);
    if (pos < 0)
        return bad(QStringLiteral("no multipart boundary found in the body"));
    QList<FormPart> parts;
    while (true) {
        pos += delimiter.size();
        if (body.mid(pos, 2) == "--")
            return parts; // closing delimiter
        if (body.mid(pos, 2) != "\r\n")
            return bad(QStringLiteral("malformed multipart delimiter"));
        pos += 2;
        const qsizetype headEnd = body.indexOf("\r\n\r\n", pos);
        if (headEnd < 0)
            return bad(QStringLiteral("a multipart part has no header end"));
        const qsizetype next = body.indexOf("\r\n" + delimiter, headEnd + 4);
        if (next < 0)
            return bad(QStringLiteral("the multipart body is not terminated"));
        if (parts.size() >= maxParts)
            return bad(QStringLiteral("too many multipart parts (at most %1)").arg(maxParts));
        FormPart part;
        for (const QByteArray &line : body.mid(pos, headEnd - pos).split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0)
                continue;
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "content-disposition") {
                part.name = QString::fromUtf8(param(value, "name"));
                part.fileName = QString::fromUtf8(param(value, "filename"));
            } else if (name == "content-type") {
                part.contentType = value;
            }
        }
        part.data = body.mid(headEnd + 4, next - headEnd - 4);
        parts.append(part);
        pos = next + 2;
    }
}

} // namespace cr
