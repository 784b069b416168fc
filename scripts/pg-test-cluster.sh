#!/usr/bin/env bash
# Runs one command against a temporary PostgreSQL cluster of its own, then removes the cluster.
# Usage: scripts/pg-test-cluster.sh COMMAND [ARGS...]
#
# The cluster: initdb + postgres from Debian's postgresql-15 (/usr/lib/postgresql/15/bin, or CR_PG_BIN),
# listening only on 127.0.0.1 on a free port, its Unix socket and its data in a temporary folder, run as
# `nobody` when this script runs as root (PostgreSQL refuses to run as root). The server is this script's
# child: it is stopped and the folder removed when the command ends or this script is interrupted (trap),
# and CTest's kill of a timed-out test's process tree takes the server with it.
# The command gets:
#   CR_TEST_PG_URL       postgresql://cr_test@127.0.0.1:PORT/postgres
#   CR_TEST_PG_PASSWORD  the role's password (random; give it as COMFY_RUNNER_DB_PASSWORD)
#   CR_TEST_PG_RESTART   a command that restarts the server in place (same port, same data); with "stop" or
#                        "start" it does only that half
# Without PostgreSQL's binaries the exit status is 77 (CTest: skipped), or 1 when CI=true: a CI run must
# never silently skip the PostgreSQL tests.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

PG_BIN=${CR_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: PostgreSQL binaries not found in $PG_BIN (install postgresql-15: scripts/deps.sh)" >&2
        exit 1
    fi
    echo "SKIP: PostgreSQL binaries not found in $PG_BIN (install postgresql-15); set CI=true to fail instead" >&2
    exit 77
fi

base=${TMPDIR:-/tmp}
[ -w "$base" ] || base=/tmp
DIR=$(mktemp -d "$base/cr-pg.XXXXXX")
chmod 0755 "$DIR" # the unprivileged server must reach its folder
AS=()
if [ "$(id -u)" -eq 0 ]; then
    chown nobody:nogroup "$DIR"
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
SERVER_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -f "$DIR/data/postmaster.pid" ]; then
        "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PASSWORD" >"$DIR/pwfile"
[ ${#AS[@]} -eq 0 ] || chown nobody:nogroup "$DIR/pwfile"
"${AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -U cr_test --pwfile="$DIR/pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
rm -f "$DIR/pwfile"

# A free port: the server binds it itself; on a collision it exits at once and the next port is tried.
# Ready is the server's own "ready to accept connections" line in its log (lc_messages=C: in English), written
# once it listens; a server that has not said it within 30 s is stopped.
. "$(dirname "${BASH_SOURCE[0]}")/wait-for-line.sh"
start_server() { # port
    local from
    from=$(stat -c %s "$DIR/server.log" 2>/dev/null || echo 0)
    "${AS[@]}" "$PG_BIN/postgres" -D "$DIR/data" -p "$1" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories="$DIR" -c fsync=off -c full_page_writes=off -c max_connections=200 \
        -c lc_messages=C >>"$DIR/server.log" 2>&1 &
    SERVER_PID=$!
    if cr_wait_for_line "$DIR/server.log" 'database system is ready to accept connections' "$SERVER_PID" 30 \
        "$from" >/dev/null; then
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -t 5 && return 0
    fi
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    return 1
}
PORT=
for attempt in $(seq 1 20); do
    candidate=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if start_server "$candidate"; then PORT=$candidate; break; fi
done
[ -n "$PORT" ] || { echo "FAIL: the temporary PostgreSQL did not start:" >&2; cat "$DIR/server.log" >&2; exit 1; }

# The restart a test can ask for: an immediate stop (a crash, as the clients see it) and a start in place;
# "stop" or "start" alone leave the database away for as long as the test wants.
cat >"$DIR/restart.sh" <<RESTART
#!/usr/bin/env bash
set -e
what=\${1:-restart}
if [ "\$what" != start ]; then
    ${AS[*]} "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null
fi
if [ "\$what" != stop ]; then
    ${AS[*]} "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/restart.log" -w -t 30 \\
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c fsync=off -c max_connections=200" \\
        start >/dev/null
fi
RESTART
chmod 0755 "$DIR/restart.sh"

export CR_TEST_PG_URL="postgresql://cr_test@127.0.0.1:$PORT/postgres"
export CR_TEST_PG_PASSWORD="$PASSWORD"
export CR_TEST_PG_RESTART="$DIR/restart.sh"
set +e
"$@"
rc=$?
set -e
exit $rc
