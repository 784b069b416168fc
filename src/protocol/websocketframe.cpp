#include "protocol/websocketframe.h"

#include <QtEndian>

namespace cr::protocol {

qsizetype webSocketHeaderSize(qsizetype payloadSize)
{
    if (payloadSize < 126)
        return 2;
    return payloadSize <= 0xFFFF ? 4 : 10;
}

QByteArray encodeWebSocketFrame(WebSocketOpcode opcode, QByteArrayView payload)
{
    return encodeWebSocketFrame(opcode, payload, {});
}

QByteArray encodeWebSocketFrame(WebSocketOpcode opcode, QByteArrayView head, QByteArrayView tail)
{
    const qsizetype size = head.size() + tail.size();
    const qsizetype header = webSocketHeaderSize(size);
    QByteArray frame(header + size, Qt::Uninitialized);
    auto *out = reinterpret_cast<uchar *>(frame.data());
    out[0] = uchar(0x80 | quint8(opcode)); // FIN, no extension bits
    if (header == 2) {
        out[1] = uchar(size);
    } else if (header == 4) {
        out[1] = 126;
        qToBigEndian<quint16>(quint16(size), out + 2);
    } else {
        out[1] = 127;
        qToBigEndian<quint64>(quint64(size), out + 2);
    }
    if (!head.isEmpty())
        memcpy(out + header, head.data(), size_t(head.size()));
    if (!tail.isEmpty())
        memcpy(out + header + head.size(), tail.data(), size_t(tail.size()));
    return frame;
}

WebSocketFrameScanner::Verdict WebSocketFrameScanner::feedHeader(QByteArrayView bytes)
{
    Q_ASSERT(m_payloadLeft == 0 && bytes.size() <= headerBytesWanted());
    memcpy(m_header + m_have, bytes.data(), size_t(bytes.size()));
    const bool sawSecondByte = m_have < 2 && m_have + bytes.size() >= 2;
    m_have += bytes.size();
    if (sawSecondByte) {
        if (!(m_header[1] & 0x80)) {
            m_need = m_have; // stuck here: nothing after an unmasked frame matters
            return Verdict::Unmasked;
        }
        const uchar length = m_header[1] & 0x7F;
        m_need = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + 4; // + extended length + mask key
    }
    if (m_have < m_need)
        return Verdict::Ok;
    const uchar length = m_header[1] & 0x7F;
    if (length == 126)
        m_payloadLeft = qFromBigEndian<quint16>(m_header + 2);
    else if (length == 127)
        m_payloadLeft = qFromBigEndian<quint64>(m_header + 2);
    else
        m_payloadLeft = length;
    m_have = 0;
    m_need = 2;
    ++m_frames;
    return Verdict::Ok;
}

} // namespace cr::protocol
