#pragma once
// One item the relay publishes (a ComfyUI or service JSON event, a preview, or another binary frame),
// shared immutably by the replay ring, the job logs and every client. Each payload (envelope, type-1 frame,
// type-4 frame) and each complete WebSocket frame carrying one is built on first use and then reused, so it
// is serialised once per format however many clients want it, and every client's socket shares the same
// bytes. Not thread-safe: use it on the hub's thread.

#include "protocol/binaryframe.h"

#include <QByteArray>
#include <QMetaType>
#include <QSharedPointer>
#include <QString>

#include <array>
#include <optional>

namespace cr {

// One published item, immutable once built; wire forms are cached on first use.
class RelayEvent final
{
public:
    enum class Kind {
        Json,    // a text frame: ComfyUI's exact bytes, or a service event
        Preview, // a preview image (arrived as type 1 or type 4)
        Binary,  // another ComfyUI binary frame (type 3 text, custom types), passed as is
    };

    // seq: the hub's sequence number (JSON events only; previews and binary frames have 0).
    // backend: the ComfyUI backend it came from (empty for the service's own events).
    static RelayEvent json(qint64 seq, qint64 timestampMs, const QString &type, const QString &jobId,
                           const QString &promptId, const QByteArray &raw, const QString &backend = {});
    // rawType1: the frame as received when it was type 1 (reused as the legacy frame, no copy); else empty.
    static RelayEvent preview(qint64 timestampMs, const QString &jobId, const protocol::PreviewFrame &frame,
                              const QByteArray &rawType1 = {}, const QString &backend = {});
    static RelayEvent binary(qint64 timestampMs, const QString &jobId, const QByteArray &frame);

    Kind kind() const { return m_kind; }
    bool isJson() const { return m_kind == Kind::Json; }
    qint64 seq() const { return m_seq; }
    qint64 timestampMs() const { return m_timestampMs; } // ms since the epoch when the hub got it
    const QString &type() const { return m_type; }       // JSON "type"; "preview"; "binary"
    const QString &jobId() const { return m_jobId; }     // empty when not attributed to a job
    const QString &promptId() const { return m_promptId; }
    const QString &backend() const { return m_backend; }
    const QByteArray &raw() const { return m_raw; } // JSON: the exact text; Binary: the frame
    const std::optional<protocol::PreviewFrame> &previewFrame() const { return m_preview; }

    // Cached payloads.
    const QByteArray &envelopeBytes() const; // JSON: protocol::encodeRelayEnvelope(...)
    const QByteArray &type1Frame() const;    // Preview: ComfyUI's type-1 layout
    const QByteArray &type4Frame() const;    // Preview: type 4 with job_id in the metadata

    // The forms a relay client can receive.
    enum class Wire {
        Text,         // JSON: raw, in a text frame
        Envelope,     // JSON: envelopeBytes(), in a text frame
        PreviewType1, // Preview: type1Frame(), in a binary frame
        PreviewType4, // Preview: type4Frame(), in a binary frame
        Binary,       // Binary: raw, in a binary frame
    };
    // The complete WebSocket frame (header + payload) of a wire form, built once and shared.
    const QByteArray &webSocketFrame(Wire wire) const;
    // Payload size of a wire form (what a client is sent, without the frame header).
    qsizetype payloadSize(Wire wire) const;

private:
    RelayEvent() = default;
    const QByteArray &webSocketPayload(Wire wire) const;

    Kind m_kind = Kind::Json;
    qint64 m_seq = 0;
    qint64 m_timestampMs = 0;
    QString m_type;
    QString m_jobId;
    QString m_promptId;
    QString m_backend;
    QByteArray m_raw;
    std::optional<protocol::PreviewFrame> m_preview;

    mutable std::optional<QByteArray> m_envelope;
    mutable std::optional<QByteArray> m_type1;
    mutable std::optional<QByteArray> m_type4;
    mutable std::array<std::optional<QByteArray>, 5> m_frames; // indexed by Wire
};

using RelayEventPtr = QSharedPointer<const RelayEvent>;

} // namespace cr

Q_DECLARE_METATYPE(cr::RelayEventPtr)
