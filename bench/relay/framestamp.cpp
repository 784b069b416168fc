#include "bench/relay/framestamp.h"

#include <QtEndian>

namespace cr::bench {

namespace {

constexpr char kMagic[] = "CRB1";
constexpr int kHeader = 8;               // type-1 frame header
constexpr int kSegment = 2 + 2 + 4 + 16; // FF FE, length, magic, burst + seq + ns
const QLatin1StringView kBenchField("\"bench\": [");
const QLatin1StringView kEndType("{\"type\": \"bench_end\"");

// Parses a non-negative decimal at `pos`, moving past it.
std::optional<qint64> number(QStringView text, qsizetype &pos)
{
    qint64 value = 0;
    const qsizetype start = pos;
    while (pos < text.size() && text[pos].isDigit())
        value = value * 10 + (text[pos++].unicode() - u'0');
    return pos > start ? std::optional<qint64>(value) : std::nullopt;
}

bool skip(QStringView text, qsizetype &pos, QLatin1StringView what)
{
    if (!text.mid(pos).startsWith(what))
        return false;
    pos += what.size();
    return true;
}

} // namespace

QByteArray stampedProgress(const FrameStamp &stamp, quint32 steps, const QString &promptId)
{
    // ComfyUI's own formatting (Python json.dumps: ", " and ": ").
    return QByteArrayLiteral("{\"type\": \"progress\", \"data\": {\"value\": ") + QByteArray::number(stamp.seq + 1)
        + QByteArrayLiteral(", \"max\": ") + QByteArray::number(steps) + QByteArrayLiteral(", \"prompt_id\": \"")
        + promptId.toLatin1() + QByteArrayLiteral("\", \"node\": \"3\", \"bench\": [") + QByteArray::number(stamp.burst)
        + QByteArrayLiteral(", ") + QByteArray::number(stamp.seq) + QByteArrayLiteral(", ")
        + QByteArray::number(stamp.ns) + QByteArrayLiteral("]}}");
}

std::optional<FrameStamp> progressStamp(QStringView text)
{
    qsizetype pos = text.lastIndexOf(kBenchField);
    if (pos < 0)
        return std::nullopt;
    pos += kBenchField.size();
    const auto burst = number(text, pos);
    if (!burst || !skip(text, pos, QLatin1StringView(", ")))
        return std::nullopt;
    const auto seq = number(text, pos);
    if (!seq || !skip(text, pos, QLatin1StringView(", ")))
        return std::nullopt;
    const auto ns = number(text, pos);
    if (!ns)
        return std::nullopt;
    return FrameStamp{quint32(*burst), quint32(*seq), *ns};
}

QByteArray burstEnd(quint32 burst, quint32 steps)
{
    return QByteArrayLiteral("{\"type\": \"bench_end\", \"data\": {\"burst\": ") + QByteArray::number(burst)
        + QByteArrayLiteral(", \"steps\": ") + QByteArray::number(steps) + QByteArrayLiteral("}}");
}

std::optional<quint32> burstEndOf(QStringView text)
{
    if (!text.startsWith(kEndType))
        return std::nullopt;
    qsizetype pos = text.indexOf(QLatin1StringView("\"burst\": "));
    if (pos < 0)
        return std::nullopt;
    pos += 9;
    const auto burst = number(text, pos);
    return burst ? std::optional<quint32>(quint32(*burst)) : std::nullopt;
}

QByteArray stampedPreview(const QByteArray &jpeg, const FrameStamp &stamp)
{
    QByteArray frame(kHeader + 2 + kSegment + jpeg.size() - 2, Qt::Uninitialized);
    char *p = frame.data();
    qToBigEndian<quint32>(1, p);     // PREVIEW_IMAGE
    qToBigEndian<quint32>(1, p + 4); // JPEG
    p += kHeader;
    *p++ = char(0xFF);
    *p++ = char(0xD8);
    *p++ = char(0xFF);
    *p++ = char(0xFE);
    qToBigEndian<quint16>(quint16(kSegment - 2), p);
    p += 2;
    memcpy(p, kMagic, 4);
    qToBigEndian<quint32>(stamp.burst, p + 4);
    qToBigEndian<quint32>(stamp.seq, p + 8);
    qToBigEndian<qint64>(stamp.ns, p + 12);
    p += 20;
    memcpy(p, jpeg.constData() + 2, size_t(jpeg.size() - 2));
    return frame;
}

std::optional<FrameStamp> previewStamp(const QByteArray &frame)
{
    if (frame.size() < kHeader + 2 + kSegment)
        return std::nullopt;
    const char *p = frame.constData();
    if (qFromBigEndian<quint32>(p) != 1)
        return std::nullopt;
    p += kHeader + 6;
    if (memcmp(p, kMagic, 4) != 0)
        return std::nullopt;
    return FrameStamp{qFromBigEndian<quint32>(p + 4), qFromBigEndian<quint32>(p + 8), qFromBigEndian<qint64>(p + 12)};
}

} // namespace cr::bench
