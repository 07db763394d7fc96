#!/usr/bin/env python3
"""The grpcio client of the RPC benchmark (bench/run-rpc.sh).

  grpcio_client.py check  --port P [--size 16]
      one UnaryCall asking for `size` payload bytes; checks status OK and the payload size; prints the
      serialized response size.
  grpcio_client.py stream --port P --count N --size S [--repeat R]
      one short warm-up call, then R StreamingOutputCalls each asking for N messages of S bytes; checks
      count and sizes; prints per call:
      RESULT client=grpcio messages=N bytes=B seconds=T msgs_per_s=... mb_per_s=...   (MB = 10^6 B)

Stubs come from Tests/interop/interop_stubs.py (generated from proto/ at run time into a cache).
"""
import argparse
import sys
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "interop"))
import interop_stubs  # noqa: E402

_, messages, test = interop_stubs.load()


def stub_for(channel):
    import importlib
    mod = importlib.import_module(f"{interop_stubs.PACKAGE}.grpc.testing.test_pb2_grpc")
    return mod.TestServiceStub(channel)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "stream"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    # No receive limit surprises for 64 KiB messages (the default 4 MiB is per message anyway).
    with grpc.insecure_channel(f"{a.host}:{a.port}") as ch:
        stub = stub_for(ch)
        if a.mode == "check":
            resp, call = stub.UnaryCall.with_call(
                messages.SimpleRequest(response_size=a.size), timeout=a.timeout)
            if call.code() != grpc.StatusCode.OK or len(resp.payload.body) != a.size:
                print(f"check: status {call.code()} body {len(resp.payload.body)}", file=sys.stderr)
                return 1
            print(f"OK response_bytes={resp.ByteSize()} grpc_frame_bytes={resp.ByteSize() + 5}")
            return 0

        def req(n):
            return messages.StreamingOutputCallRequest(
                response_parameters=[messages.ResponseParameters(size=a.size)] * n)

        def run(r, n):
            got = 0
            total = 0
            for m in stub.StreamingOutputCall(r, timeout=a.timeout):
                if len(m.payload.body) != a.size:
                    raise RuntimeError(f"message {got} has {len(m.payload.body)} bytes, expected {a.size}")
                got += 1
                total += len(m.payload.body)
            if got != n:
                raise RuntimeError(f"got {got} messages, expected {n}")
            return total

        run(req(min(a.count, 100)), min(a.count, 100))
        r = req(a.count)
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            total = run(r, a.count)
            s = time.perf_counter() - t0
            print(f"RESULT client=grpcio messages={a.count} bytes={total} seconds={s:.4f} "
                  f"msgs_per_s={int(a.count / s)} mb_per_s={total / s / 1e6:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
