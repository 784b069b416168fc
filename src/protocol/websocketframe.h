#pragma once
// Server-side WebSocket frames (RFC 6455 §5.2): final, unmasked frames with the payload length encoded in
// 7, 16 or 64 bits. The relay builds each frame once and hands the same bytes to every client's socket,
// instead of letting QWebSocket copy (and, for text, re-encode) the message once per client.

#include <QByteArray>
#include <QByteArrayView>

#include <algorithm>

namespace cr::protocol {

enum class WebSocketOpcode : quint8 {
    Text = 0x1,
    Binary = 0x2,
};

// Header length of a server frame carrying `payloadSize` bytes: 2, 4 or 10.
qsizetype webSocketHeaderSize(qsizetype payloadSize);

// One complete frame (FIN set, no mask) holding `payload`. Text payloads must be UTF-8.
QByteArray encodeWebSocketFrame(WebSocketOpcode opcode, QByteArrayView payload);
// The same for the payload head + tail, copied once into the frame (a preview's header and its image).
QByteArray encodeWebSocketFrame(WebSocketOpcode opcode, QByteArrayView head, QByteArrayView tail);

// Follows the frame boundaries of a client's byte stream (RFC 6455 §5.2) to check every frame's mask bit
// (§5.1: a server must close the connection on an unmasked client frame). It parses headers only: payload
// bytes are skipped by count and never looked at, so the work is one header parse per frame, whatever the
// frame's size. Headers may arrive split anywhere. Data, continuation and control frames look alike here.
class WebSocketFrameScanner final
{
public:
    enum class Verdict { Ok, Unmasked };

    // Payload bytes still to come before the next header; the caller skips them with skip().
    quint64 payloadLeft() const { return m_payloadLeft; }
    void skip(quint64 bytes) { m_payloadLeft -= std::min(bytes, m_payloadLeft); }
    // Header bytes wanted next (1 to 14), once payloadLeft() is 0.
    qsizetype headerBytesWanted() const { return m_need - m_have; }
    // Takes `bytes` (at most headerBytesWanted()) of the current header. Unmasked as soon as the second
    // byte of an unmasked frame's header is seen; the scanner then stays at that frame.
    Verdict feedHeader(QByteArrayView bytes);
    // Headers completed so far (frames whose payload length is known).
    quint64 frames() const { return m_frames; }

private:
    uchar m_header[14] = {};
    qsizetype m_have = 0;
    qsizetype m_need = 2; // 2 until the second byte tells the length field's size
    quint64 m_payloadLeft = 0;
    quint64 m_frames = 0;
};

} // namespace cr::protocol
