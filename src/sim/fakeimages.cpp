#include "sim/fakeimages.h"

#include <QBuffer>
#include <QImageWriter>

#include <cmath>
#include <vector>

namespace cr::sim::fakeimages {

namespace {

quint64 mix(quint64 x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

QByteArray encode(const QImage &image, const char *format, int quality)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, format);
    if (quality >= 0)
        writer.setQuality(quality);
    if (!writer.write(image))
        return {};
    return bytes;
}

} // namespace

QImage render(QSize size, quint64 seed, double progress)
{
    const int w = qMax(1, size.width());
    const int h = qMax(1, size.height());
    progress = qBound(0.0, progress, 1.0);
    QImage image(w, h, QImage::Format_RGB32);

    // Smooth colour waves whose phases drift with the progress, mixed with noise that fades out.
    const quint64 s = mix(seed + 0x9e3779b97f4a7c15ULL);
    const double fx = 2.0 + double(s % 5), fy = 2.0 + double((s >> 8) % 5);
    const double p0 = double((s >> 16) % 628) / 100.0, p1 = double((s >> 24) % 628) / 100.0;
    const double drift = progress * 3.0;
    std::vector<double> colWave(size_t(w) * 3), rowWave(size_t(h) * 3);
    for (int x = 0; x < w; ++x) {
        const double u = double(x) / w * 2 * M_PI;
        colWave[size_t(x) * 3 + 0] = std::sin(u * fx + p0 + drift);
        colWave[size_t(x) * 3 + 1] = std::sin(u * (fx + 1) + p1 - drift);
        colWave[size_t(x) * 3 + 2] = std::cos(u * 0.5 * fx + p0 * p1 + drift * 0.5);
    }
    for (int y = 0; y < h; ++y) {
        const double v = double(y) / h * 2 * M_PI;
        rowWave[size_t(y) * 3 + 0] = std::cos(v * fy + p1 - drift);
        rowWave[size_t(y) * 3 + 1] = std::sin(v * (fy + 2) + p0 + drift);
        rowWave[size_t(y) * 3 + 2] = std::sin(v * 0.5 * fy - p1);
    }
    // Noise fades from 45% to a faint 6% grain and is gone in the finished picture (which keeps saved PNGs
    // small); integer maths in the inner loop keeps a 512x512 frame around 1 ms.
    const int noise = progress >= 1.0 ? 0 : int((0.06 + 0.39 * (1.0 - progress)) * 256);
    std::vector<int> cols(size_t(w) * 3), rows(size_t(h) * 3);
    for (size_t i = 0; i < cols.size(); ++i)
        cols[i] = int(colWave[i] * 64);
    for (size_t i = 0; i < rows.size(); ++i)
        rows[i] = int(rowWave[i] * 64);
    quint64 rng = mix(seed ^ quint64(progress * 1e6) ^ 0x2545f4914f6cdd1dULL) | 1;
    for (int y = 0; y < h; ++y) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(y));
        const int *rw = &rows[size_t(y) * 3];
        for (int x = 0; x < w; ++x) {
            const int *cw = &cols[size_t(x) * 3];
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            int rgb[3];
            for (int c = 0; c < 3; ++c) {
                // clean in [0, 255]: product and sum of the two waves
                const int clean = 128 + (cw[c] * rw[c]) / 64 + (cw[c] + rw[c]) / 2;
                const int grain = int((rng >> (c * 16)) & 0xff);
                rgb[c] = qBound(0, (clean * (256 - noise) + grain * noise) >> 8, 255);
            }
            line[x] = qRgb(rgb[0], rgb[1], rgb[2]);
        }
    }
    return image;
}

QSize previewSize(QSize imageSize, int box)
{
    const int lw = qMax(1, imageSize.width() / 8), lh = qMax(1, imageSize.height() / 8);
    if (box <= 0)
        return {lw, lh};
    if (lw >= lh)
        return {box, qMax(1, int(std::lround(double(lh) * box / lw)))};
    return {qMax(1, int(std::lround(double(lw) * box / lh))), box};
}

QByteArray jpeg(const QImage &image, int quality)
{
    return encode(image.convertToFormat(QImage::Format_RGB32), "jpeg", quality);
}

QByteArray png(const QImage &image) { return encode(image, "png", -1); }

bool webpSupported() { return QImageWriter::supportedImageFormats().contains("webp"); }

QByteArray webp(const QImage &image, int quality)
{
    return webpSupported() ? encode(image, "webp", quality) : QByteArray();
}

} // namespace cr::sim::fakeimages
