#include "core/api/byterange.h"

namespace cr {

namespace {

// A non-empty run of ASCII digits that fits in qint64.
std::optional<qint64> digits(const QByteArray &text)
{
    if (text.isEmpty() || text.size() > 18)
        return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9')
            return std::nullopt;
    return text.toLongLong();
}

} // namespace

QByteArray ByteRange::contentRange(qint64 size) const
{
    return "bytes " + QByteArray::number(first) + '-' + QByteArray::number(last) + '/' + QByteArray::number(size);
}

QByteArray unsatisfiedRange(qint64 size) { return "bytes */" + QByteArray::number(size); }

std::optional<RangeSpec> parseRangeHeader(const QByteArray &header)
{
    const QByteArray h = header.trimmed();
    if (!h.toLower().startsWith("bytes="))
        return std::nullopt;
    const QByteArray set = h.mid(6).trimmed();
    if (set.contains(','))
        return std::nullopt; // several ranges: not served as multipart/byteranges
    const qsizetype dash = set.indexOf('-');
    if (dash < 0)
        return std::nullopt;
    const QByteArray a = set.left(dash).trimmed(), b = set.mid(dash + 1).trimmed();
    RangeSpec spec;
    if (a.isEmpty()) {
        const std::optional<qint64> n = digits(b);
        if (!n)
            return std::nullopt;
        spec.suffix = *n;
        return spec;
    }
    const std::optional<qint64> first = digits(a);
    if (!first)
        return std::nullopt;
    spec.first = *first;
    if (!b.isEmpty()) {
        const std::optional<qint64> last = digits(b);
        if (!last || *last < *first)
            return std::nullopt; // an invalid range-spec: ignored
        spec.last = *last;
    }
    return spec;
}

QByteArray rangeHeader(const RangeSpec &spec)
{
    if (spec.suffix >= 0)
        return "bytes=-" + QByteArray::number(spec.suffix);
    return "bytes=" + QByteArray::number(spec.first) + '-'
        + (spec.last < 0 ? QByteArray() : QByteArray::number(spec.last));
}

RangeResolution resolveRange(const std::optional<RangeSpec> &spec, qint64 size)
{
    RangeResolution r;
    if (!spec || size < 0)
        return r;
    if (spec->suffix >= 0) {
        if (spec->suffix == 0 || size == 0) {
            r.kind = RangeResolution::Kind::Unsatisfiable;
            return r;
        }
        r.kind = RangeResolution::Kind::Partial;
        r.range = {qMax<qint64>(0, size - spec->suffix), size - 1};
        return r;
    }
    if (spec->first >= size) {
        r.kind = RangeResolution::Kind::Unsatisfiable;
        return r;
    }
    r.kind = RangeResolution::Kind::Partial;
    r.range = {spec->first, spec->last < 0 ? size - 1 : qMin(spec->last, size - 1)};
    return r;
}

} // namespace cr
