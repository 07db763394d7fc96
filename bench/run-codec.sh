#!/bin/sh
# The codec benchmark: builds codec-bench (Weft and swift-protobuf, release) and the protobuf-c
# benchmark, runs both on this machine and prints one table of ns/op.
#
#   bench/run-codec.sh            full run (~25 s of measurements after the build)
#   bench/run-codec.sh --smoke    very short run for CI: checks that everything builds, that the three
#                                 libraries' encodings decode equal to the same messages, and that the
#                                 table is produced. Its timings mean nothing.
#
# Environment: CC (default cc), SWIFT_BUILD_FLAGS (extra flags for swift build).
set -eu

smoke=
case "${1:-}" in
    --smoke) smoke=--smoke ;;
    "") ;;
    *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
pkg="$root/bench/codec"
cd "$root"

# Weft's generated code comes from this link; it must point at the benchmark's proto.
if ! cmp -s "$pkg/Sources/WeftBenchProtos/bench.proto" "$root/Tests/TestProtos/weft_testing/bench.proto"; then
    echo "error: bench/codec/Sources/WeftBenchProtos/bench.proto differs from Tests/TestProtos/weft_testing/bench.proto" >&2
    exit 1
fi

echo "== building codec-bench (swift build -c release --package-path bench/codec)" >&2
# shellcheck disable=SC2086
nice -n 10 swift build -c release --package-path "$pkg" --product codec-bench ${SWIFT_BUILD_FLAGS:-} >&2
swift_bin="$(swift build -c release --package-path "$pkg" --show-bin-path)/codec-bench"

echo "== building the protobuf-c benchmark (cc -O2 ... -lprotobuf-c)" >&2
mkdir -p "$pkg/.build"
c_bin="$pkg/.build/codec-bench-c"
nice -n 10 "${CC:-cc}" -O2 -Wall -I "$pkg/c" -o "$c_bin" "$pkg/c/bench.c" "$pkg/c/weft_testing/bench.pb-c.c" -lprotobuf-c

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== running (machine: $(nproc) cores, $(uname -m); $(date -u '+%Y-%m-%d %H:%M UTC'))" >&2
"$c_bin" $smoke --dump "$tmp" > "$tmp/c.out"
"$swift_bin" $smoke --check-c "$tmp" > "$tmp/swift.out"
grep -v '^RESULT' "$tmp/swift.out" >&2 || true
cat "$tmp/swift.out" "$tmp/c.out" | grep '^RESULT' > "$tmp/results"
if [ -n "${CODEC_BENCH_RAW:-}" ]; then cp "$tmp/results" "$CODEC_BENCH_RAW"; fi

# RESULT <impl> <shape> <op> <median ns/op> <best ns/op> <bytes> <iterations/batch>
awk -v smoke="$smoke" '
    $1 == "RESULT" { t[$2, $3, $4] = $5; size[$3] = $7 }
    function ns(x) { return x == "" ? "-" : sprintf("%.0f", x) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
    END {
        n = split("pod jobrecord blob", shapes, " ")
        printf "%-10s %-7s %8s %10s %15s %11s %19s %16s  %s\n", "shape", "op", "bytes", "Weft", "swift-protobuf", "protobuf-c", "swift-protobuf/Weft", "Weft/protobuf-c", "targets"
        misses = 0
        for (i = 1; i <= n; i++) {
            s = shapes[i]
            for (j = 1; j <= 2; j++) {
                op = j == 1 ? "encode" : "decode"
                w = t["weft", s, op]; sp = t["swift-protobuf", s, op]; c = t["protobuf-c", s, op]
                verdict = ""
                if (smoke != "") verdict = "(smoke run)"
                else if (s != "blob") {
                    if (sp / w >= 2) verdict = verdict "2x-vs-swift-protobuf:met "
                    else { verdict = verdict "2x-vs-swift-protobuf:MISSED "; misses++ }
                }
                if (smoke != "") {}
                else if (w / c <= 1.5) verdict = verdict "1.5x-of-protobuf-c:met"
                else { verdict = verdict "1.5x-of-protobuf-c:MISSED"; misses++ }
                printf "%-10s %-7s %8s %10s %15s %11s %19s %16s  %s\n", s, op, size[s], ns(w), ns(sp), ns(c), ratio(sp, w), ratio(w, c), verdict
            }
        }
        print ""
        if (smoke == "") print "ns/op: median of 11 batches of ~30 ms each (after calibration); lower is better."
        print "swift-protobuf/Weft > 1: Weft is faster (target >= 2x for pod and jobrecord);"
        print "Weft/protobuf-c < 1.5: Weft is within 1.5x of protobuf-c (target)."
        if (smoke != "") print "SMOKE RUN: very short batches; these timings are not measurements."
        else print misses " target(s) missed."
    }
' "$tmp/results"
