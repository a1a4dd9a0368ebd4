#!/usr/bin/env bash
# The product's own reads under load, beside the hello component in the same
# run: `skyport up --sandbox` serves the app, bench/seed.py fills its
# organization through the API, and
# wrk loads GET /api/v1/accounts, /api/v1/servers, /api/v1/operations/{id}
# (a finished one) and / (the console) on 127.0.0.1. Prints requests/s, p50
# and p99 for each, and each one's ratio to hello's requests/s.
#
# Three organizations: 1 account and server, 50 of each (one whole page)
# and ROWS of each. The 50-row one's list is the same answer as the ROWS
# one's first page, so their ratio is what the organization's size costs;
# the 1-row one's list is one item.
#
#   bench/app.sh [DURATION_SECONDS] [CONNECTIONS] [ROWS]
#
# The app is spin.toml without its cron trigger (written next to it as
# .bench-spin.toml, removed at the end): the background jobs would otherwise
# work on the seeded servers during the measurement. Installs wrk if missing.
#
# Seeding 10,000 rows through the API takes about half an hour on two cores.
# With SKYPORT_BENCH_STATE=DIR the seeded state directories are kept in DIR
# and a later run (of the same or a later build: the app migrates the
# database on open) measures against them without seeding again. Besides
# each list's default page (50), every organization is also read a page of
# one row at a time (`?limit=1`), the same work per answer at every size.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
ROWS="${3:-10000}"
OUT=bench/results
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --release --quiet -p skyport
cargo build --quiet --target wasm32-wasip2 --profile wasm -p hello
target/release/skyport build --from spin.toml >/dev/null

WORK=$(mktemp -d)
MANIFEST=.bench-spin.toml
# Every table but [[trigger.cron]].
awk '/^\[/{skip = ($0 == "[[trigger.cron]]")} !skip' spin.toml > "$MANIFEST"
cat > "$WORK/hello.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "$PWD/target/wasm32-wasip2/wasm/hello.wasm"
TOML

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK" "$MANIFEST"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; return 1; }

# measure NAME URL [HEADER] -> "$OUT/app-NAME.txt"
measure() {
  local name=$1 url=$2; shift 2
  wrk -t2 -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" > "$OUT/app-$name.txt"
}

P=$(free_port)
SKYPORT_LOG=warn target/release/skyport up --from "$WORK/hello.toml" --listen "127.0.0.1:$P" --cache-dir "$WORK/cache" >/dev/null 2>&1 & PIDS+=($!)
wait_up "$P"; measure hello "http://127.0.0.1:$P/"; kill "${PIDS[-1]}"

for rows in 1 50 "$ROWS"; do
  P=$(free_port)
  STATE="${SKYPORT_BENCH_STATE:-$WORK}/state-$rows"
  SKYPORT_LOG=warn target/release/skyport up --sandbox --from "$MANIFEST" --listen "127.0.0.1:$P" \
    --state-dir "$STATE" --cache-dir "$WORK/cache" > "$WORK/up-$rows.log" 2>&1 & PIDS+=($!)
  wait_up "$P"
  EMULATOR=$(sed -n 's/^Sandbox: the Azure emulator serves \([^ ]*\).*/\1/p' "$WORK/up-$rows.log")
  KEY=$(cat "$STATE/sandbox-api-key")
  if [ -s "$STATE/bench-seed.json" ]; then
    echo "Reusing the seeded organization in $STATE" >&2
  else
    echo "Seeding $rows account(s) and server(s)…" >&2
    python3 bench/seed.py --app "http://127.0.0.1:$P" --emulator "$EMULATOR" --key "$KEY" \
      --accounts "$rows" --servers "$rows" > "$WORK/seed.json"
    mv "$WORK/seed.json" "$STATE/bench-seed.json"
  fi
  tee "$OUT/app-seed-$rows.json" < "$STATE/bench-seed.json" >&2
  OP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["finished_operation"])' "$OUT/app-seed-$rows.json")
  AUTH=(-H "Authorization: Bearer $KEY")
  measure "accounts-$rows" "http://127.0.0.1:$P/api/v1/accounts" "${AUTH[@]}"
  measure "servers-$rows" "http://127.0.0.1:$P/api/v1/servers" "${AUTH[@]}"
  measure "accounts1-$rows" "http://127.0.0.1:$P/api/v1/accounts?limit=1" "${AUTH[@]}"
  measure "servers1-$rows" "http://127.0.0.1:$P/api/v1/servers?limit=1" "${AUTH[@]}"
  measure "operation-$rows" "http://127.0.0.1:$P/api/v1/operations/$OP" "${AUTH[@]}"
  measure "console-$rows" "http://127.0.0.1:$P/"
  kill "${PIDS[-1]}"
done

python3 - "$OUT" "$ROWS" <<'PY'
import re, sys, pathlib
out, rows = pathlib.Path(sys.argv[1]), sys.argv[2]
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
def read(name):
    t = (out / f"app-{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", t).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", t).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return rps, p50, p99, int(errors.group(1)) if errors else 0
hello = read("hello")
print(f"{'request':<34}{'rows':>7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'/hello':>8}")
print(f"{'GET / (hello component)':<34}{'-':>7}{hello[0]:>10.0f}{hello[1]:>9.2f}{hello[2]:>9.2f}{hello[3]:>9}{1:>8.2f}")
names = [("accounts", "GET /api/v1/accounts"), ("servers", "GET /api/v1/servers"),
         ("accounts1", "GET /api/v1/accounts?limit=1"), ("servers1", "GET /api/v1/servers?limit=1"),
         ("operation", "GET /api/v1/operations/{id}"), ("console", "GET / (console)")]
for key, label in names:
    rps = {}
    for n in ["1", "50", rows]:
        r = read(f"{key}-{n}")
        rps[n] = r[0]
        print(f"{label:<34}{n:>7}{r[0]:>10.0f}{r[1]:>9.2f}{r[2]:>9.2f}{r[3]:>9}{r[0] / hello[0]:>8.2f}")
    for n in ["1", "50"]:
        print(f"{'':<34}{rows + ' / ' + n:>7}{rps[rows] / rps[n]:>10.2f}")
PY
