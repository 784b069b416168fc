// encodeWebSocketFrame against RFC 6455 §5.2: the three length encodings at their boundaries, FIN and
// opcode bits, no mask, and the payload copied unchanged. (Real clients decoding these frames are covered
// by the relay tests, which receive every frame through QWebSocket.)

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
};

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
