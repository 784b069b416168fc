// parseBinaryFrame and the encoders against every binary frame recorded from a real ComfyUI, a table of
// malformed frames, and every truncation of a real type-4 frame.

#include "protocol/binaryframe.h"
#include "sim/capture.h"

#include <QHash>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>
#include <QtEndian>

using namespace cr::protocol;
using namespace cr::sim;
using namespace Qt::StringLiterals;

namespace {

const QByteArray kJpegMagic = QByteArray::fromHex("ffd8ff");
const QByteArray kPngMagic = QByteArray::fromHex("89504e470d0a1a0a");

QByteArray u32(quint32 v)
{
    char b[4];
    qToBigEndian<quint32>(v, b);
    return QByteArray(b, 4);
}

QString idOrEmpty(const QJsonValue &v) { return v.isString() ? v.toString() : QString(); }

} // namespace

// Captured frames (decode + re-encode), malformed frames, truncation and mutation loops, encoders.
class TstBinaryFrame final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void capturedFrames_data();
    void capturedFrames();
    void recordedHeads_data();
    void recordedHeads();
    void malformed_data();
    void malformed();
    void everyTruncationOfRealFrames_data();
    void everyTruncationOfRealFrames();
    void mutatedHeadersNeverCrash();
    void imageSharesFrameBuffer();
    void textFrameRoundTrip_data();
    void textFrameRoundTrip();
    void type4MetadataLikePython_data();
    void type4MetadataLikePython();
    void mimeTypes();

private:
    const CaptureRecord &record(const QString &scenario, int index) const;
    QList<std::pair<QString, int>> binaryRecords(bool keptOnly) const;

    QHash<QString, Capture> m_captures;
};

void TstBinaryFrame::initTestCase()
{
    const QStringList scenarios = captureScenarios();
    QVERIFY2(!scenarios.isEmpty(), qPrintable(u"no captures in "_s + capturesDir()));
    for (const QString &s : scenarios) {
        QString error;
        auto capture = Capture::load(s, &error);
        QVERIFY2(capture, qPrintable(error));
        m_captures.insert(s, std::move(*capture));
    }
    QVERIFY(!binaryRecords(true).isEmpty());
}

const CaptureRecord &TstBinaryFrame::record(const QString &scenario, int index) const
{
    return m_captures.constFind(scenario)->records.at(index);
}

QList<std::pair<QString, int>> TstBinaryFrame::binaryRecords(bool keptOnly) const
{
    QList<std::pair<QString, int>> out;
    QStringList names = m_captures.keys();
    names.sort();
    for (const QString &s : names) {
        const QList<CaptureRecord> &records = m_captures.constFind(s)->records;
        for (int i = 0; i < records.size(); ++i) {
            if (records[i].dir == "ws_in"_L1 && records[i].isBinary() && (!keptOnly || !records[i].binary.isEmpty()))
                out.append({s, i});
        }
    }
    return out;
}

void TstBinaryFrame::capturedFrames_data()
{
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<int>("index");
    for (const auto &[s, i] : binaryRecords(true))
        QTest::newRow(qPrintable(record(s, i).file)) << s << i;
}

