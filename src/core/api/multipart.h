#pragma once
// A bounded multipart/form-data reader (RFC 7578) for request bodies that are already in memory: parts with
// their name, filename, content type and bytes. Rejects malformed bodies instead of guessing.

#include "protocol/error.h"

#include <QByteArray>
#include <QList>
#include <QString>

namespace cr {

struct FormPart {
    QString name;
    QString fileName; // empty for plain fields
    QByteArray contentType;
    QByteArray data;
};

// contentTypeHeader: the request's Content-Type ("multipart/form-data; boundary=..."). At most maxParts parts.
Result<QList<FormPart>> parseMultipart(const QByteArray &contentTypeHeader, const QByteArray &body, int maxParts = 16);

} // namespace cr
