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
    const qsizetype size = payload.size();
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
    if (size > 0)
        memcpy(out + header, payload.data(), size_t(size));
    return frame;
}

} // namespace cr::protocol
