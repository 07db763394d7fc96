#!/usr/bin/env python3
"""Runs every hostile-peer attack against a fresh `weft up` each and prints the results.

    python3 Tests/hostile/run_all.py [--bin PATH] [--only NAME ...]
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import weft_hostile as wh  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(wh.weft_binary()))
    ap.add_argument("--only", nargs="*", help="substrings of attack function names")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    wh.raise_nofile(20000)
    failed = 0
    for attack in wh.ATTACKS:
        if args.only and not any(o in attack.__name__ for o in args.only):
            continue
        server = wh.WeftServer(Path(args.bin)).start()
        t0 = time.monotonic()
        try:
            result = attack(server)
        finally:
            rc = server.stop()
        result.metrics["wall_s"] = round(time.monotonic() - t0, 1)
        result.expect(rc == 0, f"server exit status {rc} after SIGINT")
        failed += not result.ok
        print(json.dumps(result.__dict__, default=str) if args.json else result.line(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
