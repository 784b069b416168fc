// Fuzz target: the multipart/form-data reader of POST /api/v1/uploads (core/api/multipart). Input: the
// Content-Type header, "\n----\n", then the body. Every part it returns must lie inside the body, and the
// part limit must hold.

#include "fuzzsupport.h"

#include "core/api/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const auto [contentType, body] = cr::fuzz::splitSections(cr::fuzz::bytes(data, size));
    constexpr int kMaxParts = 4;
    const auto parts = cr::parseMultipart(contentType, body, kMaxParts);
    if (!parts) {
        CR_FUZZ_CHECK(!parts.error().message.isEmpty());
        return 0;
    }
    CR_FUZZ_CHECK(parts->size() <= kMaxParts);
    qsizetype total = 0;
    for (const cr::FormPart &part : *parts)
        total += part.data.size();
    CR_FUZZ_CHECK(total <= body.size());
    return 0;
}
