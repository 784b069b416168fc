# shellcheck shell=bash
# Sourced by the test scripts (tests/docs/doc_examples.sh, scripts/pg-test-cluster.sh): a wait for a line that a
# child process writes to its log, without sleeping.
#
# cr_wait_for_line FILE PATTERN PID SECONDS [OFFSET]
#   Prints the first line of FILE (from byte OFFSET on, default 0) that matches the extended regular expression
#   PATTERN and returns 0 as soon as it is written; returns 1 when process PID ends without writing it or
#   after SECONDS. GNU tail -F follows the file (woken by inotify on each write; --pid ends it when PID has
#   gone), grep stops at the first match, timeout bounds the whole.
cr_wait_for_line() {
    local file=$1 pattern=$2 pid=$3 seconds=$4 offset=${5:-0} line fd follower rc=1
    exec {fd}< <(exec timeout "$seconds" tail -c +$((offset + 1)) -F --pid="$pid" -- "$file" 2>/dev/null)
    follower=$!
    line=$(grep -E -m1 -- "$pattern" <&"$fd") && rc=0
    exec {fd}<&-
    kill "$follower" 2>/dev/null || true # timeout passes it on to tail
    [ "$rc" -ne 0 ] || printf '%s\n' "$line"
    return "$rc"
}
