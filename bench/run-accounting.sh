#!/usr/bin/env bash
# Accounting ingestion (release build): 1,000,000 job records streamed by one publisher to
# `weft up`, against row-by-row INSERT … ON CONFLICT into SQLite. `--smoke`: 20,000 records,
# debug build, no timing claims.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--smoke" ]; then
  swift build --product weft
  python3 bench/accounting/run.py --records 20000 --weft .build/debug/weft
  exit 0
fi
swift build -c release --product weft --scratch-path .build-release
python3 bench/accounting/run.py --records "${RECORDS:-1000000}" --weft .build-release/release/weft