void TstBinaryFrame::capturedFrames()
{
    QFETCH(QString, scenario);
    QFETCH(int, index);
    const CaptureRecord &r = record(scenario, index);
    const QJsonObject &line = r.line;

    FrameError error = FrameError::UnknownType;
    const auto frame = parseBinaryFrame(r.binary, &error);
    QVERIFY2(frame, qPrintable(frameErrorString(error)));
    QCOMPARE(error, FrameError::None);
    QCOMPARE(qint64(frame->type), line["event"_L1].toInteger());
    QCOMPARE(frame->raw, r.binary);
    QVERIFY(frame->preview);
    QVERIFY(!frame->text);
    const PreviewFrame &p = *frame->preview;

    const qsizetype offset = line["image_offset"_L1].toInteger();
    QCOMPARE(p.image.size(), line["image_len"_L1].toInteger());
    QCOMPARE(p.image, r.binary.sliced(offset));
    const QString pilFormat = line["image_pil_format"_L1].toString();
    QCOMPARE(p.format, pilFormat == "PNG"_L1 ? ImageFormat::Png : ImageFormat::Jpeg);
    QVERIFY(p.image.startsWith(p.format == ImageFormat::Png ? kPngMagic : kJpegMagic));

    QByteArray reencoded;
    if (frame->type == quint32(BinaryEventType::PreviewImageWithMetadata)) {
        const QJsonObject meta = line["metadata"_L1].toObject();
        QVERIFY(p.hadMetadata);
        QCOMPARE(offset, 8 + line["metadata_len"_L1].toInteger());
        QCOMPARE(p.meta.nodeId, meta["node_id"_L1].toString());
        QCOMPARE(p.meta.promptId, meta["prompt_id"_L1].toString());
        QCOMPARE(p.meta.displayNodeId, meta["display_node_id"_L1].toString());
        QCOMPARE(p.meta.parentNodeId, idOrEmpty(meta["parent_node_id"_L1]));
        QCOMPARE(p.meta.realNodeId, meta["real_node_id"_L1].toString());
        QCOMPARE(mimeTypeFor(p.format), meta["image_type"_L1].toString());
        QCOMPARE(r.binary.mid(8, offset - 8), line["metadata_raw"_L1].toString().toUtf8());
        reencoded = encodePreviewType4(p.meta, p.format, p.image);
    } else {
        QCOMPARE(frame->type, quint32(BinaryEventType::PreviewImage));
        QVERIFY(!p.hadMetadata);
        QCOMPARE(offset, 8);
        QCOMPARE(qint64(p.format), line["image_format_code"_L1].toInteger());
        reencoded = encodePreviewType1(p.format, p.image);
    }
    QCOMPARE(reencoded.size(), r.binary.size());
    QVERIFY(reencoded == r.binary);
}

// Frames whose bytes were not kept still have their first 16 bytes: a type-1 head parses (with a cut
// image), a type-4 head has a metadata length that runs past 16 bytes.
void TstBinaryFrame::recordedHeads_data()
{
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<int>("index");
    for (const auto &[s, i] : binaryRecords(false))
        QTest::newRow(qPrintable(u"%1#%2"_s.arg(s).arg(i))) << s << i;
}

void TstBinaryFrame::recordedHeads()
{
    QFETCH(QString, scenario);
    QFETCH(int, index);
    const QJsonObject &line = record(scenario, index).line;
    const QByteArray head = QByteArray::fromHex(line["head_hex"_L1].toString().toLatin1());
    QCOMPARE(head.size(), 16);
    FrameError error = FrameError::None;
    const auto frame = parseBinaryFrame(head, &error);
    const qint64 event = line["event"_L1].toInteger();
    if (event == 4) {
        const bool fits = 8 + line["metadata_len"_L1].toInteger() <= head.size();
        QCOMPARE(bool(frame), fits);
        if (!fits)
            QCOMPARE(error, FrameError::BadLength);
    } else {
        QCOMPARE(event, 1);
        QVERIFY(frame);
        QCOMPARE(qint64(frame->preview->format), line["image_format_code"_L1].toInteger());
        QCOMPARE(frame->preview->image, head.sliced(8));
    }
}

