#!/usr/bin/env bash
# Builds the Debian packages (CPack), lints them, installs them with dpkg on this machine, checks what they
# installed (binaries run, the packaged configuration is valid, the systemd unit verifies) and purges them
# again, checking that nothing is left behind.
# Usage: scripts/package-test.sh [BUILD_DIR]   (default build/; the build must be complete)
# Needs root (dpkg -i). Exits 77 (skipped) when not root, or when comfy-runner is already installed on this
# machine and was not installed by this script (it would be purged); CR_PACKAGE_TEST_FORCE=1 overrides that.
set -euo pipefail
CR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$CR_ROOT/build}" && pwd)
say() { echo "package-test: $*"; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { say "skipped: needs root for dpkg -i"; exit 77; }
# Every checkout on this machine (worktrees, parallel ctest runs) installs and purges the same two packages:
# without one machine-wide lock a second run saw the first's install (skipped), or was purged under it, or
# met dpkg's lock (failed). RUN_SERIAL orders only the tests of one ctest run. Held until this script ends
# (cleanup's purge included); the bound stays inside the test's 600 s.
exec 9>/run/lock/comfy-runner-package-test.lock
if ! flock -n 9; then
    say "waiting for another checkout's package test to finish"
    flock -w 420 9 || fail "another package test held /run/lock/comfy-runner-package-test.lock for 420 s"
fi
for p in comfy-runner comfy-runner-monitor; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && [ "${CR_PACKAGE_TEST_FORCE:-0}" != 1 ]; then
        say "skipped: $p is installed on this machine (CR_PACKAGE_TEST_FORCE=1 to test anyway; it will be purged)"
        exit 77
    fi
done

source "$CR_ROOT/scripts/deps.sh"
cr_ensure_packages "${CR_TEST_PACKAGES[@]}"

out=$(mktemp -d)
cleanup() {
    dpkg --purge comfy-runner-monitor comfy-runner >/dev/null 2>&1 || true
    rm -rf "$out"
}
trap cleanup EXIT

say "building the packages"
(cd "$out" && cpack -G DEB -B "$out" --config "$BUILD/CPackConfig.cmake" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack"; }
service_deb=$(ls "$out"/comfy-runner_*.deb)
monitor_deb=$(ls "$out"/comfy-runner-monitor_*.deb 2>/dev/null || true)
debs=("$service_deb")
[ -n "$monitor_deb" ] && debs+=("$monitor_deb")
version=$(dpkg-deb -f "$service_deb" Version)
say "built ${debs[*]##*/} ($version)"

say "lintian"
lintian --fail-on error --tag-display-limit 0 "${debs[@]}" 2>&1 | grep -v 'running with root privileges' || true
lintian --fail-on error "${debs[@]}" >/dev/null 2>&1 || fail "lintian reports errors"

say "dpkg -i"
dpkg -i "${debs[@]}" >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }
dpkg-query -W -f='${Conffiles}\n' comfy-runner | grep -q '/etc/comfy-runner/config.toml' || fail "config.toml is not a conffile"

"/usr/bin/comfy-runner" --version | grep -qx "comfy-runner ${version%-*}" || fail "comfy-runner --version"
/usr/bin/comfy-runner --check-config /etc/comfy-runner/config.toml >"$out/check.log" 2>&1 || { cat "$out/check.log"; fail "--check-config"; }
/usr/bin/comfy-sim --help >/dev/null || fail "comfy-sim --help"
[ -f /usr/share/comfy-runner/workflows/sd15_txt2img.json ] || fail "example workflow missing"
[ -f /usr/share/comfy-runner/grafana/comfy-runner-dashboard.json ] || fail "Grafana dashboard missing"
man -w comfy-runner >/dev/null 2>&1 || [ -f /usr/share/man/man1/comfy-runner.1.gz ] || fail "man page missing"
systemd-analyze verify /lib/systemd/system/comfy-runner.service 2>&1 | tee "$out/verify.log"
if grep -v 'Failed to connect\|System has not been booted\|No such file or directory.*bus' "$out/verify.log" | grep -qi 'comfy-runner'; then
    fail "systemd-analyze verify complains about the unit"
fi
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/comfy-runner.service 2>/dev/null | tail -1 || true)
say "systemd-analyze security: ${exposure:-n/a}"
# The sandbox must stay tight: systemd rates 0 (locked down) to 10 (exposed); 1.3 when this was written.
score=$(grep -o 'level for comfy-runner.service: [0-9.]*' <<<"$exposure" | grep -o '[0-9.]*$' || true)
[ -n "$score" ] || fail "systemd-analyze security gave no score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "the unit's exposure is $score (> 2.0): a sandbox setting was lost"
if [ -n "$monitor_deb" ]; then
    QT_QPA_PLATFORM=offscreen /usr/bin/comfy-runner-monitor --version | grep -qx "comfy-runner-monitor ${version%-*}" || fail "comfy-runner-monitor --version"
    [ -f /usr/share/applications/comfy-runner-monitor.desktop ] || fail "desktop entry missing"
    [ -f /usr/share/icons/hicolor/256x256/apps/comfy-runner.png ] || fail "icon missing"
fi

# What the running service would have left: its state (DynamicUser's private folder) and an env file.
mkdir -p /var/lib/private/comfy-runner && touch /var/lib/private/comfy-runner/jobs.sqlite
ln -sfn private/comfy-runner /var/lib/comfy-runner
echo 'COMFY_RUNNER_TOKEN=x' >/etc/comfy-runner/env

say "dpkg --purge"
files=$(dpkg -L comfy-runner ${monitor_deb:+comfy-runner-monitor} | sort -u)
dpkg --purge comfy-runner-monitor comfy-runner >"$out/purge.log" 2>&1 || { cat "$out/purge.log"; fail "dpkg --purge"; }
left=()
while IFS= read -r f; do
    [ -d "$f" ] && continue # shared folders (/usr/bin, /lib, ...) stay
    if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done <<<"$files"
for f in /etc/comfy-runner /var/lib/comfy-runner /var/lib/private/comfy-runner /usr/share/comfy-runner /usr/share/doc/comfy-runner; do
    if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
say "ok: built, linted, installed, checked and purged ${debs[*]##*/}"
