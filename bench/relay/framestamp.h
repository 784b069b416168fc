#pragma once
// Frames that carry their own send time, so that a receiver in another process can tell how long each one
// took (all processes read the same CLOCK_MONOTONIC). They are ordinary ComfyUI frames:
// - a `progress` text event with one extra data field, "bench": [burst, seq, monotonic ns];
// - a type-1 preview (u32 BE 1 | u32 BE 1 = JPEG | JPEG bytes) whose JPEG starts with a comment segment
//   (FF FE) holding "CRB1", burst, seq and ns — still a valid JPEG, and the relay passes image bytes unchanged;
// - a `bench_end` text event after the last step of a burst.

#include <QByteArray>
#include <QString>
#include <QStringView>

#include <optional>

namespace cr::bench {

struct FrameStamp {
    quint32 burst = 0;
    quint32 seq = 0; // 0-based step
    qint64 ns = 0;   // CLOCK_MONOTONIC when the simulator handed the frame to its sockets
};

QByteArray stampedProgress(const FrameStamp &stamp, quint32 steps, const QString &promptId);
std::optional<FrameStamp> progressStamp(QStringView text);

QByteArray burstEnd(quint32 burst, quint32 steps);
std::optional<quint32> burstEndOf(QStringView text); // the burst of a bench_end event

// `jpeg` must start with the SOI marker (FF D8).
QByteArray stampedPreview(const QByteArray &jpeg, const FrameStamp &stamp);
std::optional<FrameStamp> previewStamp(const QByteArray &frame);

} // namespace cr::bench