void TstBinaryFrame::malformed_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<FrameError>("expected");
    const QByteArray jpeg = kJpegMagic + "xyz";
    QTest::newRow("empty") << QByteArray() << FrameError::TooShort;
    QTest::newRow("3 bytes") << QByteArray::fromHex("000000") << FrameError::TooShort;
    QTest::newRow("type 1 with 4 bytes") << u32(1) << FrameError::TooShort;
    QTest::newRow("type 1 with 7 bytes") << u32(1) + QByteArray::fromHex("000000") << FrameError::TooShort;
    QTest::newRow("type 3 with 4 bytes") << u32(3) << FrameError::TooShort;
    QTest::newRow("type 4 with 4 bytes") << u32(4) << FrameError::TooShort;
    QTest::newRow("type 4 length past end") << u32(4) + u32(16) + "{}" + jpeg << FrameError::BadLength;
    QTest::newRow("type 4 length one past end") << u32(4) + u32(3) + "{}" << FrameError::BadLength;
    QTest::newRow("type 4 huge length") << u32(4) + u32(0xFFFFFFFFu) + "{}" + jpeg << FrameError::BadLength;
    QTest::newRow("type 4 metadata not JSON") << u32(4) + u32(3) + "abc" + jpeg << FrameError::BadMetadata;
    QTest::newRow("type 4 metadata an array") << u32(4) + u32(3) + "[1]" + jpeg << FrameError::BadMetadata;
    QTest::newRow("type 4 metadata empty") << u32(4) + u32(0) + jpeg << FrameError::BadMetadata;
    QTest::newRow("type 4 metadata cut") << u32(4) + u32(5) + R"({"a":1})" << FrameError::BadMetadata;
    QTest::newRow("type 1 format 7") << u32(1) + u32(7) + jpeg << FrameError::BadImageFormat;
    QTest::newRow("type 1 format 0") << u32(1) + u32(0) + jpeg << FrameError::BadImageFormat;
    QTest::newRow("type 3 huge length") << u32(3) + u32(0xFFFFFFFFu) + "12" << FrameError::BadLength;
    QTest::newRow("type 3 length past end") << u32(3) + u32(5) + "12" << FrameError::BadLength;
    QTest::newRow("unknown type 9") << u32(9) + u32(1) + jpeg << FrameError::UnknownType;
    QTest::newRow("type 2 never on the wire") << u32(2) + u32(1) << FrameError::UnknownType;
    QTest::newRow("type 0 alone") << u32(0) << FrameError::UnknownType;
    QTest::newRow("type 0xFFFFFFFF") << u32(0xFFFFFFFFu) + u32(0xFFFFFFFFu) << FrameError::UnknownType;
    QTest::newRow("little-endian type 1") << QByteArray::fromHex("01000000") + u32(1) + jpeg << FrameError::UnknownType;
}

void TstBinaryFrame::malformed()
{
    QFETCH(QByteArray, frame);
    QFETCH(FrameError, expected);
    FrameError error = FrameError::None;
    QVERIFY(!parseBinaryFrame(frame, &error));
    QCOMPARE(error, expected);
    QVERIFY(!frameErrorString(error).isEmpty());
    QVERIFY(!parseBinaryFrame(frame)); // no error pointer
}

void TstBinaryFrame::everyTruncationOfRealFrames_data()
{
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<int>("index");
    // The first kept frame of each event type in the captures.
    QSet<qint64> seen;
    for (const auto &[s, i] : binaryRecords(true)) {
        const qint64 event = record(s, i).line["event"_L1].toInteger();
        if (!seen.contains(event)) {
            seen.insert(event);
            QTest::newRow(qPrintable(record(s, i).file)) << s << i;
        }
    }
}

// Each prefix is a deep copy, so a read past its end would be an out-of-bounds read (caught by ASan).
void TstBinaryFrame::everyTruncationOfRealFrames()
{
    QFETCH(QString, scenario);
    QFETCH(int, index);
    const CaptureRecord &r = record(scenario, index);
    const QByteArray &full = r.binary;
    const bool type4 = r.line["event"_L1].toInteger() == 4;
    const qsizetype imageOffset = r.line["image_offset"_L1].toInteger();

    for (qsizetype n = 0; n <= full.size(); ++n) {
        const QByteArray prefix = full.left(n);
        FrameError error = FrameError::None;
        const auto frame = parseBinaryFrame(prefix, &error);
        FrameError expected = FrameError::None;
        if (n < 8)
            expected = FrameError::TooShort;
        else if (type4 && n < imageOffset)
            expected = FrameError::BadLength;
        if (expected != FrameError::None) {
            if (frame || error != expected)
                QFAIL(qPrintable(u"prefix %1: expected %2, got %3"_s.arg(n).arg(frameErrorString(expected),
                                                                                frameErrorString(error))));
            continue;
        }
        if (!frame || frame->preview->image.size() != n - imageOffset)
            QFAIL(qPrintable(u"prefix %1: %2"_s.arg(n).arg(frameErrorString(error))));
    }
}

