#pragma once
// ComfyUI binary WebSocket frames (docs/comfyui-protocol.md §4): big-endian u32 event type,
// then a type-specific payload. Parsing is bounds-checked; encoding is used by the relay (type 1 for legacy
// clients, type 4 with metadata) and by the fake ComfyUI.

#include <QByteArray>
#include <QMetaType>
#include <QString>

#include <optional>

namespace cr::protocol {

enum class BinaryEventType : quint32 {
    PreviewImage = 1,
    Text = 3,
    PreviewImageWithMetadata = 4,
};

enum class ImageFormat : quint32 {
    Jpeg = 1,
    Png = 2,
};

QString mimeTypeFor(ImageFormat format);              // "image/jpeg" | "image/png"
ImageFormat imageFormatFromMime(const QString &mime); // anything but image/png is JPEG, as in ComfyUI

// The metadata of a type-4 frame. Empty promptId for type-1 frames (ComfyUI does not say).
struct PreviewMetadata {
    QString nodeId;
    QString promptId;
    QString displayNodeId;
    QString parentNodeId; // empty when JSON null
    QString realNodeId;
};

// A preview image (types 1 and 4). `image` holds only the encoded image bytes; it shares the frame's
// buffer (no copy of the image is made while parsing).
struct PreviewFrame {
    ImageFormat format = ImageFormat::Jpeg;
    bool hadMetadata = false; // true when it arrived as type 4
    PreviewMetadata meta;
    QByteArray image;
};

// A type-3 text frame: node id and text.
struct TextFrame {
    QString nodeId;
    QString text;
};

enum class FrameError {
    None,
    TooShort,       // fewer than 4 bytes, or a header field cut off
    BadLength,      // a declared length runs past the end of the frame
    BadMetadata,    // type-4 metadata is not a JSON object
    BadImageFormat, // type-1 format code other than 1 or 2
    UnknownType,    // a type we do not parse (custom nodes); pass it through untouched
};

// One parsed binary frame; exactly one of preview/text is set.
struct BinaryFrame {
    quint32 type = 0;
    std::optional<PreviewFrame> preview; // types 1 and 4
    std::optional<TextFrame> text;       // type 3
    QByteArray raw;                      // the whole frame as received (shared, not copied)
};

// Parses a binary frame. Every length is checked against the frame size before use, so truncated or
// garbage input never over-reads. On error returns nullopt and sets *error (UnknownType for a frame of
// at least 4 bytes whose type we do not parse); on success *error is None.
std::optional<BinaryFrame> parseBinaryFrame(const QByteArray &frame, FrameError *error = nullptr);
QString frameErrorString(FrameError error);

// Encoders (exact ComfyUI layouts). Type-4 metadata is written the way Python's json.dumps writes it
// (key order node_id, prompt_id, display_node_id, parent_node_id, real_node_id, image_type; ", " and
// ": " separators; non-ASCII as \uXXXX), so a parsed ComfyUI frame re-encodes to the same bytes.
// An empty parentNodeId is written as null.
QByteArray encodePreviewType1(ImageFormat format, const QByteArray &image);
QByteArray encodePreviewType4(const PreviewMetadata &meta, ImageFormat format, const QByteArray &image);
// The same type-4 frame with `extraMembers` (encoded `"key": value` pairs, comma-separated) as the last keys
// of its metadata object; the relay adds its job_id this way.
QByteArray encodePreviewType4(const PreviewMetadata &meta, ImageFormat format, const QByteArray &image,
                              QByteArrayView extraMembers);
QByteArray encodeTextFrame(const QString &nodeId, const QString &text);

} // namespace cr::protocol

Q_DECLARE_METATYPE(cr::protocol::PreviewFrame)
Q_DECLARE_METATYPE(cr::protocol::FrameError)
