#!/bin/sh
# Generates the Python stubs this sidecar needs from ../../proto into ./gen (never committed).
# Only the three files a sidecar needs: sidecar.proto and what it imports.
# Usage: examples/python-sidecar/generate.sh   (PYTHON=python3.11 to pick an interpreter)
set -eu
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
# The well-known types (google/protobuf/*.proto) ship with grpcio-tools; ../../proto first.
WKT=$("$PYTHON" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
tmp=$(mktemp -d .gen-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m grpc_tools.protoc -I ../../proto -I "$WKT" \
    --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
    ../../proto/weft/common/v1/common.proto \
    ../../proto/weft/kubelet/v1/pod.proto \
    ../../proto/weft/sidecar/v1/sidecar.proto
chmod 755 "$tmp"
rm -rf gen
mv "$tmp" gen
echo "generated $(find gen -name '*.py' | wc -l) modules in $(pwd)/gen"
