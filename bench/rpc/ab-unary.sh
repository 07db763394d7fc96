#!/usr/bin/env bash
# A/B of unary server builds: each round runs every given `weft` binary in turn (interop-server on
# a loopback port, 20,000 warm-up requests, then 200,000 timed with h2load -c 16 -m 10), and prints
# req/s and the server's CPU per request (user+system from /proc, timed requests only). Medians at
# the end. On a shared VM, runs of one binary move by about ±10%; compare medians of rounds.
#
#   bench/rpc/ab-unary.sh [--rounds N] WEFT_BINARY...
set -euo pipefail
rounds=3
if [ "${1:-}" = "--rounds" ]; then rounds=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [--rounds N] WEFT_BINARY..." >&2; exit 2; }
command -v h2load >/dev/null || { echo "h2load not found (apt-get install nghttp2-client)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '\0\0\0\0\2\x10\x10' > "$tmp/request"   # framed SimpleRequest{response_size: 16}
url_path=/grpc.testing.TestService/UnaryCall
port=${RPC_BENCH_PORT:-19380}

one() {  # one binary, one run: prints "req/s cpu_us_per_req"
    "$1" interop-server --port "$port" >/dev/null 2>&1 & local pid=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    local h=(h2load -d "$tmp/request" -H "content-type: application/grpc" -H "te: trailers" -c 16 -m 10)
    "${h[@]}" -n 20000 "http://127.0.0.1:$port$url_path" >/dev/null
    local t0 t1 out
    t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    out=$("${h[@]}" -n 200000 "http://127.0.0.1:$port$url_path")
    t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    grep -q "200000 succeeded" <<<"$out" || { echo "$1: h2load did not get 200000 successes:" >&2; echo "$out" >&2; exit 1; }
    local rps; rps=$(grep -oP 'finished in [\d.]+m?s, \K[\d.]+' <<<"$out")
    echo "$rps $(( (t1 - t0) * 10000 / 200000 )).$(( (t1 - t0) * 10000 % 200000 * 100 / 200000 ))"
}

declare -A runs
for r in $(seq "$rounds"); do
    for b in "$@"; do
        res=$(one "$b"); runs[$b]+="$res;"
        printf 'round %d  %-40s %10s req/s  %6s µs CPU/req\n' "$r" "$b" $res
    done
done
echo "medians of $rounds rounds:"
for b in "$@"; do
    python3 - "$b" "${runs[$b]}" <<'PY'
import statistics, sys
pairs = [p.split() for p in sys.argv[2].split(";") if p]
print(f"  {sys.argv[1]:<40} {statistics.median(float(p[0]) for p in pairs):10.0f} req/s  {statistics.median(float(p[1]) for p in pairs):6.2f} µs CPU/req")
PY
done
