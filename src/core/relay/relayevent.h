#pragma once
// One item the relay publishes (a ComfyUI or service JSON event, a preview, or another binary frame),
// shared immutably by the replay ring, the job logs and every client. Each wire form (text, envelope,
// type-1 frame, type-4 frame) is built on first use and then reused, so it is serialised once per format
// however many clients want it. Not thread-safe: use it on the hub's thread.

#include "protocol/binaryframe.h"

#include <QByteArray>
#include <QMetaType>
#include <QSharedPointer>
#include <QString>

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
    static RelayEvent json(qint64 seq, qint64 timestampMs, const QString &type, const QString &jobId,
                           const QString &promptId, const QByteArray &raw);
    // rawType1: the frame as received when it was type 1 (reused as the legacy frame, no copy); else empty.
    static RelayEvent preview(qint64 timestampMs, const QString &jobId, const protocol::PreviewFrame &frame,
                              const QByteArray &rawType1 = {});
    static RelayEvent binary(qint64 timestampMs, const QString &jobId, const QByteArray &frame);

    Kind kind() const { return m_kind; }
    bool isJson() const { return m_kind == Kind::Json; }
    qint64 seq() const { return m_seq; }
    qint64 timestampMs() const { return m_timestampMs; } // ms since the epoch when the hub got it
    const QString &type() const { return m_type; }       // JSON "type"; "preview"; "binary"
    const QString &jobId() const { return m_jobId; }     // empty when not attributed to a job
    const QString &promptId() const { return m_promptId; }
    const QByteArray &raw() const { return m_raw; }      // JSON: the exact text; Binary: the frame
    const std::optional<protocol::PreviewFrame> &previewFrame() const { return m_preview; }

    // Cached wire forms.
    const QString &text() const;              // JSON: raw as a QString (what QWebSocket sends)
    const QByteArray &envelopeBytes() const;  // JSON: protocol::encodeRelayEnvelope(...)
    const QString &envelopeText() const;
    const QByteArray &type1Frame() const;     // Preview: ComfyUI's type-1 layout
    const QByteArray &type4Frame() const;     // Preview: type 4 with job_id in the metadata

private:
    RelayEvent() = default;

    Kind m_kind = Kind::Json;
    qint64 m_seq = 0;
    qint64 m_timestampMs = 0;
    QString m_type;
    QString m_jobId;
    QString m_promptId;
    QByteArray m_raw;
    std::optional<protocol::PreviewFrame> m_preview;

    mutable std::optional<QString> m_text;
    mutable std::optional<QByteArray> m_envelope;
    mutable std::optional<QString> m_envelopeText;
    mutable std::optional<QByteArray> m_type1;
    mutable std::optional<QByteArray> m_type4;
};

using RelayEventPtr = QSharedPointer<const RelayEvent>;

} // namespace cr

Q_DECLARE_METATYPE(cr::RelayEventPtr)
