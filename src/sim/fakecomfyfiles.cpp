// FakeComfy's file routes: GET /view (outputs, inputs, temp files and their previews) and POST /upload/image
// (multipart/form-data), as server.py of ComfyUI 0.8 answers them.
#include "sim/fakecomfy.h"
#include "sim/fakecomfyhttp_p.h"
#include "sim/fakeimages.h"

#include <QImage>
#include <QUrlQuery>

namespace cr::sim {

namespace {

QByteArray mimeType(const QString &filename)
{
    const QString ext = filename.section(u'.', -1).toLower();
    if (ext == u"png")
        return "image/png";
    if (ext == u"jpg" || ext == u"jpeg")
        return "image/jpeg";
    if (ext == u"webp")
        return "image/webp";
    if (ext == u"gif")
        return "image/gif";
    if (ext == u"json")
        return "application/json";
    if (ext == u"txt")
        return "text/plain";
    if (ext == u"mp4")
        return "video/mp4";
    if (ext == u"wav")
        return "audio/x-wav";
    if (ext == u"flac")
        return "audio/flac";
    if (ext == u"glb")
        return "model/gltf-binary";
    return "application/octet-stream";
}

struct MultipartPart {
    QByteArray name;
    std::optional<QByteArray> filename;
    QByteArray body;
};

// multipart/form-data parser for POST /upload/image.
std::optional<QList<MultipartPart>> parseMultipart(const FakeHttpRequest &request)
{
    const QByteArray contentType = request.header("content-type");
    if (!contentType.toLower().startsWith("multipart/form-data"))
        return std::nullopt;
    QByteArray boundary;
    for (const QByteArray &param : contentType.split(';')) {
        const QByteArray p = param.trimmed();
        if (p.toLower().startsWith("boundary="))
            boundary = p.mid(9);
    }
    if (boundary.startsWith('"') && boundary.endsWith('"') && boundary.size() >= 2)
        boundary = boundary.mid(1, boundary.size() - 2);
    if (boundary.isEmpty())
        return std::nullopt;
    const QByteArray delimiter = "--" + boundary;
    const QByteArray &body = request.body;
    QList<MultipartPart> parts;
    qsizetype pos = body.indexOf(delimiter);
    while (pos >= 0) {
        pos += delimiter.size();
        if (body.mid(pos, 2) == "--")
            break;
        if (body.mid(pos, 2) == "\r\n")
            pos += 2;
        const qsizetype headerEnd = body.indexOf("\r\n\r\n", pos);
        if (headerEnd < 0)
            return std::nullopt;
        const qsizetype next = body.indexOf("\r\n" + delimiter, headerEnd + 4);
        if (next < 0)
            return std::nullopt;
        MultipartPart part;
        for (const QByteArray &line : body.mid(pos, headerEnd - pos).split('\n')) {
            const QByteArray l = line.trimmed();
            if (!l.toLower().startsWith("content-disposition:"))
                continue;
            for (const QByteArray &field : l.mid(20).split(';')) {
                const QByteArray f = field.trimmed();
                auto unquote = [](QByteArray v) {
                    return v.startsWith('"') && v.endsWith('"') && v.size() >= 2 ? v.mid(1, v.size() - 2) : v;
                };
                if (f.startsWith("name="))
                    part.name = unquote(f.mid(5));
                else if (f.startsWith("filename="))
                    part.filename = unquote(f.mid(9));
            }
        }
        part.body = body.mid(headerEnd + 4, next - headerEnd - 4);
        parts.append(part);
        pos = next + 2;
        pos = body.indexOf(delimiter, pos);
    }
    return parts;
}

} // namespace

FakeHttpResponse FakeComfy::getView(const FakeHttpRequest &request) const
{
    const QUrlQuery &query = request.query;
    if (m_viewRanges.size() < 1000)
        m_viewRanges.append(request.header("range"));
    if (!query.hasQueryItem(QStringLiteral("filename")))
        return FakeHttpResponse::empty(404);
    QString filename = query.queryItemValue(QStringLiteral("filename"), QUrl::FullyDecoded);
    QString type;
    for (const QString &t : {QStringLiteral("output"), QStringLiteral("input"), QStringLiteral("temp")}) {
        const QString suffix = QStringLiteral(" [%1]").arg(t);
        if (filename.endsWith(suffix)) {
            filename.chop(suffix.size());
            type = t;
        }
    }
    if (filename.isEmpty() || filename.startsWith(u'/') || filename.contains(QLatin1String("..")))
        return FakeHttpResponse::empty(400);
    if (type.isEmpty())
        type = query.hasQueryItem(QStringLiteral("type"))
            ? query.queryItemValue(QStringLiteral("type"), QUrl::FullyDecoded)
            : QStringLiteral("output");
    if (!FakeFileStore::isValidType(type))
        return FakeHttpResponse::empty(400);
    const std::optional<QString> subfolder
        = FakeFileStore::normalisedSubfolder(query.queryItemValue(QStringLiteral("subfolder"), QUrl::FullyDecoded));
    if (!subfolder)
        return FakeHttpResponse::empty(403);
    filename = filename.section(u'/', -1);
    const std::optional<QByteArray> bytes = m_files.read(type, *subfolder, filename);
    if (!bytes)
        return FakeHttpResponse::empty(404);

    FakeHttpResponse response;
    response.headers.append({"Content-Disposition", "filename=\"" + filename.toUtf8() + '"'});
    const QString channel = query.queryItemValue(QStringLiteral("channel"));
    if (query.hasQueryItem(QStringLiteral("preview"))) {
        const QStringList info = query.queryItemValue(QStringLiteral("preview")).split(u';');
        QString format = info.first();
        if ((format != u"webp" && format != u"jpeg") || channel.contains(u'a'))
            format = QStringLiteral("webp");
        bool digits = false;
        const int quality = info.last().toInt(&digits);
        const QImage image = QImage::fromData(*bytes);
        if (format == u"webp" && fakeimages::webpSupported()) {
            response.contentType = "image/webp";
            response.body = fakeimages::webp(image, digits ? quality : 90);
        } else { // no WebP writer in this Qt: JPEG instead
            response.contentType = "image/jpeg";
            response.body = fakeimages::jpeg(image, digits ? quality : 90);
        }
        return response;
    }
    if (channel == u"rgb" || channel == u"a") {
        QImage image = QImage::fromData(*bytes).convertToFormat(QImage::Format_ARGB32);
        if (channel == u"rgb") {
            image = image.convertToFormat(QImage::Format_RGB32);
        } else {
            for (int y = 0; y < image.height(); ++y) {
                auto *line = reinterpret_cast<QRgb *>(image.scanLine(y));
                for (int x = 0; x < image.width(); ++x)
                    line[x] = qRgba(0, 0, 0, qAlpha(line[x]));
            }
        }
        response.contentType = "image/png";
        response.body = fakeimages::png(image);
        return response;
    }
    response.contentType = mimeType(filename);
    response.body = *bytes;
    if (m_options.viewRanges)
        applyRange(request.header("range"), response);
    return response;
}

// aiohttp's FileResponse: Accept-Ranges on every file, one "bytes=first-last" / "first-" / "-suffix" range
// answered 206 with Content-Range; a range past the end, or a header it cannot parse (several ranges
// included), 416 with "Content-Range: bytes */size".
void FakeComfy::applyRange(const QByteArray &header, FakeHttpResponse &response)
{
    response.headers.append(std::pair<QByteArray, QByteArray>("Accept-Ranges", "bytes"));
    if (header.isEmpty())
        return;
    const qint64 size = response.body.size();
    auto unsatisfiable = [&] {
        response.status = 416;
        response.body.clear();
        response.headers.append(
            std::pair<QByteArray, QByteArray>("Content-Range", "bytes */" + QByteArray::number(size)));
    };
    const QByteArray spec = header.trimmed();
    if (!spec.startsWith("bytes=") || spec.contains(',')) {
        unsatisfiable();
        return;
    }
    const QByteArray range = spec.mid(6).trimmed();
    const qsizetype dash = range.indexOf('-');
    if (dash < 0) {
        unsatisfiable();
        return;
    }
    const QByteArray a = range.left(dash).trimmed(), b = range.mid(dash + 1).trimmed();
    bool okA = true, okB = true;
    qint64 first = a.isEmpty() ? -1 : a.toLongLong(&okA);
    qint64 last = b.isEmpty() ? -1 : b.toLongLong(&okB);
    if (!okA || !okB || (a.isEmpty() && b.isEmpty())) {
        unsatisfiable();
        return;
    }
    if (a.isEmpty()) { // suffix
        first = qMax<qint64>(0, size - last);
        last = size - 1;
    } else if (b.isEmpty() || last >= size) {
        last = size - 1;
    }
    if (first >= size || first > last) {
        unsatisfiable();
        return;
    }
    response.status = 206;
    response.headers.append(std::pair<QByteArray, QByteArray>(
        "Content-Range",
        "bytes " + QByteArray::number(first) + '-' + QByteArray::number(last) + '/' + QByteArray::number(size)));
    response.body = response.body.mid(first, last - first + 1);
}

FakeHttpResponse FakeComfy::postUpload(const FakeHttpRequest &request)
{
    const std::optional<QList<MultipartPart>> parts = parseMultipart(request);
    if (!parts)
        return FakeHttpResponse::empty(400);
    const MultipartPart *image = nullptr;
    QString type = QStringLiteral("input"), subfolder;
    bool overwrite = false, hasOriginalRef = false;
    for (const MultipartPart &part : *parts) {
        if (part.name == "image" && !image)
            image = &part;
        else if (part.name == "type")
            type = QString::fromUtf8(part.body);
        else if (part.name == "subfolder")
            subfolder = QString::fromUtf8(part.body);
        else if (part.name == "overwrite")
            overwrite = part.body == "true" || part.body == "1";
        else if (part.name == "original_ref")
            hasOriginalRef = true;
    }
    if (!FakeFileStore::isValidType(type))
        return serverError();
    if (!image || !image->filename || image->filename->isEmpty())
        return FakeHttpResponse::empty(400);
    if (request.path.endsWith(QLatin1String("/mask")) && !hasOriginalRef)
        return serverError();
    const std::optional<QString> name
        = m_files.upload(type, subfolder, QString::fromUtf8(*image->filename), image->body, overwrite);
    if (!name)
        return FakeHttpResponse::empty(400);
    refreshInputList();
    return json(OrderedJson::object(
        {{QStringLiteral("name"), *name}, {QStringLiteral("subfolder"), subfolder}, {QStringLiteral("type"), type}}));
}

} // namespace cr::sim
