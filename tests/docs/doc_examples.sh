#!/usr/bin/env bash
# Runs every curl example of README.md and docs/api.md against a real comfy-runner (ports 0) in front of
# comfy-sim, so that the documentation cannot drift from the service.
#  - README examples must succeed (HTTP 2xx); `localhost:8189` and `<job id>` are substituted.
#  - docs/api.md examples (with $API, $T, $ID) must reach a route: no 5xx except the documented 502 of
#    /generate/image (no Node-RED here), and never "no route".
# Usage: doc_examples.sh COMFY_RUNNER COMFY_SIM SOURCE_DIR
set -uo pipefail
runner=$1 sim=$2 src=$3
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

. "$src/scripts/wait-for-line.sh"
wait_for() { # file pattern pid: the line as the process writes it, within 15 s
    cr_wait_for_line "$1" "$2" "$3" 15 >/dev/null && return 0
    echo "no '$2' in $1 within 15 s (or process $3 ended):"; cat "$1"; return 1
}

"$sim" --port 0 --steps 3 --step-ms 5 --node-ms 0 --preview-size 64 >"$work/sim.log" 2>&1 &
pids+=($!)
wait_for "$work/sim.log" 'http://127\.0\.0\.1:[0-9]+' "${pids[-1]}" || exit 1
sim_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -1)

token=doc-example-token
COMFY_RUNNER_TOKEN=$token "$runner" "$src/config_example.toml" --comfy-url "$sim_url" --http-port 0 --relay-port 0 \
    --data-dir "$work/data" >"$work/runner.log" 2>&1 &
pids+=($!)
wait_for "$work/runner.log" 'ComfyUI connected' "${pids[-1]}" || exit 1
api=$(grep -o 'REST API on http://[0-9.]*:[0-9]*' "$work/runner.log" | head -1 | sed 's/REST API on //')
hostport=${api#http://}
failures=0

run_example() { # description, command, mode (strict|route)
    local out status code
    out=$(cd "$work" && eval "$2 -w '\n%{http_code}'" 2>&1)
    status=$(tail -n1 <<<"$out")
    code=$(grep -o '"code":"[a-z_]*"' <<<"$out" | head -1)
    if [ "$3" = strict ]; then
        if [[ ! $status =~ ^2 ]]; then echo "FAIL ($status) $1"; echo "$out" | head -5; failures=$((failures+1)); return; fi
    else
        if [[ $status =~ ^5 && ! ( $status = 502 && $1 == *generate/image* ) ]] || [ "$code" = '"code":"not_found"' ] || [ "$status" = 000 ]; then
            echo "FAIL ($status $code) $1"; echo "$out" | head -5; failures=$((failures+1)); return
        fi
    fi
    echo "ok   ($status) $1"
}

# README: the example block of "A first run without a GPU", with the token the service now requires.
job_id=""
while IFS= read -r line; do
    cmd=${line//localhost:8189/$hostport}
    cmd="${cmd%%#*}"
    [ -z "${cmd// }" ] && continue
    cmd=${cmd/curl -s/curl -s -H \"Authorization: Bearer $token\"}
    if [[ $cmd == *'<job id>'* ]]; then
        cmd=${cmd//<job id>/$job_id}
    fi
    run_example "README: $line" "$cmd" strict
    if [[ $line == *api/v1/jobs* && -z $job_id ]]; then
        job_id=$(cd "$work" && eval "$cmd" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
    fi
done < <(awk '/^## A first run without a GPU/{s=1} s&&/^```sh/{f=1;next} f&&/^```/{exit} f' "$src/README.md" |
         sed -e ':a' -e '/\\$/N; s/\\\n *//; ta')
[ -n "$job_id" ] || { echo "FAIL: the README's job example gave no job id"; failures=$((failures+1)); }

# docs/api.md: every sh block.
cp "$work/out.png" "$work/cat.png" 2>/dev/null || printf 'x' >"$work/cat.png"
export API=$api T=$token ID=$job_id
while IFS= read -r line; do
    [ -z "${line// }" ] && continue
    [[ $line == curl* ]] || continue
    cmd=${line/curl -sN/curl -sN --max-time 3}
    run_example "api.md: $line" "$cmd" route
done < <(awk '/^```sh/{f=1;next} /^```/{f=0} f' "$src/docs/api.md" | sed -e ':a' -e '/\\$/N; s/\\\n *//; ta')

echo "$failures failed"
[ $failures -eq 0 ]
