"""A client that asks for a 1 GiB server stream, grants the server enormous flow-control windows,
and never reads the socket: the server must hold its output back (nghttp2 keeps frames queued
while the socket is full, the handler's writes wait), so its memory stays bounded.

Runs `weft interop-server` (grpc.testing.TestService) and reports idle and peak RSS.
"""

import hpack
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from weft_hostile import (DATA, END_HEADERS, END_STREAM, HEADERS, PREFACE, WINDOW_UPDATE, frame, free_port,  # noqa: E402
                          grpc_message, raise_nofile, request_headers, settings_frame, weft_binary)

MESSAGES, SIZE = 16384, 64 * 1024  # 1 GiB


def status_kib(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0])
    return out


def streaming_request() -> bytes:
    param = b"\x08" + bytes([0x80, 0x80, 0x04])  # size = 65536
    return (b"\x12" + bytes([len(param)]) + param) * MESSAGES


def run(seconds: float = 10.0) -> dict:
    port = free_port()
    proc = subprocess.Popen([str(weft_binary()), "interop-server", "--port", str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: raise_nofile(20000))
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        time.sleep(0.3)
        idle = status_kib(proc.pid)
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        enc = hpack.Encoder()
        headers = enc.encode(request_headers("/grpc.testing.TestService/StreamingOutputCall"))
        body = grpc_message(streaming_request())
        data = (PREFACE + settings_frame([(4, 2**31 - 1)]) + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 2**31 - 1 - 65535))
                + frame(HEADERS, END_HEADERS, 1, headers))
        for i in range(0, len(body), 16384):
            chunk = body[i:i + 16384]
            data += frame(DATA, END_STREAM if i + 16384 >= len(body) else 0, 1, chunk)
        s.sendall(data)
        peak = idle
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.5)
            peak = status_kib(proc.pid)
        alive = proc.poll() is None
        s.close()
        return {"idle_rss_kib": idle["VmRSS"], "peak_hwm_kib": peak["VmHWM"],
                "growth_mib": round((peak["VmHWM"] - idle["VmRSS"]) / 1024, 1), "server_alive": alive}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    print(run())
