"""`weft` re-executes itself once with glibc's `rep movsb` threshold raised on AMD x86-64
(Sources/weft/ProcessTuning.swift), keeps tunables the user set, and leaves a user's own choice
of that threshold alone. The served process is checked through /proc/PID/environ: glibc splits
GLIBC_TUNABLES in place at ':' while parsing it, so each tunable shows as its own NUL-ended entry.
"""

import os
import platform
import socket
import subprocess
from pathlib import Path

import grpc
import pytest

REPO = Path(__file__).resolve().parents[2]
WEFT = Path(os.environ.get("WEFT_BIN", REPO / ".build" / "debug" / "weft"))
TUNED = b"glibc.cpu.x86_rep_movsb_threshold=8388608"

pytestmark = [
    pytest.mark.skipif(not WEFT.exists(), reason=f"{WEFT} is not built (run swift build)"),
    pytest.mark.skipif(platform.system() != "Linux", reason="Linux only"),
]


def cpu_is_amd_x86_64():
    with open("/proc/cpuinfo") as f:
        return platform.machine() == "x86_64" and "AuthenticAMD" in f.read(4096)


def served_environment(tunables):
    """Starts `weft interop-server` with GLIBC_TUNABLES set to `tunables` (None: unset), waits until
    it answers HTTP/2, and returns its environment entries as they are once it serves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    proc = subprocess.Popen([str(WEFT), "interop-server", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
        with open(f"/proc/{proc.pid}/environ", "rb") as f:
            return [entry for entry in f.read().split(b"\0") if entry]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err.decode()


def test_threshold_is_raised_on_amd_only():
    entries = served_environment(None)
    assert any(e.endswith(TUNED) and e.startswith(b"GLIBC_TUNABLES=") for e in entries) == cpu_is_amd_x86_64()


def test_tunables_the_user_set_are_kept():
    entries = served_environment("glibc.malloc.arena_max=2")
    assert b"GLIBC_TUNABLES=glibc.malloc.arena_max=2" in entries
    assert (TUNED in entries) == cpu_is_amd_x86_64()


def test_a_threshold_the_user_chose_is_left_alone():
    entries = served_environment("glibc.cpu.x86_rep_movsb_threshold=2112")
    assert b"GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=2112" in entries
    assert not any(TUNED in e for e in entries)
