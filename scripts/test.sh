#!/usr/bin/env bash
# Builds everything and runs every test (CTest).
# Usage: ./scripts/test.sh [--sanitize] [extra ctest arguments]
#   --sanitize  builds in build-asan/ with -fsanitize=address,undefined and runs the same tests there; any
#               ASan/UBSan report fails the test that produced it (see docs/testing.md). The monitor (GUI
#               client) and the benchmarks (timing) are left out of that build.
set -euo pipefail
CR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$CR_ROOT/scripts/deps.sh"
cr_ensure_packages "${CR_TEST_PACKAGES[@]}"
cr_ensure_promtool "$CR_ROOT/build-tools/promtool"
cr_ensure_nodejs
SANITIZE=0
if [ "${1:-}" = "--sanitize" ]; then SANITIZE=1; shift; fi
if [ $SANITIZE -eq 1 ]; then
    BUILD=${CR_BUILD_DIR:-$CR_ROOT/build-asan}
    flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
    cr_configure "$BUILD" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
                 -DCMAKE_SHARED_LINKER_FLAGS="$flags" -DCOMFY_RUNNER_BUILD_MONITOR=OFF -DCOMFY_RUNNER_BUILD_BENCH=OFF
    # halt_on_error turns every UBSan finding into a failing test; lsan.supp holds Qt-internal leaks only
    # (fast_unwind_on_malloc=0: complete leak stacks through Qt, which the suppressions need to match).
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0:malloc_context_size=60"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    export LSAN_OPTIONS="suppressions=$CR_ROOT/scripts/lsan.supp:print_suppressions=0"
else
    BUILD=${CR_BUILD_DIR:-$CR_ROOT/build}
    cr_configure "$BUILD"
fi
cmake --build "$BUILD" -j2
export QT_QPA_PLATFORM=offscreen
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
