// Fuzz target: the TOML configuration loader (core/config/configloader), through loadString as
// --check-config uses it. Any text gives a config or errors, never both, and every diagnostic names a place.

#include "fuzzsupport.h"

#include "core/config/configloader.h"

#include <QDir>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const cr::ConfigResult result
        = cr::ConfigLoader::loadString(cr::fuzz::bytes(data, size), QStringLiteral("fuzz.toml"), QDir::tempPath());
    CR_FUZZ_CHECK(result.ok() == result.config.has_value());
    for (const cr::ConfigDiagnostic &d : result.errors + result.warnings) {
        CR_FUZZ_CHECK(d.line >= 0 && d.column >= 0);
        CR_FUZZ_CHECK(!d.toString().isEmpty());
    }
    return 0;
}