// Random bytes in the header and metadata region of a real frame: every result is a clean success or a
// clean error, and a success never claims more image than the frame holds.
void TstBinaryFrame::mutatedHeadersNeverCrash()
{
    const auto records = binaryRecords(true);
    QVERIFY(!records.isEmpty());
    QRandomGenerator rng(20261127); // fixed seed: reproducible
    int ok = 0, failed = 0;
    for (int round = 0; round < 5000; ++round) {
        const auto &[s, i] = records.at(round % records.size());
        QByteArray frame = record(s, i).binary.left(400 + round % 300);
        const int flips = 1 + int(rng.bounded(4));
        for (int f = 0; f < flips; ++f)
            frame[rng.bounded(int(qMin<qsizetype>(frame.size(), 200)))] = char(rng.bounded(256));
        if (round % 7 == 0)
            frame.truncate(rng.bounded(int(frame.size())));
        FrameError error = FrameError::None;
        const auto parsed = parseBinaryFrame(frame, &error);
        if (parsed) {
            ++ok;
            QCOMPARE(error, FrameError::None);
            if (parsed->preview)
                QVERIFY(parsed->preview->image.size() <= frame.size() - 8);
        } else {
            ++failed;
            QVERIFY(error != FrameError::None);
        }
    }
    QVERIFY(ok > 0);
    QVERIFY(failed > 0);
}

void TstBinaryFrame::imageSharesFrameBuffer()
{
    const auto [s, i] = binaryRecords(true).first();
    QByteArray frame = record(s, i).binary;
    frame.detach();
    const qsizetype offset = record(s, i).line["image_offset"_L1].toInteger();
    const QByteArray expected = frame.sliced(offset);

    // sharedTail (binaryframe.cpp) moves a QByteArray's begin pointer inside the frame's block: Qt 6.4
    // internals, checked here so that a Qt upgrade that changes them fails this test, not a client.
    const char *const why = "sharedTail no longer shares the frame: QByteArray's internals changed (binaryframe.cpp)";
    auto parsed = parseBinaryFrame(frame);
    QVERIFY(parsed);
    QVERIFY2(parsed->preview->image.constData() == frame.constData() + offset, why); // no copy of the image
    QVERIFY(parsed->raw.constData() == frame.constData());
    QVERIFY2(!parsed->preview->image.isDetached(), why); // one block, two owners
    frame = QByteArray();                                // the parse result keeps the bytes alive
    const QByteArray image = parsed->preview->image;
    parsed.reset();
    QCOMPARE(image, expected);
    QCOMPARE(image.constData()[image.size()], '\0');

    // Copy-on-write still works on the slice: writing to a copy leaves the shared bytes alone, and the
    // slice can grow, shrink and be taken apart like any array.
    QByteArray changed = image;
    changed[0] = char(~image.at(0));
    changed.append("tail");
    QCOMPARE(image, expected);
    QCOMPARE(changed.size(), expected.size() + 4);
    QVERIFY(changed.endsWith("tail"));
    QCOMPARE(changed.mid(1, expected.size() - 1), expected.mid(1));
    QByteArray grown = image;
    grown.reserve(image.size() * 2);
    grown.append(image);
    QCOMPARE(grown, expected + expected);
    QByteArray chopped = image;
    chopped.chop(10);
    chopped.squeeze();
    QCOMPARE(chopped, expected.chopped(10));
    QCOMPARE(image, expected);

    // A frame that does not own its bytes is copied instead of shared.
    const QByteArray owner = encodePreviewType1(ImageFormat::Jpeg, expected);
    const QByteArray view = QByteArray::fromRawData(owner.constData(), owner.size());
    const auto fromView = parseBinaryFrame(view);
    QVERIFY(fromView);
    QVERIFY(fromView->preview->image.constData() != owner.constData() + 8);
    QCOMPARE(fromView->preview->image, expected);
}

void TstBinaryFrame::textFrameRoundTrip_data()
{
    QTest::addColumn<QString>("nodeId");
    QTest::addColumn<QString>("text");
    QTest::newRow("doc example") << u"12"_s << u"width: 512, height: 512\n batch size: 1"_s;
    QTest::newRow("empty text") << u"3"_s << QString();
    QTest::newRow("empty node") << QString() << u"price: $0.04"_s;
    QTest::newRow("utf-8") << u"ноды.7"_s << u"größe ✓ 日本"_s;
}

