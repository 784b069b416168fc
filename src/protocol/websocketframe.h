#pragma once
// Server-side WebSocket frames (RFC 6455 §5.2): final, unmasked frames with the payload length encoded in
// 7, 16 or 64 bits. The relay builds each frame once and hands the same bytes to every client's socket,
// instead of letting QWebSocket copy (and, for text, re-encode) the message once per client.

#include <QByteArray>
#include <QByteArrayView>

namespace cr::protocol {

enum class WebSocketOpcode : quint8 {
    Text = 0x1,
    Binary = 0x2,
};

// Header length of a server frame carrying `payloadSize` bytes: 2, 4 or 10.
qsizetype webSocketHeaderSize(qsizetype payloadSize);

// One complete frame (FIN set, no mask) holding `payload`. Text payloads must be UTF-8.
QByteArray encodeWebSocketFrame(WebSocketOpcode opcode, QByteArrayView payload);

} // namespace cr::protocol
