"""Hostile HTTP/2 peers against `weft up` (DESIGN.md §5 limits, §7 hostile HTTP/2).

Each test starts a fresh server (binary from $WEFT_BIN, default .build/debug/weft), runs one
attack from Tests/hostile/weft_hostile.py, then requires the process alive and a fresh grpcio
Health/Check to succeed within 2 s, plus the attack's own expectations (connection closed,
memory bounded, the right status). Measurements are printed (`pytest -s` shows them).
Run the whole set with a table: `python3 Tests/hostile/run_all.py`.
"""

import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "hostile"))
import weft_hostile as wh  # noqa: E402

pytest.importorskip("h2")
pytest.importorskip("grpc_health.v1.health_pb2")


@pytest.fixture
def server():
    if not wh.weft_binary().exists():
        pytest.skip(f"{wh.weft_binary()} not built (set WEFT_BIN)")
    wh.raise_nofile(20000)
    srv = wh.WeftServer().start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"weft up exited with {rc} after SIGINT; log:\n{srv.log()}"


def run(attack, server):
    result = attack(server)
    print("\n" + result.line())
    assert server.alive(), f"server died: {server.log()}"
    assert result.ok, "; ".join(result.problems)


def test_malformed_frames(server):
    run(wh.attack_malformed, server)


def test_rapid_reset(server):
    run(wh.attack_rapid_reset, server)


def test_continuation_flood(server):
    run(wh.attack_continuation_flood, server)


def test_oversized_headers_and_message(server):
    run(wh.attack_oversized, server)


def test_never_reading_client_check_flood(server):
    run(wh.attack_never_reads, server)


def test_never_reading_client_ping_flood(server):
    run(wh.attack_never_reads_ping, server)


def test_never_reading_client_amplified_responses(server):
    run(wh.attack_never_reads_amplified, server)


def test_half_open_connections(server):
    run(wh.attack_half_open, server)


def test_idle_connections(server):
    run(wh.attack_idle_connections, server)


def test_never_reading_client_of_a_1gib_stream():
    """A 1 GiB StreamingOutputCall with 2 GiB windows granted and the socket never read: the
    server's peak RSS stays within a few MiB of idle."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
    import never_read_stream
    result = never_read_stream.run(seconds=6)
    print("\n1 GiB never-read stream:", result)
    assert result["server_alive"]
    assert result["growth_mib"] < 64, result


def test_ping_strikes_end_in_goaway(server):
    """PINGs with no call in between, faster than the server allows: GOAWAY ENHANCE_YOUR_CALM."""
    s = wh.h2_open(server)
    rd = wh.FrameReader(s)
    for i in range(6):
        wh.send_quietly(s, wh.frame(wh.PING, 0, 0, bytes([i]) * 8))
        time.sleep(0.05)
    assert rd.until(lambda f: f.type == wh.GOAWAY, 3.0), rd.summary()
    _, code = rd.goaway()
    assert code == "ENHANCE_YOUR_CALM", rd.summary()
    assert server.alive()
