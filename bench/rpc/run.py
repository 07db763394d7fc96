#!/usr/bin/env python3
"""Runs the RPC benchmark and prints its tables; bench/run-rpc.sh builds what it needs and calls this.

Unary: h2load -c 16 -m 10 posting a pre-framed grpc.testing.SimpleRequest{response_size: 16} (so every
response message is a 25-byte gRPC frame) to /grpc.testing.TestService/UnaryCall on Weft, nghttpd (a
25-byte static file at that path: the HTTP/2 ceiling), a gRPC C++ server and a Python grpcio server,
interleaved run by run; medians of the runs.

Streaming: StreamingOutputCall asking for many messages (20000 x 100 B, 2000 x 64 KiB), from Weft's
Swift client and a grpcio client, against Weft's server and the gRPC C++ server; medians of every
timed call.

Every server is a child of this process and is killed at exit; every load is bounded in time.
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PATH = "/grpc.testing.TestService/UnaryCall"
RESPONSE_SIZE = 16                      # payload body bytes -> 20-byte SimpleResponse -> 25-byte frame
FRAME = RESPONSE_SIZE + 4 + 5
REQUEST = bytes([0, 0, 0, 0, 2, 0x10, RESPONSE_SIZE])  # SimpleRequest{response_size: 16}, framed
TICK = os.sysconf("SC_CLK_TCK")

children = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def kill_all():
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(kill_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def wait_port(port, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    def __init__(self, name, argv, port, grpc=True, cwd=None):
        self.name, self.argv, self.port, self.grpc, self.cwd = name, argv, port, grpc, cwd
        self.proc = None

    def __enter__(self):
        self.errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.errlog, cwd=self.cwd)
        children.append(self.proc)
        if not wait_port(self.port, self.proc):
            self.errlog.seek(0)
            raise RuntimeError(f"{self.name} did not start: {self.errlog.read().decode(errors='replace')[-2000:]}")
        return self

    def cpu_ticks(self):
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        children.remove(self.proc)
        return False


def run(argv, timeout):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def h2load_summary(out):
    s = {}
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    if not m:
        raise RuntimeError(f"cannot parse h2load output:\n{out}")
    s.update(zip(["total", "started", "done", "succeeded", "failed", "errored", "timeout"], map(int, m.groups())))
    m = re.search(r"status codes: (\d+) 2xx", out)
    s["2xx"] = int(m.group(1)) if m else -1
    m = re.search(r"\((\d+)\) data", out)
    s["data"] = int(m.group(1)) if m else -1
    m = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    s["rps"] = float(m.group(1)) if m else 0.0
    return s


def h2load_cmd(a, port, extra):
    return [a.h2load, "-d", str(a.reqfile), "-H", "content-type: application/grpc", "-H", "te: trailers",
            *extra, f"http://127.0.0.1:{port}{PATH}"]


def check_grpc(a, srv):
    """One UnaryCall through a real gRPC client: status OK and a 16-byte payload."""
    if a.grpcio:
        argv = [sys.executable, str(HERE / "grpcio_client.py"), "check", "--port", str(srv.port), "--size", str(RESPONSE_SIZE)]
    else:
        argv = [a.swift_client, "--port", str(srv.port), "--check", "--size", str(RESPONSE_SIZE)]
    rc, out, err = run(argv, 60)
    if rc != 0:
        raise RuntimeError(f"{srv.name}: gRPC check failed: {out}{err}")
    return out.strip()


def verify_h2load(a, srv):
    """A short h2load run: every request succeeds with a 2xx and exactly one 25-byte body."""
    n = 200 if a.smoke else 2000
    rc, out, err = run(h2load_cmd(a, srv.port, ["-c", "2", "-m", "4", "-n", str(n)]), 60)
    s = h2load_summary(out)
    ok = rc == 0 and s["succeeded"] == n and s["2xx"] == n and s["data"] == n * FRAME
    if not ok:
        raise RuntimeError(f"{srv.name}: h2load check failed (want {n} succeeded, {n} 2xx, {n * FRAME} data bytes):\n{out}{err}")


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


def unary_once(a, srv):
    logf = Path(a.tmp) / f"h2load-{srv.name}.log"
    if a.smoke:
        load = ["-c", "16", "-m", "10", "-n", "2000", f"--log-file={logf}"]
    else:
        load = ["-c", "16", "-m", "10", "-D", str(a.duration), "--warm-up-time", str(a.warmup), f"--log-file={logf}"]
    t0 = srv.cpu_ticks()
    rc, out, err = run(h2load_cmd(a, srv.port, load), a.duration + a.warmup + 60)
    t1 = srv.cpu_ticks()
    s = h2load_summary(out)
    if rc != 0 or s["failed"] or s["errored"] or s["timeout"] or s["succeeded"] != s["done"] or s["2xx"] != s["done"] or s["done"] == 0:
        raise RuntimeError(f"{srv.name}: h2load reported failures:\n{out}{err}")
    lat = sorted(int(line.split("\t")[2]) for line in logf.read_text().splitlines() if line.count("\t") == 2)
    logf.unlink()
    responses = s["data"] // FRAME  # includes the warm-up's responses, like the CPU ticks
    return {
        "rps": s["rps"], "p50": percentile(lat, 0.50) / 1000, "p99": percentile(lat, 0.99) / 1000,
        "cpu_us": (t1 - t0) / TICK * 1e6 / responses if responses else float("nan"), "n": s["done"],
    }


def fmt(x, spec):
    return "-" if x is None or x != x else format(x, spec)


def unary(a, servers):
    results = {s.name: [] for s in servers}
    for r in range(a.runs):
        for spec in servers:
            with Server(spec.name, spec.argv, spec.port, spec.grpc, spec.cwd) as srv:
                if srv.grpc:
                    check_grpc(a, srv)
                verify_h2load(a, srv)
                res = unary_once(a, srv)
            results[spec.name].append(res)
            log(f"   run {r + 1}/{a.runs} {spec.name:<12} {res['rps']:>10.0f} req/s  p50 {res['p50']:.2f} ms  p99 {res['p99']:.2f} ms  "
                f"server CPU {res['cpu_us']:.2f} µs/req  ({res['n']} requests)")
    return results


def stream(a, servers, clients, shapes):
    results = {}
    for r in range(a.runs):
        for spec in servers:
            with Server(spec.name, spec.argv, spec.port, spec.grpc, spec.cwd) as srv:
                for count, size in shapes:
                    for cname, cargv in clients:
                        repeat = a.stream_repeat if cname == "weft" else a.grpcio_stream_repeat
                        argv = cargv + ["--port", str(srv.port), "--count", str(count), "--size", str(size),
                                        "--repeat", str(repeat)]
                        rc, out, err = run(argv, 300)
                        vals = [dict(kv.split("=") for kv in line.split()[1:]) for line in out.splitlines() if line.startswith("RESULT")]
                        if rc != 0 or len(vals) != repeat:
                            raise RuntimeError(f"{cname} client against {srv.name} ({count} x {size} B) failed:\n{out}{err}")
                        key = (count, size, spec.name, cname)
                        results.setdefault(key, []).extend(vals)
                        log(f"   run {r + 1}/{a.runs} {count} x {size} B  server {spec.name:<9} client {cname:<7} "
                            + " ".join(f"{int(v['msgs_per_s'])}/s" for v in vals))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="h2load -D seconds per unary measurement")
    ap.add_argument("--warmup", type=int, default=1, help="h2load --warm-up-time seconds")
    ap.add_argument("--stream-repeat", type=int, default=5, help="timed calls per Weft-client invocation")
    ap.add_argument("--grpcio-stream-repeat", type=int, default=2, help="timed calls per grpcio-client invocation")
    ap.add_argument("--port-base", type=int, default=int(os.environ.get("RPC_BENCH_PORT", "19300")))
    ap.add_argument("--weft", required=True)
    ap.add_argument("--swift-client", default="")
    ap.add_argument("--cpp-server", default="")
    ap.add_argument("--cpp-mode", default="callback")
    ap.add_argument("--h2load", default=shutil.which("h2load") or "")
    ap.add_argument("--nghttpd", default=shutil.which("nghttpd") or "")
    a = ap.parse_args()
    if a.smoke:
        a.runs, a.stream_repeat, a.grpcio_stream_repeat, a.duration, a.warmup = 1, 1, 1, 0, 0
    try:
        import grpc  # noqa: F401
        import grpc_tools  # noqa: F401
        a.grpcio = True
    except ImportError:
        a.grpcio = False
        log("skip: Python grpcio / grpcio-tools not importable (pip install grpcio grpcio-tools): no grpcio server or client")

    a.tmp = tempfile.mkdtemp(prefix="rpc-bench-")
    atexit.register(shutil.rmtree, a.tmp, True)
    a.reqfile = Path(a.tmp) / "request.bin"
    a.reqfile.write_bytes(REQUEST)
    www = Path(a.tmp) / "www" / "grpc.testing.TestService"
    www.mkdir(parents=True)
    (www / "UnaryCall").write_bytes(bytes(FRAME))

    p = a.port_base
    weft = Server("weft", [a.weft, "interop-server", "--port", str(p)], p)
    ngh = Server("nghttpd", [a.nghttpd, "--no-tls", "-d", str(Path(a.tmp) / "www"), str(p + 1)], p + 1, grpc=False) if a.nghttpd else None
    cpp = Server("grpc-c++", [a.cpp_server, "--port", str(p + 2), "--mode", a.cpp_mode], p + 2) if a.cpp_server else None
    py = Server("grpcio-py", [sys.executable, str(REPO / "Tests/interop/interop_server.py"), "--port", str(p + 3)], p + 3) if a.grpcio else None
    if not a.nghttpd:
        log("skip: nghttpd not found (apt-get install nghttp2-server): no HTTP/2 ceiling")
    if not a.cpp_server:
        log("skip: no gRPC C++ server (apt-get install libgrpc++-dev protobuf-compiler-grpc)")

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    mode = "SMOKE RUN (timings are not measurements)" if a.smoke else f"{a.runs} runs"
    print(f"RPC benchmark, {when}, {os.cpu_count()} cores, load average at start {load[0]:.2f}; {mode}")
    ok = True

    # ---- unary
    if not a.h2load:
        log("skip: h2load not found (apt-get install nghttp2-client): no unary measurement")
    else:
        servers = [s for s in (weft, ngh, cpp, py) if s]
        log(f"== unary: h2load -c 16 -m 10 {'-n 2000' if a.smoke else f'-D {a.duration} --warm-up-time {a.warmup}'}, servers {', '.join(s.name for s in servers)}")
        res = unary(a, servers)
        print()
        print(f"Unary: UnaryCall, {FRAME}-byte response message, h2load -c 16 -m 10 "
              f"{'-n 2000' if a.smoke else f'-D {a.duration} (after {a.warmup} s warm-up)'}; median of {a.runs} interleaved run(s)")
        print(f"{'server':<22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'server CPU µs/req':>18}   per run req/s")
        med = {}
        for s in servers:
            rs = res[s.name]
            m = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu_us")}
            med[s.name] = m
            label = {"weft": "weft", "nghttpd": "nghttpd (static file)", "grpc-c++": f"grpc-c++ ({a.cpp_mode})",
                     "grpcio-py": "grpcio (Python, sync)"}[s.name]
            print(f"{label:<22} {m['rps']:>10.0f} {m['p50']:>8.2f} {m['p99']:>8.2f} {m['cpu_us']:>18.2f}   "
                  + " ".join(f"{r['rps']:.0f}" for r in rs))
        w = med["weft"]["rps"]
        for peer, target in (("nghttpd", 0.70), ("grpc-c++", 1.50), ("grpcio-py", None)):
            if peer not in med:
                continue
            ratio = w / med[peer]["rps"]
            verdict = "" if target is None else ("(smoke run)" if a.smoke else
                                                 f"target >= {target:.2f}x: {'met' if ratio >= target else 'MISSED'}")
            print(f"Weft/{peer:<10} {ratio:6.2f}x  {verdict}")

    # ---- streaming
    clients = []
    if a.swift_client:
        clients.append(("weft", [a.swift_client]))
    else:
        log("skip: no Weft Swift client (bench/rpc/swift-client did not build)")
    if a.grpcio:
        clients.append(("grpcio", [sys.executable, str(HERE / "grpcio_client.py"), "stream"]))
    servers = [s for s in (weft, cpp) if s]
    shapes = [(200, 100), (20, 65536)] if a.smoke else [(50000, 100), (5000, 65536)]
    if clients:
        log(f"== streaming: StreamingOutputCall {', '.join(f'{c} x {s} B' for c, s in shapes)}; "
            f"servers {', '.join(s.name for s in servers)}; clients {', '.join(c for c, _ in clients)}")
        res = stream(a, servers, clients, shapes)
        print()
        print(f"Server streaming: StreamingOutputCall, one call per measurement on a warm connection; "
              f"median of {a.runs} runs x {a.stream_repeat} (Weft client) or {a.grpcio_stream_repeat} (grpcio) calls; "
              "MB = 10^6 payload bytes")
        print(f"{'messages':<16} {'client':<8} {'server':<10} {'msgs/s':>10} {'MB/s':>8}")
        med = {}
        for count, size in shapes:
            for cname, _ in clients:
                for s in servers:
                    vals = res[(count, size, s.name, cname)]
                    mm = statistics.median(float(v["msgs_per_s"]) for v in vals)
                    mb = statistics.median(float(v["mb_per_s"]) for v in vals)
                    med[(count, size, s.name, cname)] = mm
                    print(f"{f'{count} x {size} B':<16} {cname:<8} {s.name:<10} {mm:>10.0f} {mb:>8.1f}")
        if cpp:
            print("Weft server / gRPC C++ server, same client (target > 1.00x: streaming ahead of gRPC C++;")
            print("within +-5% counts as a tie: the client, not the server, is then usually the bottleneck):")
            for count, size in shapes:
                for cname, _ in clients:
                    ratio = med[(count, size, "weft", cname)] / med[(count, size, "grpc-c++", cname)]
                    verdict = "(smoke run)" if a.smoke else (
                        "met" if ratio > 1.05 else "MISSED" if ratio < 0.95 else "tie (within 5%)")
                    print(f"  {f'{count} x {size} B':<16} client {cname:<8} {ratio:6.2f}x  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
