"""Keeps the gRPC interop harness (Tests/interop) honest: the Python client against the
Python server, every case over h2c and over TLS, must pass.

This is the same run as `python3 Tests/interop/run_matrix.py` with no arguments. When it
passes, a failure of the same case against a Weft server or client points at Weft, not at
the harness.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_MATRIX = REPO / "Tests" / "interop" / "run_matrix.py"
CASES = 18


def test_python_client_against_python_server_h2c_and_tls():
    proc = subprocess.run([sys.executable, str(RUN_MATRIX), "--case-timeout", "60"],
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    lines = output.strip().splitlines()
    assert lines[-1] == f"{2 * CASES} passed, 0 failed", output
    table = [line.split() for line in lines if line.split()[:1] and line.split()[0] in {
        "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
        "empty_stream", "custom_metadata", "status_code_and_message",
        "special_status_message", "unimplemented_method", "unimplemented_service",
        "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
        "client_compressed_unary", "server_compressed_unary", "client_compressed_streaming",
        "server_compressed_streaming"}]
    assert len(table) == CASES, output
    assert all(row[1:] == ["pass", "pass"] for row in table), output
