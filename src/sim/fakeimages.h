#pragma once
// Pictures for the fake ComfyUI: a seeded pattern that starts as noise and resolves step by step (so every
// preview visibly differs from the last), plus JPEG/PNG encoding. Pure functions, no state.

#include <QByteArray>
#include <QImage>
#include <QSize>

namespace cr::sim::fakeimages {

// The "sample" for a seed at a given progress (0 = pure noise, 1 = the finished picture).
QImage render(QSize size, quint64 seed, double progress);

// ComfyUI's preview size: the latent (image / 8) fitted into a box x box square, keeping the aspect ratio;
// Pillow's ImageOps.contain also enlarges, so the long edge becomes exactly `box`.
QSize previewSize(QSize imageSize, int box);

QByteArray jpeg(const QImage &image, int quality);
QByteArray png(const QImage &image);
bool webpSupported();
QByteArray webp(const QImage &image, int quality); // empty when Qt has no WebP plugin

} // namespace cr::sim::fakeimages
