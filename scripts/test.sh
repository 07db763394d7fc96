#!/usr/bin/env bash
# Runs every Weft test: the Swift suites (parser vs protoc, codecs vs protoc and protobuf-c, RPC
# core, services) and the Python checks of the IDL (protoc, grpcio-tools stubs, doc comments).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
python3 -m pytest -q Tests/python
