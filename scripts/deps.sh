# Sourced by run.sh and test.sh: makes sure the Debian 12 packages the build needs are installed.
# As root it installs what is missing with apt-get; otherwise it prints the exact command and stops.

CR_PACKAGES=(cmake g++ ccache pkg-config curl qt6-base-dev qt6-httpserver-dev qt6-websockets-dev
             libqt6sql6-sqlite libqt6sql6-psql libtomlplusplus-dev libsystemd-dev xvfb)
# What the tests need on top (test.sh): the package test builds, lints and verifies the Debian packages;
# tests/integrations runs examples/python (websockets) and examples/curl.md (jq); postgresql: the *_pg tests
# start a temporary cluster of their own (scripts/pg-test-cluster.sh).
CR_TEST_PACKAGES=(dpkg-dev lintian systemd python3-websockets jq postgresql)

# cr_ensure_packages [extra packages...]: CR_PACKAGES and the extra ones.
cr_ensure_packages() {
    local missing=()
    local p
    for p in "${CR_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "Installing missing packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
            echo "apt-get install failed" >&2; return 1; }
    else
        echo "Missing packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
}

# cr_ensure_promtool DIR: promtool, which tst_metrics runs on a scrape of /metrics and on the Grafana
# dashboard's queries. Debian ships it only in the prometheus package, whose installation would also start a
# Prometheus server on the machine; so unless promtool is on PATH already, it is taken out of that package's
# .deb (apt-get download, no installation) into DIR, and DIR/usr/bin is put on PATH.
cr_ensure_promtool() {
    local dir=$1
    command -v promtool >/dev/null 2>&1 && return 0
    if [ ! -x "$dir/usr/bin/promtool" ]; then
        mkdir -p "$dir"
        rm -f "$dir"/prometheus_*.deb
        ( cd "$dir" && { apt-get download -qq prometheus 2>/dev/null \
              || { [ "$(id -u)" -eq 0 ] && apt-get update -qq && apt-get download -qq prometheus; }; } ) >/dev/null \
            && dpkg-deb -x "$dir"/prometheus_*.deb "$dir" && rm -f "$dir"/prometheus_*.deb || {
            echo "could not fetch promtool (apt-get download prometheus); tst_metrics will skip its promtool checks" >&2
            return 0; }
    fi
    export PATH="$dir/usr/bin:$PATH"
}

# cr_ensure_nodejs: node and npm for tests/integrations (tst_node_red installs Node-RED 4 with npm; it needs
# Node.js >= 18.5). A node that is on PATH with its npm (e.g. NodeSource's nodejs, which carries npm and
# conflicts with Debian's npm package) is used as it is; otherwise Debian's nodejs and npm are installed.
cr_ensure_nodejs() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
    cr_ensure_packages nodejs npm
}

# cr_configure BUILD_DIR [cmake args...]
cr_configure() {
    local dir=$1; shift
    cmake -S "$CR_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
}
