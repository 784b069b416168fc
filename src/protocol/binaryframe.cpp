#include "protocol/binaryframe.h"

#include "protocol/jsonutil.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QtEndian>

namespace cr::protocol {

namespace {

using namespace Qt::StringLiterals;

constexpr qsizetype kHeaderSize = 8; // u32 type + u32 format / length

std::optional<BinaryFrame> fail(FrameError *error, FrameError reason)
{
    if (error)
        *error = reason;
    return std::nullopt;
}

quint32 readU32(const char *p) { return qFromBigEndian<quint32>(p); }

void appendU32(QByteArray &out, quint32 value)
{
    char buf[4];
    qToBigEndian<quint32>(value, buf);
    out.append(buf, 4);
}

// The bytes of `frame` from `offset` to its end, sharing the frame's buffer instead of copying the
// (100 KB .. several MB) image. Qt 6 QByteArray supports a begin pointer inside its block (that is how
// it removes from the front); a slice running to the end keeps the '\0' terminator valid. Frames that do
// not own their bytes (QByteArray::fromRawData) are deep-copied so the result never dangles.
// Not public API: QByteArray has no shared slice (sliced() and remove() on a shared array copy). The one
// place that relies on it; TstBinaryFrame::imageSharesFrameBuffer fails if a Qt upgrade changes it.
QByteArray sharedTail(const QByteArray &frame, qsizetype offset)
{
    QByteArray tail = frame; // one more reference, no copy
    QByteArray::DataPointer &d = tail.data_ptr();
    if (d.d == nullptr)
        return frame.sliced(offset);
    d.setBegin(d.data() + offset);
    d.size -= offset;
    return tail;
}

void appendPyJsonMember(QByteArray &out, const char *key, const QString &value, bool nullIfEmpty = false)
{
    if (out.size() > 1)
        out.append(", ");
    out.append('"').append(key).append("\": ");
    if (nullIfEmpty && value.isEmpty())
        out.append("null");
    else
        out.append(jsonStringLiteral(value));
}

std::optional<BinaryFrame> parsePreviewType1(const QByteArray &frame, FrameError *error)
{
    const quint32 code = readU32(frame.constData() + 4);
    if (code != quint32(ImageFormat::Jpeg) && code != quint32(ImageFormat::Png))
        return fail(error, FrameError::BadImageFormat);
    PreviewFrame preview;
    preview.format = static_cast<ImageFormat>(code);
    preview.image = sharedTail(frame, kHeaderSize);
    BinaryFrame out;
    out.preview = std::move(preview);
    return out;
}

std::optional<BinaryFrame> parsePreviewType4(const QByteArray &frame, FrameError *error)
{
    const qsizetype metaLen = readU32(frame.constData() + 4);
    if (metaLen > frame.size() - kHeaderSize)
        return fail(error, FrameError::BadLength);
    QJsonParseError parseError{};
    const QJsonDocument doc
        = QJsonDocument::fromJson(QByteArray::fromRawData(frame.constData() + kHeaderSize, metaLen), &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject())
        return fail(error, FrameError::BadMetadata);
    const QJsonObject m = doc.object();

    PreviewFrame preview;
    preview.hadMetadata = true;
    preview.format = imageFormatFromMime(m.value("image_type"_L1).toString());
    preview.meta.nodeId = idString(m.value("node_id"_L1));
    preview.meta.promptId = m.value("prompt_id"_L1).toString();
    preview.meta.displayNodeId = idString(m.value("display_node_id"_L1));
    preview.meta.parentNodeId = idString(m.value("parent_node_id"_L1));
    preview.meta.realNodeId = idString(m.value("real_node_id"_L1));
    preview.image = sharedTail(frame, kHeaderSize + metaLen);
    BinaryFrame out;
    out.preview = std::move(preview);
    return out;
}

std::optional<BinaryFrame> parseText(const QByteArray &frame, FrameError *error)
{
    const qsizetype idLen = readU32(frame.constData() + 4);
    if (idLen > frame.size() - kHeaderSize)
        return fail(error, FrameError::BadLength);
    const char *id = frame.constData() + kHeaderSize;
    const qsizetype textLen = frame.size() - kHeaderSize - idLen;
    BinaryFrame out;
    out.text = TextFrame{QString::fromUtf8(id, idLen), QString::fromUtf8(id + idLen, textLen)};
    return out;
}

} // namespace

QString mimeTypeFor(ImageFormat format)
{
    return format == ImageFormat::Png ? QStringLiteral("image/png") : QStringLiteral("image/jpeg");
}

ImageFormat imageFormatFromMime(const QString &mime)
{
    return mime == "image/png"_L1 ? ImageFormat::Png : ImageFormat::Jpeg;
}

std::optional<BinaryFrame> parseBinaryFrame(const QByteArray &frame, FrameError *error)
{
    if (frame.size() < 4)
        return fail(error, FrameError::TooShort);
    const quint32 type = readU32(frame.constData());
    const bool known = type == quint32(BinaryEventType::PreviewImage) || type == quint32(BinaryEventType::Text)
        || type == quint32(BinaryEventType::PreviewImageWithMetadata);
    if (!known)
        return fail(error, FrameError::UnknownType);
    if (frame.size() < kHeaderSize) // every known type has a second u32
        return fail(error, FrameError::TooShort);

    std::optional<BinaryFrame> out;
    switch (static_cast<BinaryEventType>(type)) {
    case BinaryEventType::PreviewImage:
        out = parsePreviewType1(frame, error);
        break;
    case BinaryEventType::Text:
        out = parseText(frame, error);
        break;
    case BinaryEventType::PreviewImageWithMetadata:
        out = parsePreviewType4(frame, error);
        break;
    }
    if (!out)
        return out;
    out->type = type;
    out->raw = frame;
    if (error)
        *error = FrameError::None;
    return out;
}

QString frameErrorString(FrameError error)
{
    switch (error) {
    case FrameError::None:
        return QStringLiteral("no error");
    case FrameError::TooShort:
        return QStringLiteral("frame too short for its header");
    case FrameError::BadLength:
        return QStringLiteral("declared length runs past the end of the frame");
    case FrameError::BadMetadata:
        return QStringLiteral("preview metadata is not a JSON object");
    case FrameError::BadImageFormat:
        return QStringLiteral("unknown image format code");
    case FrameError::UnknownType:
        return QStringLiteral("unknown binary event type");
    }
    return QStringLiteral("unknown error");
}

QByteArray encodePreviewType1(ImageFormat format, const QByteArray &image)
{
    QByteArray out;
    out.reserve(kHeaderSize + image.size());
    appendU32(out, quint32(BinaryEventType::PreviewImage));
    appendU32(out, quint32(format));
    out.append(image);
    return out;
}

QByteArray encodePreviewType4(const PreviewMetadata &meta, ImageFormat format, const QByteArray &image)
{
    return encodePreviewType4(meta, format, image, {});
}

QByteArray encodePreviewType4(const PreviewMetadata &meta, ImageFormat format, const QByteArray &image,
                              QByteArrayView extraMembers)
{
    QByteArray json("{");
    appendPyJsonMember(json, "node_id", meta.nodeId);
    appendPyJsonMember(json, "prompt_id", meta.promptId);
    appendPyJsonMember(json, "display_node_id", meta.displayNodeId);
    appendPyJsonMember(json, "parent_node_id", meta.parentNodeId, true);
    appendPyJsonMember(json, "real_node_id", meta.realNodeId);
    appendPyJsonMember(json, "image_type", mimeTypeFor(format));
    if (!extraMembers.isEmpty())
        json.append(", ").append(extraMembers);
    json.append('}');

    QByteArray out;
    out.reserve(kHeaderSize + json.size() + image.size());
    appendU32(out, quint32(BinaryEventType::PreviewImageWithMetadata));
    appendU32(out, quint32(json.size()));
    out.append(json);
    out.append(image);
    return out;
}

QByteArray encodeTextFrame(const QString &nodeId, const QString &text)
{
    const QByteArray id = nodeId.toUtf8();
    const QByteArray body = text.toUtf8();
    QByteArray out;
    out.reserve(kHeaderSize + id.size() + body.size());
    appendU32(out, quint32(BinaryEventType::Text));
    appendU32(out, quint32(id.size()));
    out.append(id);
    out.append(body);
    return out;
}

} // namespace cr::protocol