void TstBinaryFrame::textFrameRoundTrip()
{
    QFETCH(QString, nodeId);
    QFETCH(QString, text);
    const QByteArray encoded = encodeTextFrame(nodeId, text);
    const QByteArray id = nodeId.toUtf8();
    QCOMPARE(encoded, u32(3) + u32(quint32(id.size())) + id + text.toUtf8());
    FrameError error = FrameError::UnknownType;
    const auto frame = parseBinaryFrame(encoded, &error);
    QVERIFY(frame);
    QCOMPARE(error, FrameError::None);
    QCOMPARE(frame->type, 3u);
    QVERIFY(frame->text);
    QVERIFY(!frame->preview);
    QCOMPARE(frame->text->nodeId, nodeId);
    QCOMPARE(frame->text->text, text);
}

// The expected JSON is what Python's json.dumps(metadata) gives for the same dict.
void TstBinaryFrame::type4MetadataLikePython_data()
{
    QTest::addColumn<QString>("nodeId");
    QTest::addColumn<QString>("parent");
    QTest::addColumn<bool>("png");
    QTest::addColumn<QByteArray>("json");
    QTest::newRow("plain") << u"3"_s << QString() << false
                           << QByteArray(R"({"node_id": "3", "prompt_id": "p", "display_node_id": "3", )"
                                         R"("parent_node_id": null, "real_node_id": "3", "image_type": "image/jpeg"})");
    QTest::newRow("expanded png") << u"5.2"_s << u"5"_s << true
                                  << QByteArray(
                                         R"({"node_id": "5.2", "prompt_id": "p", "display_node_id": "5.2", )"
                                         R"("parent_node_id": "5", "real_node_id": "5.2", "image_type": "image/png"})");
    QTest::newRow("escapes")
        << u"a\"b\\c\n\t\u00e9\U0001F600\x7f"_s << QString() << false
        << QByteArray(R"({"node_id": "a\"b\\c\n\t\u00e9\ud83d\ude00\u007f", "prompt_id": "p", )"
                      R"("display_node_id": "a\"b\\c\n\t\u00e9\ud83d\ude00\u007f", "parent_node_id": null, )"
                      R"("real_node_id": "a\"b\\c\n\t\u00e9\ud83d\ude00\u007f", "image_type": "image/jpeg"})");
}

void TstBinaryFrame::type4MetadataLikePython()
{
    QFETCH(QString, nodeId);
    QFETCH(QString, parent);
    QFETCH(bool, png);
    QFETCH(QByteArray, json);
    const PreviewMetadata meta{nodeId, u"p"_s, nodeId, parent, nodeId};
    const ImageFormat format = png ? ImageFormat::Png : ImageFormat::Jpeg;
    const QByteArray image = png ? kPngMagic : kJpegMagic;
    const QByteArray encoded = encodePreviewType4(meta, format, image);
    QCOMPARE(encoded, u32(4) + u32(quint32(json.size())) + json + image);

    const auto frame = parseBinaryFrame(encoded);
    QVERIFY(frame);
    QCOMPARE(frame->preview->meta.nodeId, nodeId);
    QCOMPARE(frame->preview->meta.parentNodeId, parent);
    QCOMPARE(frame->preview->format, format);
    QCOMPARE(frame->preview->image, image);
}

void TstBinaryFrame::mimeTypes()
{
    QCOMPARE(mimeTypeFor(ImageFormat::Jpeg), u"image/jpeg"_s);
    QCOMPARE(mimeTypeFor(ImageFormat::Png), u"image/png"_s);
    QCOMPARE(imageFormatFromMime(u"image/png"_s), ImageFormat::Png);
    QCOMPARE(imageFormatFromMime(u"image/jpeg"_s), ImageFormat::Jpeg);
    QCOMPARE(imageFormatFromMime(u"image/webp"_s), ImageFormat::Jpeg); // as ComfyUI labels it
    QCOMPARE(imageFormatFromMime(QString()), ImageFormat::Jpeg);
}

QTEST_GUILESS_MAIN(TstBinaryFrame)
#include "tst_binaryframe.moc"
