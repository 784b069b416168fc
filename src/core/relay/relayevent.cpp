#include "core/relay/relayevent.h"

#include "protocol/relaymessages.h"
#include "protocol/websocketframe.h"

#include <QtEndian>

namespace cr {

using namespace Qt::StringLiterals;

RelayEvent RelayEvent::json(qint64 seq, qint64 timestampMs, const QString &type, const QString &jobId,
                            const QString &promptId, const QByteArray &raw, const QString &backend)
{
    RelayEvent e;
    e.m_kind = Kind::Json;
    e.m_seq = seq;
    e.m_timestampMs = timestampMs;
    e.m_type = type;
    e.m_jobId = jobId;
    e.m_promptId = promptId;
    e.m_backend = backend;
    e.m_raw = raw;
    return e;
}

RelayEvent RelayEvent::preview(qint64 timestampMs, const QString &jobId, const protocol::PreviewFrame &frame,
                               const QByteArray &rawType1, const QString &backend)
{
    RelayEvent e;
    e.m_kind = Kind::Preview;
    e.m_timestampMs = timestampMs;
    e.m_type = u"preview"_s;
    e.m_jobId = jobId;
    e.m_promptId = frame.meta.promptId;
    e.m_backend = backend;
    e.m_preview = frame;
    if (!frame.hadMetadata && !rawType1.isEmpty())
        e.m_type1 = rawType1;
    return e;
}

RelayEvent RelayEvent::binary(qint64 timestampMs, const QString &jobId, const QByteArray &frame)
{
    RelayEvent e;
    e.m_kind = Kind::Binary;
    e.m_timestampMs = timestampMs;
    e.m_type = u"binary"_s;
    e.m_jobId = jobId;
    e.m_raw = frame;
    return e;
}

const QByteArray &RelayEvent::envelopeBytes() const
{
    if (!m_envelope)
        m_envelope = protocol::encodeRelayEnvelope(m_seq, m_timestampMs, m_type, m_jobId, m_promptId, m_raw, m_backend);
    return *m_envelope;
}

const QByteArray &RelayEvent::type1Frame() const
{
    if (!m_type1)
        m_type1 = m_preview ? protocol::encodePreviewType1(m_preview->format, m_preview->image) : QByteArray();
    return *m_type1;
}

const QByteArray &RelayEvent::type4Frame() const
{
    if (!m_type4)
        m_type4 = m_preview ? protocol::encodeRelayPreviewType4(m_preview->meta, m_jobId, m_preview->format,
                                                                m_preview->image, m_backend)
                            : QByteArray();
    return *m_type4;
}

const QByteArray &RelayEvent::webSocketPayload(Wire wire) const
{
    switch (wire) {
    case Wire::Text:
    case Wire::Binary:
        return m_raw;
    case Wire::Envelope:
        return envelopeBytes();
    case Wire::PreviewType1:
        return type1Frame();
    case Wire::PreviewType4:
        return type4Frame();
    }
    Q_UNREACHABLE();
    return m_raw;
}

namespace {
constexpr qsizetype kType1HeaderBytes = 8; // event type 1, image format (binaryframe.h)
} // namespace

qsizetype RelayEvent::payloadSize(Wire wire) const
{
    if (wire == Wire::PreviewType1 && !m_type1 && m_preview) // known without building the payload
        return kType1HeaderBytes + m_preview->image.size();
    return webSocketPayload(wire).size();
}

const QByteArray &RelayEvent::webSocketFrame(Wire wire) const
{
    std::optional<QByteArray> &frame = m_frames[size_t(wire)];
    if (!frame && wire == Wire::PreviewType1 && !m_type1 && m_preview) {
        // A type-4 preview re-encoded for legacy clients: the image is copied once, straight into the frame,
        // not first into a type-1 payload and then again into the frame.
        uchar head[kType1HeaderBytes];
        qToBigEndian<quint32>(quint32(protocol::BinaryEventType::PreviewImage), head);
        qToBigEndian<quint32>(quint32(m_preview->format), head + 4);
        frame = protocol::encodeWebSocketFrame(protocol::WebSocketOpcode::Binary,
                                               QByteArrayView(reinterpret_cast<const char *>(head), sizeof head),
                                               m_preview->image);
    }
    if (!frame) {
        const auto opcode = wire == Wire::Text || wire == Wire::Envelope ? protocol::WebSocketOpcode::Text
                                                                         : protocol::WebSocketOpcode::Binary;
        frame = protocol::encodeWebSocketFrame(opcode, webSocketPayload(wire));
    }
    return *frame;
}

} // namespace cr
