#!/usr/bin/env bash
# Pods through the kubelet API and the local sandbox sidecar (release build): throughput unpaced,
# then exit -> watcher latency at a pace the machine sustains. `--smoke`: 50 pods, debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--smoke" ]; then
  swift build --product weft
  python3 bench/pods/run.py --pods 50 --concurrency 8 --weft .build/debug/weft
  exit 0
fi
swift build -c release --product weft --scratch-path .build-release
bin=.build-release/release/weft
echo "== throughput: 1000 pods, 32 creates in flight"
python3 bench/pods/run.py --pods 1000 --concurrency 32 --weft "$bin"
echo "== latency: 1000 pods at 40 pods/s"
python3 bench/pods/run.py --pods 1000 --concurrency 32 --rate 40 --weft "$bin"
