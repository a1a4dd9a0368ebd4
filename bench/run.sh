#!/usr/bin/env bash
# Serves the same hello component with `skyport up` and `wasmtime serve`, and
# a native hyper server, then loads each in turn with wrk on 127.0.0.1 and
# prints requests/s, p50 and p99 for each and the ratios.
#
#   bench/run.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Installs what it lacks: wrk (Debian) and wasmtime-cli 48.0.8 (crates.io;
# about 15 minutes on two cores). SKYPORT_BENCH_WASMTIME=0 leaves `wasmtime
# serve` out, to compare skyport with the native server alone.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
OUT=bench/results
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WASMTIME="${SKYPORT_BENCH_WASMTIME:-1}"
if [ "$WASMTIME" != 0 ] && ! wasmtime --version 2>/dev/null | grep -q "48.0.8"; then
  echo "Installing wasmtime-cli 48.0.8 (once; this takes a while)"
  cargo install wasmtime-cli@48.0.8 --locked --quiet
fi
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true

cargo build --release --quiet -p skyport -p native-hello
cargo build --quiet --target wasm32-wasip2 --profile wasm -p hello
HELLO=target/wasm32-wasip2/wasm/hello.wasm
APP=$(mktemp -d)
cat > "$APP/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "$PWD/$HELLO"
TOML

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; return 1; }

# measure NAME PORT -> writes "$OUT/NAME.txt"
measure() {
  wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$2/" >/dev/null        # warm-up
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$2/" > "$OUT/$1.txt"
}

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$APP"' EXIT

P=$(free_port); SKYPORT_LOG=warn target/release/skyport up --from "$APP/spin.toml" --listen "127.0.0.1:$P" --cache-dir "$APP/cache" >/dev/null 2>&1 & PIDS+=($!)
wait_up "$P"; measure skyport "$P"; kill "${PIDS[-1]}"

if [ "$WASMTIME" != 0 ]; then
  P=$(free_port); wasmtime serve -Scli --addr "127.0.0.1:$P" "$HELLO" >/dev/null 2>&1 & PIDS+=($!)
  wait_up "$P"; measure wasmtime-serve "$P"; kill "${PIDS[-1]}"
fi

P=$(free_port); target/release/native-hello "127.0.0.1:$P" >/dev/null 2>&1 & PIDS+=($!)
wait_up "$P"; measure native "$P"; kill "${PIDS[-1]}"

python3 - "$OUT" "$WASMTIME" <<'PY'
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rows = {}
names = ["skyport", "wasmtime-serve", "native"] if sys.argv[2] != "0" else ["skyport", "native"]
for name in names:
    t = (out / f"{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", t).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", t).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    rows[name] = (rps, p50, p99, int(errors.group(1)) if errors else 0)
print(f"{'server':<16}{'req/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
for name, (rps, p50, p99, err) in rows.items():
    print(f"{name:<16}{rps:>12.0f}{p50:>10.3f}{p99:>10.3f}{err:>10}")
s, n = rows["skyport"], rows["native"]
print()
if "wasmtime-serve" in rows:
    w = rows["wasmtime-serve"]
    print(f"skyport / wasmtime serve: {s[0]/w[0]:.2f}x req/s, p99 {s[2]/w[2]:.2f}x")
print(f"skyport / native:         {s[0]/n[0]:.2f}x req/s, p99 {s[2]/n[2]:.2f}x")
PY
