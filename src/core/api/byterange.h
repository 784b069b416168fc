#pragma once
// HTTP Range requests for the output downloads (RFC 9110 §14): one "bytes=" range, resolved against the
// file's size. A header that is not one well-formed byte range (another unit, several ranges, garbage) is
// ignored, as the RFC allows: the whole file is sent with 200.

#include <QByteArray>

#include <optional>

namespace cr {

struct ByteRange {
    qint64 first = 0;
    qint64 last = 0; // inclusive
    qint64 length() const { return last - first + 1; }
    QByteArray contentRange(qint64 size) const; // "bytes first-last/size"
};

// One syntactically valid "bytes=a-b", "bytes=a-" or "bytes=-n"; what it asks for, unresolved.
struct RangeSpec {
    qint64 first = -1; // -1: a suffix range
    qint64 last = -1;  // -1: to the end (or, for a suffix, unused)
    qint64 suffix = -1;
};

// nullopt for an empty or ignorable header.
std::optional<RangeSpec> parseRangeHeader(const QByteArray &header);

// The spec in its one canonical spelling ("bytes=a-b", "bytes=a-", "bytes=-n"), for ComfyUI's /view: aiohttp
// accepts only that (a capital unit or a space gets 416), though RFC 9110 lets a client send either.
QByteArray rangeHeader(const RangeSpec &spec);

struct RangeResolution {
    enum class Kind { Whole, Partial, Unsatisfiable };
    Kind kind = Kind::Whole;
    ByteRange range; // Partial only
};

// The answer for `spec` against a body of `size` bytes (size >= 0).
RangeResolution resolveRange(const std::optional<RangeSpec> &spec, qint64 size);

// "bytes */size", the Content-Range of a 416.
QByteArray unsatisfiedRange(qint64 size);

} // namespace cr
