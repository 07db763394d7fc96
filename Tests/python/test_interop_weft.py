"""gRPC interop between Weft and grpcio, both directions, over h2c and TLS: the 18 cases of
grpc/grpc doc/interop-test-descriptions.md with Weft's `interop-server` against the Python
(grpcio) client, and Weft's `interop-client` against the Python server.

Needs the `weft` binary: `$WEFT_BIN`, else `.build/debug/weft` (scripts/test.sh builds it).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_MATRIX = REPO / "Tests" / "interop" / "run_matrix.py"
WEFT = Path(os.environ.get("WEFT_BIN", REPO / ".build" / "debug" / "weft"))
CASES = 18

pytestmark = pytest.mark.skipif(not WEFT.exists(), reason=f"{WEFT} is not built (run swift build)")


def run_matrix(*args):
    proc = subprocess.run([sys.executable, str(RUN_MATRIX), "--case-timeout", "60", *args],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output.strip().splitlines()[-1] == f"{2 * CASES} passed, 0 failed", output


def test_weft_server_against_grpcio_client():
    run_matrix("--server-cmd", f"{WEFT} interop-server --port {{port}} --use_tls={{use_tls}} "
               "--tls_cert_file={tls_cert_file} --tls_key_file={tls_key_file}")


def test_weft_client_against_grpcio_server():
    run_matrix("--client-cmd", f"{WEFT} interop-client --server_host={{host}} --server_port={{port}} "
               "--test_case={test_case} --use_tls={use_tls} --ca_file={ca_file} "
               "--server_host_override={server_host_override}")
