#!/usr/bin/env bash
# Builds comfy-runner and starts it. Usage:
#   ./scripts/run.sh [--sim] [comfy-runner arguments...]
# --sim also starts the bundled ComfyUI simulator (comfy-sim) on a free port and points the service at it,
# so everything can be tried without a GPU. Ctrl-C stops both.
set -euo pipefail
CR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$CR_ROOT/scripts/deps.sh"
cr_ensure_packages
BUILD=${CR_BUILD_DIR:-$CR_ROOT/build}

sim=0
args=()
for a in "$@"; do
    if [ "$a" = "--sim" ]; then sim=1; else args+=("$a"); fi
done

cr_configure "$BUILD"
cmake --build "$BUILD" -j2 --target comfy-runner comfy-sim

config=()
[ -f "$CR_ROOT/config.toml" ] && config=(--config "$CR_ROOT/config.toml") || config=(--config "$CR_ROOT/config_example.toml")

simpid=""
simlog=""
runner=""
cleanup() {
    [ -n "$runner" ] && kill "$runner" 2>/dev/null
    [ -n "$simpid" ] && kill "$simpid" 2>/dev/null
    [ -n "$simlog" ] && rm -f "$simlog"
    true
}
trap cleanup EXIT

if [ $sim -eq 1 ]; then
    simlog=$(mktemp)
    "$BUILD/tools/comfy-sim/comfy-sim" --port 0 >"$simlog" 2>&1 &
    simpid=$!
    for _ in $(seq 1 100); do
        url=$(grep -o 'http://[0-9.:]*' "$simlog" | head -1 || true)
        [ -n "$url" ] && break
        kill -0 $simpid 2>/dev/null || { cat "$simlog" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$url" ] || { echo "comfy-sim did not start" >&2; cat "$simlog" >&2; exit 1; }
    echo "comfy-sim (simulated ComfyUI) at $url"
    args=(--comfy-url "$url" "${args[@]}")
fi

cd "$CR_ROOT"
"$BUILD/src/app/comfy-runner" "${config[@]}" "${args[@]}" &
runner=$!
trap 'kill -INT $runner 2>/dev/null' INT TERM
wait $runner || true
wait $runner 2>/dev/null || true
