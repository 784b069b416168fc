#!/usr/bin/env bash
# Builds everything and runs every test (CTest). Usage: ./scripts/test.sh [extra ctest arguments]
set -euo pipefail
CR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$CR_ROOT/scripts/deps.sh"
cr_ensure_packages "${CR_TEST_PACKAGES[@]}"
BUILD=${CR_BUILD_DIR:-$CR_ROOT/build}
cr_configure "$BUILD"
cmake --build "$BUILD" -j2
export QT_QPA_PLATFORM=offscreen
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
