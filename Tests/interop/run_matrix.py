#!/usr/bin/env python3
"""Runs every gRPC interop case of a client against a server, over h2c and over TLS.

    run_matrix.py                                   # Python server x Python client (self-check)
    run_matrix.py --server-cmd 'weft interop-server --port {port} --use_tls={use_tls} ...'
    run_matrix.py --client-cmd 'weft interop-client --server_port={port} --test_case={test_case} ...'

For each transport the server is started once on a free loopback port and every case is run as
one client process; a case passes when the client exits 0 within --case-timeout seconds. The
script prints a table, the failures' output, and a closing line `N passed, M failed`; it exits
1 if anything failed (or the server did not come up), 0 otherwise.

Placeholders (Python str.format, so write literal braces as {{ }}):
  server command: {port} {use_tls} (true/false) {tls_cert_file} {tls_key_file}
                  {ca_file} {certs_dir} {python}
  client command: {host} {port} {test_case} {use_tls} (true/false) {ca_file}
                  {server_host_override} {certs_dir} {python}
"""

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CERTS = HERE / "certs"
PY = shlex.quote(sys.executable)

CASES = [
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
    "empty_stream", "custom_metadata", "status_code_and_message", "special_status_message",
    "unimplemented_method", "unimplemented_service", "cancel_after_begin",
    "cancel_after_first_response", "timeout_on_sleeping_server", "client_compressed_unary",
    "server_compressed_unary", "client_compressed_streaming", "server_compressed_streaming",
]

DEFAULT_SERVER = ("{python} " + shlex.quote(str(HERE / "interop_server.py")) +
                  " --port={port} --use_tls={use_tls}"
                  " --tls_cert_file={tls_cert_file} --tls_key_file={tls_key_file}")
DEFAULT_CLIENT = ("{python} " + shlex.quote(str(HERE / "interop_client.py")) +
                  " --server_host={host} --server_port={port} --test_case={test_case}"
                  " --use_tls={use_tls} --ca_file={ca_file}"
                  " --server_host_override={server_host_override}")


def free_port(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host, port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_client(cmd, timeout):
    """Runs one client process in its own process group; returns (ok, detail, output)."""
    proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        detail = f"exit status {proc.returncode}"
        ok = proc.returncode == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        ok, detail = False, f"timed out after {timeout:g}s"
    return ok, detail, out.decode(errors="replace")


def tail(text, lines=15):
    rows = text.strip().splitlines()
    return "\n".join(rows[-lines:])


def run_transport(transport, args, values, results, failures):
    use_tls = transport == "tls"
    port = free_port(args.host)
    fields = dict(values, port=port, use_tls="true" if use_tls else "false",
                  server_host_override=args.server_host_override if use_tls else "")
    server_cmd = args.server_cmd.format(**fields)
    log = tempfile.NamedTemporaryFile(prefix=f"interop-server-{transport}-", suffix=".log",
                                      delete=False)
    print(f"[{transport}] server: {server_cmd}", flush=True)
    server = subprocess.Popen(server_cmd, shell=True, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        if not wait_for_port(args.host, port, server, args.server_timeout):
            log.flush()
            output = Path(log.name).read_text(errors="replace")
            why = (f"exited with status {server.returncode}" if server.poll() is not None
                   else f"did not accept connections within {args.server_timeout:g}s")
            for case in args.cases:
                results[(case, transport)] = "ERROR"
            failures.append((f"server ({transport})", f"the server {why}\n{tail(output)}"))
            return
        for case in args.cases:
            client_cmd = args.client_cmd.format(**dict(fields, test_case=case))
            started = time.monotonic()
            ok, detail, output = run_client(client_cmd, args.case_timeout)
            elapsed = time.monotonic() - started
            results[(case, transport)] = "pass" if ok else "FAIL"
            if args.verbose or not ok:
                print(f"[{transport}] {case}: {'pass' if ok else 'FAIL'} ({elapsed:.2f}s)",
                      flush=True)
            if not ok:
                failures.append((f"{case} ({transport})",
                                 f"$ {client_cmd}\n{detail}\n{tail(output)}"))
            if server.poll() is not None:
                failures.append((f"server ({transport})",
                                 f"the server exited with status {server.returncode} "
                                 f"during {case}"))
                for rest in args.cases[args.cases.index(case) + 1:]:
                    results[(rest, transport)] = "ERROR"
                return
    finally:
        stop(server)
        log.close()
        if server.returncode not in (None, 0, -signal.SIGTERM) and not any(
                name == f"server ({transport})" for name, _ in failures):
            print(f"[{transport}] note: server exit status {server.returncode}; "
                  f"log in {log.name}", flush=True)
        else:
            try:
                os.unlink(log.name)
            except OSError:
                pass


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-cmd", default=DEFAULT_SERVER,
                        help="server command template (default: the Python interop server)")
    parser.add_argument("--client-cmd", default=DEFAULT_CLIENT,
                        help="client command template (default: the Python interop client)")
    parser.add_argument("--transports", default="h2c,tls",
                        help="comma-separated: h2c, tls (default both)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated case names (default: all 18)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address for the server")
    parser.add_argument("--server-host-override", default="foo.test.google.fr",
                        help="name the client verifies over TLS (default foo.test.google.fr)")
    parser.add_argument("--certs-dir", default=str(CERTS),
                        help="directory with ca.pem, server.pem, server.key (default: certs/)")
    parser.add_argument("--case-timeout", type=float, default=60.0)
    parser.add_argument("--server-timeout", type=float, default=30.0,
                        help="seconds to wait for the server to accept connections")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)

    args.cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    transports = [t for t in args.transports.split(",") if t]
    if any(t not in ("h2c", "tls") for t in transports):
        parser.error("--transports takes h2c and/or tls")

    certs = Path(args.certs_dir).resolve()
    values = dict(host=args.host, python=PY, certs_dir=shlex.quote(str(certs)),
                  ca_file=shlex.quote(str(certs / "ca.pem")),
                  tls_cert_file=shlex.quote(str(certs / "server.pem")),
                  tls_key_file=shlex.quote(str(certs / "server.key")))

    results, failures = {}, []
    started = time.monotonic()
    for transport in transports:
        run_transport(transport, args, values, results, failures)

    width = max(len(c) for c in args.cases)
    print()
    print(f"{'case':<{width}}  " + "  ".join(f"{t:<5}" for t in transports))
    print(f"{'-' * width}  " + "  ".join("-----" for _ in transports))
    for case in args.cases:
        print(f"{case:<{width}}  " + "  ".join(f"{results.get((case, t), '-'):<5}"
                                               for t in transports))
    if failures:
        print("\nFailures:")
        for name, text in failures:
            print(f"--- {name}\n{text}\n")
    passed = sum(1 for r in results.values() if r == "pass")
    failed = len(results) - passed
    print(f"\n({time.monotonic() - started:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and not failures and results else 1


if __name__ == "__main__":
    sys.exit(main())
