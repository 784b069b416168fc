#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/) with clang and libFuzzer + ASan/UBSan in build-fuzz/ and runs each for a
# while. Usage: ./scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]   (targets: binaryframe ...)
# New corpus entries go to build-fuzz/corpus/<target>/ (the committed seeds in fuzz/corpus/ are only read),
# crashes and invariant failures to build-fuzz/crashes/<target>-*. Replay one with
#   build-fuzz/fuzz/fuzz_<target> build-fuzz/crashes/<target>-crash-...
# and add what it found to fuzz/corpus/<target>/ with the fix. See docs/testing.md.
set -euo pipefail
CR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$CR_ROOT/scripts/deps.sh"
CR_PACKAGES+=(clang-14 libclang-rt-14-dev) # libFuzzer and the sanitizer runtimes of Debian 12's clang
cr_ensure_packages
SECONDS_PER_TARGET=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=()
    for f in "$CR_ROOT"/fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); TARGETS+=("${n#fuzz_}"); done
fi
BUILD=${CR_FUZZ_BUILD_DIR:-$CR_ROOT/build-fuzz}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cr_configure "$BUILD" -DCMAKE_CXX_COMPILER=clang++-14 -DCOMFY_RUNNER_FUZZ=ON -DCMAKE_CXX_FLAGS="$flags" \
             -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
             -DCOMFY_RUNNER_BUILD_MONITOR=OFF -DCOMFY_RUNNER_BUILD_BENCH=OFF
cmake --build "$BUILD" -j2 --target "${TARGETS[@]/#/fuzz_}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$CR_ROOT/scripts/lsan.supp:print_suppressions=0"
export QT_QPA_PLATFORM=offscreen
mkdir -p "$BUILD/crashes"
failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$BUILD/corpus/$t"
    echo "== fuzz_$t for ${SECONDS_PER_TARGET}s"
    if ! "$BUILD/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t-" \
            "$BUILD/corpus/$t" "$CR_ROOT/fuzz/corpus/$t" 2>"$BUILD/fuzz-$t.log"; then
        failed+=("$t")
        tail -40 "$BUILD/fuzz-$t.log"
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" "$BUILD/fuzz-$t.log" | tail -3 || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "findings in: ${failed[*]} (see $BUILD/crashes/ and $BUILD/fuzz-<target>.log)" >&2
    exit 1
fi
echo "no findings"
