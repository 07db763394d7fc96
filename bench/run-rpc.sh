#!/bin/sh
# The RPC benchmark: unary QPS/latency (h2load) of Weft's gRPC server against nghttpd (the HTTP/2
# ceiling), a gRPC C++ server and a Python grpcio server; server-streaming throughput of Weft's
# server and the gRPC C++ server to Weft's Swift client and a grpcio client. Everything on loopback,
# in one run on this machine; prints tables with ratios (bench/README.md, section "RPC").
#
#   bench/run-rpc.sh                 full run: 3 interleaved runs (~5 min of measurement after the builds)
#   bench/run-rpc.sh --smoke         CI: builds, starts every server, checks each answers correctly,
#                                    tiny loads; its timings mean nothing
#   bench/run-rpc.sh --runs 3 --duration 5 --stream-repeat 5 --grpcio-stream-repeat 2 --cpp-mode callback|sync
#                                    (options of bench/rpc/run.py; these are the defaults)
#
# Environment:
#   WEFT_BIN               use this weft binary instead of building (swift build -c release --product
#                          weft --scratch-path .build-release)
#   RPC_BENCH_SWIFT_CLIENT use this rpc-bench-client binary instead of building bench/rpc/swift-client
#   RPC_BENCH_INSTALL=0    never apt-get install missing peers (default: try, as root, then skip if it fails)
#   RPC_BENCH_PORT         first of the 4 loopback ports used (default 19300)
#   SWIFT_BUILD_FLAGS      extra flags for swift build
set -eu

smoke=
for arg in "$@"; do [ "$arg" = --smoke ] && smoke=1; done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rpc="$root/bench/rpc"

can_install() { [ "${RPC_BENCH_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_install() {
    echo "== apt-get install -y $*" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; }
}

# ---- peers (skipped with a message when missing and not installable)
if ! command -v h2load >/dev/null || ! command -v nghttpd >/dev/null; then
    can_install && apt_install nghttp2-client nghttp2-server || true
fi
command -v h2load >/dev/null || echo "skip: h2load unavailable (nghttp2-client): no unary measurement" >&2
command -v nghttpd >/dev/null || echo "skip: nghttpd unavailable (nghttp2-server): no HTTP/2 ceiling" >&2
if ! pkg-config --exists grpc++ protobuf 2>/dev/null || ! command -v grpc_cpp_plugin >/dev/null || ! command -v protoc >/dev/null; then
    can_install && apt_install libgrpc++-dev protobuf-compiler-grpc protobuf-compiler pkg-config g++ || true
fi
python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
    echo "skip: Python grpcio/grpcio-tools missing (pip install grpcio grpcio-tools): no grpcio server or client" >&2

# ---- the gRPC C++ server: protoc --cpp_out --grpc_out + g++ -O2, rebuilt when its inputs change
cpp_bin=
if pkg-config --exists grpc++ protobuf 2>/dev/null && command -v grpc_cpp_plugin >/dev/null && command -v protoc >/dev/null; then
    out="$rpc/cpp/.build-rpc"
    protos="grpc/testing/empty.proto grpc/testing/messages.proto grpc/testing/test.proto"
    stale=
    [ -x "$out/server" ] || stale=1
    for f in "$rpc/cpp/server.cc" $(for p in $protos; do echo "$root/proto/$p"; done); do
        [ -n "$stale" ] || [ "$f" -nt "$out/server" ] && stale=1
    done
    if [ -n "$stale" ]; then
        echo "== building the gRPC C++ server (protoc --grpc_out --cpp_out; g++ -O2; gRPC $(pkg-config --modversion grpc++))" >&2
        rm -rf "$out" && mkdir -p "$out/gen"
        # shellcheck disable=SC2086
        protoc -I "$root/proto" --cpp_out="$out/gen" --grpc_out="$out/gen" \
            --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" $protos
        # shellcheck disable=SC2046
        if nice -n 10 g++ -O2 -std=c++17 -I "$out/gen" -o "$out/server.tmp" "$rpc/cpp/server.cc" "$out"/gen/grpc/testing/*.cc \
            $(pkg-config --cflags --libs grpc++ protobuf); then
            mv "$out/server.tmp" "$out/server"
        else
            echo "skip: the gRPC C++ server did not build" >&2
        fi
    fi
    [ -x "$out/server" ] && cpp_bin="$out/server"
else
    echo "skip: gRPC C++ unavailable (libgrpc++-dev, protobuf-compiler-grpc): no gRPC C++ server" >&2
fi

# ---- Weft (release) and the Swift client
if [ -n "${WEFT_BIN:-}" ]; then
    weft_bin="$WEFT_BIN"
else
    echo "== building weft (swift build -c release --product weft --scratch-path .build-release)" >&2
    # shellcheck disable=SC2086
    nice -n 10 swift build -c release --product weft --scratch-path "$root/.build-release" ${SWIFT_BUILD_FLAGS:-} >&2
    weft_bin="$root/.build-release/release/weft"
fi
if [ -n "${RPC_BENCH_SWIFT_CLIENT:-}" ]; then
    client_bin="$RPC_BENCH_SWIFT_CLIENT"
else
    echo "== building the Swift client (bench/rpc/swift-client, release)" >&2
    client_bin=
    # shellcheck disable=SC2086
    if nice -n 10 swift build -c release --package-path "$rpc/swift-client" --scratch-path "$rpc/swift-client/.build-release" \
        --product rpc-bench-client ${SWIFT_BUILD_FLAGS:-} >&2; then
        client_bin="$rpc/swift-client/.build-release/release/rpc-bench-client"
    else
        echo "skip: bench/rpc/swift-client did not build: no Weft client" >&2
    fi
fi

echo "== running (machine: $(nproc) cores, $(uname -m); weft $weft_bin)" >&2
exec python3 "$rpc/run.py" --weft "$weft_bin" --swift-client "$client_bin" --cpp-server "$cpp_bin" "$@"
