// encodeWebSocketFrame against RFC 6455 §5.2: the three length encodings at their boundaries, FIN and
// opcode bits, no mask, and the payload copied unchanged. (Real clients decoding these frames are covered
// by the relay tests, which receive every frame through QWebSocket.) WebSocketFrameScanner follows client
// frames (masked or not) fed in pieces of any size and finds the first unmasked one.

#include "protocol/websocketframe.h"

#include <QTest>
#include <QtEndian>

using namespace cr::protocol;

class TstWebSocketFrame final : public QObject
{
    Q_OBJECT

private slots:
    void lengths_data();
    void lengths();
    void opcodes();
    void scannerFollowsFrames_data();
    void scannerFollowsFrames();
};

namespace {

// A client frame: FIN + opcode, the mask bit, the shortest length encoding, a mask key when masked.
QByteArray clientFrame(quint8 opcode, qsizetype size, bool masked = true)
{
    QByteArray frame = encodeWebSocketFrame(WebSocketOpcode::Binary, QByteArray(size, 'p'));
    frame[0] = char(0x80 | opcode);
    if (masked) {
        frame[1] = char(uchar(frame[1]) | 0x80);
        frame.insert(webSocketHeaderSize(size), "\x11\x22\x33\x44", 4);
    }
    return frame;
}

// Feeds `stream` to a scanner in pieces of `piece` bytes, skipping payloads by count as the relay does.
// Returns the frames counted when the scan ended and whether it ended at an unmasked frame.
std::pair<quint64, bool> scan(const QByteArray &stream, qsizetype piece)
{
    WebSocketFrameScanner scanner;
    for (qsizetype at = 0; at < stream.size();) {
        const qsizetype end = std::min(stream.size(), at + piece);
        while (at < end) {
            const qsizetype skipped = qsizetype(std::min<quint64>(scanner.payloadLeft(), quint64(end - at)));
            scanner.skip(quint64(skipped));
            at += skipped;
            if (at == end)
                break;
            const qsizetype take = std::min(scanner.headerBytesWanted(), end - at);
            if (scanner.feedHeader(QByteArrayView(stream).sliced(at, take)) == WebSocketFrameScanner::Verdict::Unmasked)
                return {scanner.frames(), true};
            at += take;
        }
    }
    return {scanner.frames(), false};
}

} // namespace

void TstWebSocketFrame::scannerFollowsFrames_data()
{
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<quint64>("frames"); // complete headers before the end (or before the unmasked frame)
    QTest::addColumn<bool>("unmasked");
    const QByteArray masked = clientFrame(0x1, 0) + clientFrame(0x1, 125) + clientFrame(0x2, 126) + clientFrame(0x9, 3)
        + clientFrame(0x1, 65535) + clientFrame(0x0, 65536) + clientFrame(0xA, 0);
    QTest::newRow("masked, every length") << masked << quint64(7) << false;
    QTest::newRow("unmasked first") << clientFrame(0x1, 5, false) + masked << quint64(0) << true;
    QTest::newRow("unmasked after 7") << masked + clientFrame(0x1, 5, false) << quint64(7) << true;
    QTest::newRow("unmasked control after 7") << masked + clientFrame(0x8, 2, false) << quint64(7) << true;
    QTest::newRow("unmasked 64-bit after 7") << masked + clientFrame(0x0, 70'000, false) << quint64(7) << true;
    QTest::newRow("payload bytes look unmasked")
        << clientFrame(0x2, 300).replace(QByteArray(300, 'p'), QByteArray(300, '\x01')) << quint64(1) << false;
}

void TstWebSocketFrame::scannerFollowsFrames()
{
    QFETCH(QByteArray, stream);
    QFETCH(quint64, frames);
    QFETCH(bool, unmasked);
    for (const qsizetype piece :
         {qsizetype(1), qsizetype(2), qsizetype(3), qsizetype(7), qsizetype(1000), stream.size()}) {
        const auto [counted, stoppedUnmasked] = scan(stream, piece);
        QCOMPARE(counted, frames);
        QCOMPARE(stoppedUnmasked, unmasked);
    }
}

void TstWebSocketFrame::lengths_data()
{
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<qsizetype>("headerSize");
    QTest::newRow("empty") << qsizetype(0) << qsizetype(2);
    QTest::newRow("1") << qsizetype(1) << qsizetype(2);
    QTest::newRow("125, largest 7-bit") << qsizetype(125) << qsizetype(2);
    QTest::newRow("126, smallest 16-bit") << qsizetype(126) << qsizetype(4);
    QTest::newRow("65535, largest 16-bit") << qsizetype(65535) << qsizetype(4);
    QTest::newRow("65536, smallest 64-bit") << qsizetype(65536) << qsizetype(10);
    QTest::newRow("185 KB preview") << qsizetype(189'531) << qsizetype(10);
}

void TstWebSocketFrame::lengths()
{
    QFETCH(qsizetype, size);
    QFETCH(qsizetype, headerSize);
    QByteArray payload(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        payload[i] = char(i * 7 + 3);

    const QByteArray frame = encodeWebSocketFrame(WebSocketOpcode::Binary, payload);
    QCOMPARE(webSocketHeaderSize(size), headerSize);
    QCOMPARE(frame.size(), headerSize + size);
    QCOMPARE(uchar(frame[0]), uchar(0x82)); // FIN + binary, RSV bits clear
    const uchar second = uchar(frame[1]);
    QCOMPARE(second & 0x80, 0); // servers never mask
    quint64 declared = second & 0x7F;
    if (headerSize == 4) {
        QCOMPARE(declared, quint64(126));
        declared = qFromBigEndian<quint16>(frame.constData() + 2);
    } else if (headerSize == 10) {
        QCOMPARE(declared, quint64(127));
        declared = qFromBigEndian<quint64>(frame.constData() + 2);
        QVERIFY(declared >> 63 == 0); // the most significant bit must be 0
    }
    QCOMPARE(declared, quint64(size));
    QCOMPARE(frame.mid(headerSize), payload);
}

void TstWebSocketFrame::opcodes()
{
    const QByteArray text = encodeWebSocketFrame(WebSocketOpcode::Text, "{\"type\":\"status\"}");
    QCOMPARE(text.toHex(), QByteArray("8111") + QByteArray("{\"type\":\"status\"}").toHex());
    QCOMPARE(encodeWebSocketFrame(WebSocketOpcode::Binary, {}), QByteArray::fromHex("8200"));
}

QTEST_APPLESS_MAIN(TstWebSocketFrame)
#include "tst_websocketframe.moc"
