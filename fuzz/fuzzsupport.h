#pragma once
// Shared by the fuzz targets (fuzz_*.cpp): the libFuzzer entry point's types, input conversion, a quiet Qt
// and an invariant check that aborts, so that libFuzzer and the replay driver (replaymain.cpp) both report it.

#include <QByteArray>

#include <cstddef>
#include <cstdint>

namespace cr::fuzz {

inline QByteArray bytes(const uint8_t *data, size_t size)
{
    return QByteArray(reinterpret_cast<const char *>(data), qsizetype(size));
}

// Drops Qt's log output (fuzzing millions of inputs through warning paths would only spam and slow down).
// CR_FUZZ_VERBOSE=1 keeps it. Fatal messages still abort.
void quietQt();

// Splits an input at the first "\n----\n": the part before and the part after (empty when absent).
std::pair<QByteArray, QByteArray> splitSections(const QByteArray &input);

[[noreturn]] void invariantFailed(const char *condition, const char *file, int line);

} // namespace cr::fuzz

// An invariant of the code under test (round trips, bounds): a failure is a finding like a crash.
#define CR_FUZZ_CHECK(cond)                                                                                            \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            ::cr::fuzz::invariantFailed(#cond, __FILE__, __LINE__);                                                    \
    } while (false)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
