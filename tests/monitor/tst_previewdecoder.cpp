// PreviewDecoder: frames decoded off the UI thread, never queued (a burst leaves only the newest frame to
// show), bad bytes counted, JPEG and PNG.

#include "gui/app/previewdecoder.h"

#include <QBuffer>
#include <QImage>
#include <QSignalSpy>
#include <QTest>

using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

QByteArray encoded(const QColor &color, const char *format, int size = 256)
{
    QImage image(size, size, QImage::Format_RGB32);
    image.fill(color);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, format, 90);
    return bytes;
}

MonitorPreview frame(quint64 number, const QByteArray &bytes,
                     cr::protocol::ImageFormat format = cr::protocol::ImageFormat::Jpeg)
{
    MonitorPreview f;
    f.number = number;
    f.jobId = u"job"_s;
    f.frame.format = format;
    f.frame.image = bytes;
    f.frame.meta.nodeId = u"3"_s;
    return f;
}

// Pure colours of frame i: red ramps, so the newest frame is recognisable after JPEG.
QColor colourOf(int i) { return QColor(i * 4, 255 - i * 4, 0); }

} // namespace

class TstPreviewDecoder : public QObject
{
    Q_OBJECT

private slots:
    void burstLeavesTheNewestFrame();
    void decodesPng();
    void countsUnreadableFrames();
};

void TstPreviewDecoder::burstLeavesTheNewestFrame()
{
    PreviewDecoder decoder;
    QSignalSpy available(&decoder, &PreviewDecoder::decodedAvailable);
    constexpr int kFrames = 60;
    QList<QByteArray> bytes;
    for (int i = 1; i <= kFrames; ++i)
        bytes.append(encoded(colourOf(i), "JPEG"));
    for (int i = 1; i <= kFrames; ++i)
        decoder.submit(frame(quint64(i), bytes.at(i - 1)));

    // Take images as the window would, until the newest one arrives.
    std::optional<DecodedPreview> last;
    int taken = 0;
    bool ordered = true;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            if (auto d = decoder.takeDecoded()) {
                ordered = ordered && (!last || d->number > last->number); // never older than what was shown
                last = d;
                ++taken;
            }
            return last && last->number == quint64(kFrames);
        }(),
        10000);
    QVERIFY(ordered);
    QCOMPARE(decoder.submitted(), quint64(kFrames));
    QVERIFY(decoder.decoded() <= quint64(kFrames));
    QCOMPARE(decoder.failed(), quint64(0));
    // Every frame was either decoded or skipped while waiting; every decoded one was taken or replaced.
    QVERIFY(decoder.decoded() + decoder.skipped() >= quint64(kFrames));
    QVERIFY(taken >= 1 && quint64(taken) <= decoder.decoded());
    QCOMPARE(last->jobId, u"job"_s);
    QCOMPARE(last->nodeId, u"3"_s);
    QCOMPARE(last->image.size(), QSize(256, 256));
    QCOMPARE(last->image.format(), QImage::Format_ARGB32_Premultiplied);
    const QColor centre = last->image.pixelColor(128, 128);
    QVERIFY2(qAbs(centre.red() - colourOf(kFrames).red()) <= 6 && qAbs(centre.green() - colourOf(kFrames).green()) <= 6,
             qPrintable(centre.name()));
    QVERIFY(!decoder.takeDecoded());
    QVERIFY(available.count() >= 1 && available.count() <= taken + 1);
}

void TstPreviewDecoder::decodesPng()
{
    PreviewDecoder decoder;
    QSignalSpy available(&decoder, &PreviewDecoder::decodedAvailable);
    decoder.submit(frame(1, encoded(Qt::blue, "PNG", 64), cr::protocol::ImageFormat::Png));
    QVERIFY(available.wait(5000));
    const auto d = decoder.takeDecoded();
    QVERIFY(d);
    QCOMPARE(d->image.size(), QSize(64, 64));
    QCOMPARE(d->image.pixelColor(10, 10), QColor(Qt::blue));
}

void TstPreviewDecoder::countsUnreadableFrames()
{
    PreviewDecoder decoder;
    QSignalSpy available(&decoder, &PreviewDecoder::decodedAvailable);
    decoder.submit(frame(1, QByteArray("definitely not a jpeg")));
    QTRY_COMPARE_WITH_TIMEOUT(decoder.failed(), quint64(1), 5000);
    decoder.submit(frame(2, encoded(Qt::green, "JPEG", 32)));
    QVERIFY(available.wait(5000));
    QCOMPARE(available.count(), 1);
    QCOMPARE(decoder.takeDecoded()->number, quint64(2));
    QCOMPARE(decoder.decoded(), quint64(1));
}

QTEST_MAIN(TstPreviewDecoder)
#include "tst_previewdecoder.moc"
