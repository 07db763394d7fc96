"""Hostile HTTP/2 peers against a `weft up` server (DESIGN.md §5 limits, §7 "hostile HTTP/2").

Each attack is a function `attack_*(server) -> Result`. It talks raw HTTP/2 frames over a
plain socket to 127.0.0.1 (or h2 where reading a response matters), measures the server
process from /proc, and says whether the server did what it should. Afterwards the caller
checks that the server is still alive and answers a fresh grpcio `Health/Check` within 2 s
(`WeftServer.check_responsive`).

Only loopback is used; every loop is bounded in iterations and in time.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import hpack

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / ".build" / "debug" / "weft"

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
               6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
               8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
               12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
SETTINGS_INITIAL_WINDOW_SIZE = 4

CHECK_PATH = "/grpc.health.v1.Health/Check"
WATCH_PATH = "/grpc.health.v1.Health/Watch"
EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"  # an empty HealthCheckRequest, length-prefixed
MiB = 1024 * 1024


def request_headers(path: str = CHECK_PATH, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"), ("te", "trailers")] + (extra or [])


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def settings_frame(pairs: list[tuple[int, int]] = (), ack: bool = False) -> bytes:
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def grpc_message(body: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(body)) + body


# ---------------------------------------------------------------------------------------------
# Reading frames


@dataclass
class Frame:
    type: int
    flags: int
    stream_id: int
    payload: bytes

    def describe(self) -> str:
        name = FRAME_NAMES.get(self.type, f"type{self.type}")
        if self.type == GOAWAY and len(self.payload) >= 8:
            last, code = struct.unpack(">II", self.payload[:8])
            return f"GOAWAY(last={last & 0x7FFFFFFF}, {ERROR_NAMES.get(code, code)}, {self.payload[8:][:60]!r})"
        if self.type == RST_STREAM and len(self.payload) == 4:
            return f"RST_STREAM({self.stream_id}, {ERROR_NAMES.get(struct.unpack('>I', self.payload)[0])})"
        return f"{name}({self.stream_id})"


class FrameReader:
    """Parses server frames from a socket; `closed` once the peer closed or reset."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.frames: list[Frame] = []
        self.closed = False
        self.close_reason = ""
        self.bytes_read = 0

    def _parse(self) -> list[Frame]:
        out = []
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                break
            f = Frame(self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF, bytes(self.buf[9:9 + n]))
            del self.buf[:9 + n]
            out.append(f)
        self.frames.extend(out)
        return out

    def poll(self, timeout: float) -> list[Frame]:
        """Reads what arrives within `timeout` seconds (returns early on close)."""
        new: list[Frame] = []
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                break
            try:
                data = self.sock.recv(1 << 20)
            except (ConnectionResetError, BrokenPipeError) as e:
                self.closed, self.close_reason = True, type(e).__name__
                break
            except (BlockingIOError, socket.timeout):
                continue
            if not data:
                self.closed, self.close_reason = True, "EOF"
                break
            self.bytes_read += len(data)
            self.buf += data
            new += self._parse()
            if new:
                deadline = 0  # got something: drain what is already here, then return
        return new

    def until(self, predicate, timeout: float) -> bool:
        """Reads until `predicate(frame)` holds for a frame, the peer closes, or `timeout`."""
        deadline = time.monotonic() + timeout
        if any(predicate(f) for f in self.frames):
            return True
        while not self.closed and time.monotonic() < deadline:
            for f in self.poll(min(0.2, max(0.0, deadline - time.monotonic()))):
                if predicate(f):
                    return True
        return False

    def until_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())
        return self.closed

    def goaway(self) -> tuple[int, str] | None:
        for f in self.frames:
            if f.type == GOAWAY and len(f.payload) >= 8:
                last, code = struct.unpack(">II", f.payload[:8])
                return last & 0x7FFFFFFF, ERROR_NAMES.get(code, str(code))
        return None

    def summary(self) -> str:
        kinds = [f.describe() for f in self.frames if f.type not in (SETTINGS, WINDOW_UPDATE)]
        tail = f", closed ({self.close_reason})" if self.closed else ", open"
        return (", ".join(kinds[:6]) + (f", … {len(kinds) - 6} more" if len(kinds) > 6 else "") or "no frames") + tail


def decode_headers(decoder: hpack.Decoder, frames: list[Frame], stream_id: int) -> list[list[tuple[str, str]]]:
    """Header blocks the server sent on `stream_id` (HEADERS + CONTINUATION, padding/priority stripped)."""
    blocks, cur = [], None
    for f in frames:
        if f.type == HEADERS:
            p = f.payload
            if f.flags & PADDED:
                p = p[1:len(p) - p[0]]
            if f.flags & PRIORITY_FLAG:
                p = p[5:]
            cur = (f.stream_id, bytearray(p))
            if f.flags & END_HEADERS:
                blocks.append(cur)
                cur = None
        elif f.type == CONTINUATION and cur is not None:
            cur[1].extend(f.payload)
            if f.flags & END_HEADERS:
                blocks.append(cur)
                cur = None
    # Every block must go through the decoder in order (HPACK state), whatever its stream.
    out = []
    for sid, block in blocks:
        h = [(n if isinstance(n, str) else n.decode(), v if isinstance(v, str) else v.decode())
             for n, v in decoder.decode(bytes(block))]
        if sid == stream_id:
            out.append(h)
    return out


# ---------------------------------------------------------------------------------------------
# The server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(target: int = 20000) -> int:
    """Raises this process's soft RLIMIT_NOFILE towards `target` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(target, hard) if hard != resource.RLIM_INFINITY else target
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def weft_binary() -> Path:
    return Path(os.environ.get("WEFT_BIN", str(DEFAULT_BIN)))


class WeftServer:
    """`weft up` on a free loopback port, with a raised fd limit, measured through /proc."""

    def __init__(self, binary: Path | None = None):
        self.binary = Path(binary or weft_binary())
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="weft-hostile-")
        self.log_path = Path(self.tmp.name) / "server.log"

    def start(self, timeout: float = 15.0) -> "WeftServer":
        if not self.binary.exists():
            raise FileNotFoundError(f"{self.binary} missing: build weft first (or set WEFT_BIN)")
        self.port = free_port()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(Path(self.tmp.name) / "data")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=lambda: raise_nofile(20000))
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weft up exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"weft up did not listen on {self.port} within {timeout}s: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status_kib(self) -> dict[str, int]:
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
        return out

    def rss_kib(self) -> int:
        return self.status_kib()["VmRSS"]

    def hwm_kib(self) -> int:
        return self.status_kib()["VmHWM"]

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def health_check(self, timeout: float = 2.0) -> tuple[bool, float, str]:
        """A fresh grpcio channel's Health/Check: (SERVING?, seconds, error)."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        t0 = time.monotonic()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{self.port}", options=[("grpc.enable_http_proxy", 0)]) as ch:
                resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            return resp.status == health_pb2.HealthCheckResponse.SERVING, time.monotonic() - t0, ""
        except grpc.RpcError as e:
            return False, time.monotonic() - t0, f"{e.code()}: {e.details()}"

    def check_responsive(self) -> tuple[bool, str]:
        """Alive and a fresh client's Health/Check succeeds within 2 s."""
        if not self.alive():
            return False, f"server exited with {self.proc.returncode}; log: {self.log()}"
        ok, secs, err = self.health_check(2.0)
        if not ok:
            return False, f"Health/Check failed after {secs:.2f}s: {err}"
        return True, f"Health/Check ok in {secs * 1000:.0f} ms"

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGINT, then SIGKILL after `timeout`; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.tmp.cleanup()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def connect(server: WeftServer, timeout: float = 5.0, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", server.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def h2_open(server: WeftServer, settings: list[tuple[int, int]] = (), **kw) -> socket.socket:
    s = connect(server, **kw)
    s.sendall(PREFACE + settings_frame(settings) + settings_frame(ack=True))
    return s


def send_quietly(sock: socket.socket, data: bytes) -> str:
    """Sends; returns "" or the error's name (the server may already have closed)."""
    try:
        sock.sendall(data)
        return ""
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError) as e:
        return type(e).__name__


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    attack: str
    ok: bool = True
    metrics: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def expect(self, cond: bool, problem: str) -> None:
        if not cond:
            self.ok = False
            self.problems.append(problem)

    def line(self) -> str:
        m = "; ".join(f"{k}={v}" for k, v in self.metrics.items())
        return f"{'PASS' if self.ok else 'FAIL'} {self.attack}: {m}" + (f" — {'; '.join(self.problems)}" if self.problems else "")


def finish(result: Result, server: WeftServer) -> Result:
    ok, msg = server.check_responsive()
    result.metrics["after"] = msg
    result.expect(ok, msg)
    return result


# ---------------------------------------------------------------------------------------------
# 1. Malformed frames


def _malformed_cases() -> list[tuple[str, bytes, str]]:
    """(name, bytes, expectation) with expectation "close" (GOAWAY/close) or "ignore" (must be ignored)."""
    enc = hpack.Encoder()
    hdr = enc.encode(request_headers())
    pre = PREFACE + settings_frame()
    return [
        ("garbage-preface", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(64), "close"),
        ("random-bytes-preface", bytes(range(256)) * 4, "close"),
        ("settings-bad-length", PREFACE + frame(SETTINGS, 0, 0, b"\x00\x04\x00"), "close"),
        ("settings-ack-with-payload", pre + frame(SETTINGS, ACK, 0, struct.pack(">HI", 4, 1)), "close"),
        ("settings-on-stream-1", PREFACE + frame(SETTINGS, 0, 1, b""), "close"),
        ("ping-length-7", pre + frame(PING, 0, 0, b"\x00" * 7), "close"),
        ("frame-over-max-size", pre + frame(HEADERS, END_HEADERS, 1, b"\x00" * 20000), "close"),
        ("length-lies-then-eof", pre + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + b"x" * 100, "close-or-wait"),
        ("headers-padding-over-length", pre + frame(HEADERS, END_HEADERS | PADDED, 1, b"\xff" + hdr), "close"),
        ("window-update-zero", pre + frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"), "close"),
        ("data-on-stream-0", pre + frame(DATA, 0, 0, b"hello"), "close"),
        ("headers-on-stream-0", pre + frame(HEADERS, END_HEADERS, 0, hdr), "close"),
        ("headers-even-stream", pre + frame(HEADERS, END_HEADERS, 2, hdr), "close"),
        ("hpack-index-out-of-range", pre + frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\x7f"), "close"),
        ("hpack-integer-overflow", pre + frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x7f" + b"\xff" * 12 + b"\x01"), "close"),
        ("hpack-bad-huffman", pre + frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x40\x81\xff\x81\xff"), "close"),
        ("hpack-table-size-over-limit", pre + frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x3f\xe1\xff\x03" + hdr), "close"),
        ("continuation-without-headers", pre + frame(CONTINUATION, END_HEADERS, 1, hdr), "close"),
        ("unknown-frame-type", pre + frame(0xEE, 0xFF, 0, b"whatever"), "ignore"),
        ("unknown-flags-on-ping", pre + frame(PING, 0xFE, 0, b"\x00" * 8), "ignore"),
    ]


def attack_malformed(server: WeftServer) -> Result:
    r = Result("1 malformed frames")
    outcomes = {}
    for name, data, expect in _malformed_cases():
        s = connect(server)
        err = send_quietly(s, data)
        rd = FrameReader(s)
        if expect == "ignore":
            # The frame must be ignored: the connection stays usable (a PING gets its ACK).
            send_quietly(s, frame(PING, 0, 0, b"probe!!!"))
            acked = rd.until(lambda f: f.type == PING and f.flags & ACK and f.payload == b"probe!!!", 3.0)
            outcomes[name] = "ignored, PING acked" if acked else rd.summary()
            r.expect(acked and not rd.closed, f"{name}: expected the frame ignored, got {rd.summary()}")
        elif expect == "close-or-wait":
            # A frame header announcing 16 MiB and then silence: the server may wait for the rest
            # (its max frame size is 16 KiB, so nghttp2 should reject the header at once).
            closed = rd.until_closed(3.0)
            ga = rd.goaway()
            outcomes[name] = f"GOAWAY {ga[1]}" if ga else ("closed" if closed else "waiting")
            r.expect(closed, f"{name}: connection not closed within 3 s ({rd.summary()})")
        else:
            closed = rd.until_closed(3.0)
            ga = rd.goaway()
            outcomes[name] = (f"GOAWAY {ga[1]}" if ga else "closed, no GOAWAY") if closed else "NOT closed: " + rd.summary()
            r.expect(closed, f"{name}: connection not closed within 3 s ({rd.summary()}; send error {err or 'none'})")
        s.close()
        r.expect(server.alive(), f"server died after {name}")
        if not server.alive():
            break
    r.metrics["cases"] = len(outcomes)
    r.metrics["outcomes"] = outcomes
    return finish(r, server)


# ---------------------------------------------------------------------------------------------
# 2. Rapid reset (CVE-2023-44487)


def attack_rapid_reset(server: WeftServer, count: int = 20000, time_limit: float = 20.0) -> Result:
    r = Result("2 rapid reset")
    enc = hpack.Encoder()
    first = enc.encode(request_headers())
    again = enc.encode(request_headers())
    blob = bytearray()
    for i in range(count):
        sid = 2 * i + 1
        blob += frame(HEADERS, END_HEADERS, sid, first if i == 0 else again)
        blob += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
    pair = len(blob) // count

    cpu0 = server.cpu_seconds()
    s = h2_open(server)
    s.settimeout(5.0)
    rd = FrameReader(s)
    sent = 0
    goaway_at = None
    stop = threading.Event()

    def reader():
        nonlocal goaway_at
        while not stop.is_set() and not rd.closed:
            for f in rd.poll(0.1):
                if f.type == GOAWAY and goaway_at is None:
                    goaway_at = min(count, sent // pair)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t0 = time.monotonic()
    chunk = 64 * 1024
    err = ""
    while sent < len(blob) and time.monotonic() - t0 < time_limit:
        try:
            n = s.send(blob[sent:sent + chunk])
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError) as e:
            err = type(e).__name__
            break
        sent += n
    send_secs = time.monotonic() - t0
    deadline = time.monotonic() + 5.0
    while not rd.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(2.0)
    s.close()
    time.sleep(0.3)
    cpu1 = server.cpu_seconds()
    ga = rd.goaway()
    r.metrics["pairs_sent"] = min(count, sent // pair)
    r.metrics["send_s"] = round(send_secs, 2)
    r.metrics["send_error"] = err or "none"
    r.metrics["goaway"] = f"{ga[1]} last_stream={ga[0]}" if ga else "none"
    r.metrics["resets_accepted_before_goaway"] = (ga[0] + 1) // 2 if ga else "n/a"
    r.metrics["pairs_sent_when_goaway_seen"] = goaway_at if goaway_at is not None else "n/a"
    r.metrics["connection_closed"] = rd.closed
    r.metrics["server_cpu_s"] = round(cpu1 - cpu0, 2)
    r.expect(ga is not None or rd.closed, "server neither sent GOAWAY nor closed the connection")
    r.expect(ga is None or ga[0] < 2 * count - 1, "GOAWAY only after every stream")
    r.expect(rd.closed, "connection not closed after the flood")
    return finish(r, server)


# ---------------------------------------------------------------------------------------------
# 3. CONTINUATION flood (CVE-2024-27316 / CVE-2024-28182 pattern)


def _continuation_flood(server: WeftServer, name: str, first_block: bytes, piece: bytes, frames: int,
                        time_limit: float = 10.0) -> dict:
    s = h2_open(server)
    s.settimeout(3.0)
    rd = FrameReader(s)
    err = send_quietly(s, frame(HEADERS, END_STREAM, 1, first_block))  # no END_HEADERS
    cont = frame(CONTINUATION, 0, 1, piece)
    batch = max(1, 65536 // len(cont))
    sent = 0
    t0 = time.monotonic()
    while not err and sent < frames and time.monotonic() - t0 < time_limit:
        n = min(batch, frames - sent)
        err = send_quietly(s, cont * n)
        if not err:
            sent += n
        rd.poll(0)
    closed = rd.until_closed(3.0)
    ga = rd.goaway()
    s.close()
    return {"frames_sent": sent, "goaway": ga[1] if ga else "none", "closed": closed, "send_error": err or "none"}


def attack_continuation_flood(server: WeftServer, frames: int = 10000) -> Result:
    r = Result("3 CONTINUATION flood")
    before = server.status_kib()
    enc = hpack.Encoder()
    block = enc.encode(request_headers())
    cases = {
        # Zero-length CONTINUATIONs: nothing to decode, only the frame count grows.
        "empty": _continuation_flood(server, "empty", block, b"", frames),
        # Tiny headers: each CONTINUATION carries `x-a: b` (literal, never indexed).
        "small": _continuation_flood(server, "small", block, b"\x10\x03x-a\x01b", frames),
        # 16 KiB CONTINUATIONs of one header value that declares 1 GiB.
        "large": _continuation_flood(server, "large", block + b"\x10\x03x-b\x7f" + _hpack_int_tail(1 << 30, 7),
                                     b"a" * 16384, min(frames, 2000)),
    }
    after = server.status_kib()
    for k, v in cases.items():
        r.metrics[k] = v
        r.expect(v["closed"], f"{k}: connection not closed")
    r.metrics["VmRSS_kib"] = f"{before['VmRSS']} -> {after['VmRSS']}"
    r.metrics["VmHWM_kib"] = f"{before['VmHWM']} -> {after['VmHWM']}"
    r.expect(after["VmHWM"] - before["VmHWM"] < 64 * 1024, "peak RSS grew by more than 64 MiB")
    return finish(r, server)


def _hpack_int_tail(value: int, prefix_bits: int) -> bytes:
    """The continuation bytes of an HPACK integer whose prefix is all ones (value >= 2^N - 1)."""
    value -= (1 << prefix_bits) - 1
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# 4. Oversized headers and an oversized message


def _oversized_header_block(server: WeftServer, extra: list[tuple[str, str]]) -> dict:
    """Sends one request with `extra` headers on stream 1, then a normal Check on stream 3."""
    enc, dec = hpack.Encoder(), hpack.Decoder()
    big = enc.encode(request_headers(extra=extra))
    s = h2_open(server)
    rd = FrameReader(s)
    data = bytearray()
    chunks = [big[i:i + 16384] for i in range(0, len(big), 16384)]
    for i, c in enumerate(chunks):
        flags = END_HEADERS if i == len(chunks) - 1 else 0
        data += frame(HEADERS if i == 0 else CONTINUATION, flags | (END_STREAM if i == 0 else 0), 1, c)
    err = send_quietly(s, bytes(data))
    # A normal request on the same connection (HPACK state must still be in sync).
    err2 = send_quietly(s, frame(HEADERS, END_HEADERS, 3, enc.encode(request_headers())) + frame(DATA, END_STREAM, 3, EMPTY_MESSAGE))
    rd.until(lambda f: f.stream_id == 3 and f.type == HEADERS and f.flags & END_STREAM, 3.0)
    rd.poll(0.2)
    out = {"block_bytes": len(big), "frames": len(chunks)}
    s1 = [f.describe() for f in rd.frames if f.stream_id == 1]
    out["stream1"] = ", ".join(s1) or "nothing"
    try:
        blocks1 = decode_headers(dec, rd.frames, 1)
        out["stream1_grpc_status"] = dict(blocks1[-1]).get("grpc-status", "none") if blocks1 else "none"
    except Exception as e:  # noqa: BLE001 - reported, not raised
        out["stream1_grpc_status"] = f"undecodable: {e}"
    try:
        blocks3 = decode_headers(dec, rd.frames, 3)
        trailers = dict(blocks3[-1]) if blocks3 else {}
        out["stream3_grpc_status"] = trailers.get("grpc-status", "none")
    except Exception as e:  # noqa: BLE001 - HPACK failure is itself a finding
        out["stream3_grpc_status"] = f"undecodable: {e}"
    ga = rd.goaway()
    out["goaway"] = ga[1] if ga else "none"
    out["closed"] = rd.closed
    out["send_error"] = err or err2 or "none"
    s.close()
    return out


def _oversized_message(server: WeftServer) -> dict:
    """Health/Check whose message declares 5 MiB; read the response with h2."""
    import h2.config
    import h2.connection
    import h2.events
    s = connect(server)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, request_headers())
    declared = 5 * MiB
    c.send_data(sid, b"\x00" + struct.pack(">I", declared) + b"\x00" * 16000)
    s.sendall(c.data_to_send())
    headers: list[list[tuple[str, str]]] = []
    reset = None
    ended = False
    deadline = time.monotonic() + 5.0
    # Then keep sending the rest of the 5 MiB as flow control allows, until the stream ends.
    remaining = declared - 16000
    while time.monotonic() < deadline and not ended:
        r_, _, _ = select.select([s], [], [], 0.1)
        if r_:
            data = s.recv(1 << 16)
            if not data:
                break
            for ev in c.receive_data(data):
                if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers.append([(n, v) for n, v in ev.headers])
                elif isinstance(ev, h2.events.StreamReset):
                    reset = ERROR_NAMES.get(ev.error_code, ev.error_code)
                    ended = True
                elif isinstance(ev, h2.events.StreamEnded):
                    ended = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    ended = True
        if remaining > 0 and not ended:
            try:
                n = min(remaining, c.local_flow_control_window(sid), 16384)
                if n > 0:
                    c.send_data(sid, b"\x00" * n)
                    remaining -= n
            except Exception:  # noqa: BLE001 - stream closed by the server
                remaining = 0
        out = c.data_to_send()
        if out:
            try:
                s.sendall(out)
            except OSError:
                break
    s.close()
    final = dict(headers[-1]) if headers else {}
    return {"grpc_status": final.get("grpc-status", "none"), "grpc_message": final.get("grpc-message", "")[:80],
            "rst": reset or "none", "bytes_sent": declared - remaining + 5}


def attack_oversized(server: WeftServer) -> Result:
    r = Result("4 oversized headers/message")
    one = _oversized_header_block(server, [("x-big", "v" * 20000)])
    many = _oversized_header_block(server, [(f"x-h{i:04d}", "value") for i in range(1000)])
    msg = _oversized_message(server)
    r.metrics["one_20k_header"] = one
    r.metrics["1000_headers"] = many
    r.metrics["5MiB_message"] = msg
    for name, o in (("one_20k_header", one), ("1000_headers", many)):
        # gRPC's answer is a trailers-only RESOURCE_EXHAUSTED (8); a reset, 431 or close also refuses it.
        refused = (o.get("stream1_grpc_status") == "8" or "RST_STREAM" in o["stream1"] or o["goaway"] != "none"
                   or o["closed"] or "431" in o["stream1"])
        r.expect(refused, f"{name}: stream 1 was not refused ({o['stream1']}, grpc-status {o.get('stream1_grpc_status')})")
        r.expect(o["closed"] or o["stream3_grpc_status"] == "0",
                 f"{name}: the next request on the same connection failed (grpc-status {o['stream3_grpc_status']})")
    r.expect(msg["grpc_status"] == "8", f"5 MiB message: grpc-status {msg['grpc_status']}, expected 8 (RESOURCE_EXHAUSTED)")
    return finish(r, server)


# ---------------------------------------------------------------------------------------------
# 5. A client that never reads


def _request(sid: int, block: bytes, with_message: bool) -> bytes:
    if with_message:
        return frame(HEADERS, END_HEADERS, sid, block) + frame(DATA, END_STREAM, sid, EMPTY_MESSAGE)
    return frame(HEADERS, END_HEADERS | END_STREAM, sid, block)


def _calibrate(server: WeftServer, first: bytes, again: bytes, with_message: bool, n: int = 200, batch: int = 50) -> tuple[float, int]:
    """Requests per second the server answers on one reading connection, and bytes per response."""
    s = h2_open(server)
    rd = FrameReader(s)
    s.sendall(_request(1, first, with_message))
    rd.until(lambda f: f.stream_id == 1 and f.flags & END_STREAM, 5.0)
    t0, sid, start_bytes = time.monotonic(), 3, rd.bytes_read
    for _ in range(n // batch):
        s.sendall(b"".join(_request(sid + 2 * i, again, with_message) for i in range(batch)))
        sid += 2 * batch
        rd.until(lambda f, last=sid - 2: f.stream_id == last and f.flags & END_STREAM, 10.0)
    dt = time.monotonic() - t0
    s.close()
    return n / dt, (rd.bytes_read - start_bytes) // n


def _never_read_flood(server: WeftServer, r: Result, first: bytes, again: bytes, with_message: bool,
                      seconds: float, connections: int, load: float = 0.6, batch: int = 32) -> None:
    """Pipelines requests on `connections` connections whose owner never reads a byte.

    The pace is `load` times the rate the server answered a reading client at (calibrated
    first), so in-flight streams stay well under MAX_CONCURRENT_STREAMS (256) while the
    server keeps up. The client opens its flow-control windows to the maximum and shrinks its
    receive buffer, so only the server's own buffering policy bounds what it keeps. A
    connection the server closes is replaced (counted)."""
    rate, resp_bytes = _calibrate(server, first, again, with_message)
    time.sleep(0.3)
    idle = server.status_kib()
    interval = batch / (rate * load)

    def new_conn():
        s = h2_open(server, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0x7FFFFFFF)], rcvbuf=16384)
        s.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF - 65535)) + _request(1, first, with_message))
        s.settimeout(2.0)
        return {"sock": s, "sid": 3}

    conns = [new_conn() for _ in range(connections)]
    replaced = requests = stalled = 0
    samples = []
    t0 = time.monotonic()
    next_send = t0
    i = 0
    while time.monotonic() - t0 < seconds:
        c = conns[i % connections]
        i += 1
        buf = b"".join(_request(c["sid"] + 2 * k, again, with_message) for k in range(batch))
        c["sid"] += 2 * batch
        err = send_quietly(c["sock"], buf)
        if err == "timeout":
            stalled += 1  # the server stopped reading this connection: backpressure
        elif err:
            c["sock"].close()
            c.update(new_conn())
            replaced += 1
        else:
            requests += batch
        if len(samples) < (time.monotonic() - t0) + 1:
            samples.append(server.rss_kib())
        next_send += interval
        time.sleep(max(0.0, next_send - time.monotonic()))
    hwm = server.hwm_kib()
    end_rss = server.rss_kib()
    for c in conns:
        c["sock"].close()
    time.sleep(0.5)
    half = len(samples) // 2
    r.metrics["calibrated_rate_rps"] = round(rate)
    r.metrics["response_bytes"] = resp_bytes
    r.metrics["paced_rps"] = round(rate * load)
    r.metrics["connections"] = connections
    r.metrics["requests_sent"] = requests
    r.metrics["server_output_mib"] = round(requests * resp_bytes / MiB, 1)
    r.metrics["connections_replaced"] = replaced
    r.metrics["send_stalls"] = stalled
    r.metrics["idle_rss_kib"] = idle["VmRSS"]
    r.metrics["rss_at_end_kib"] = end_rss
    r.metrics["peak_hwm_kib"] = hwm
    r.metrics["growth_mib"] = round((hwm - idle["VmRSS"]) / 1024, 1)
    r.metrics["rss_per_s_mib"] = [round(v / 1024) for v in samples]
    r.metrics["second_half_growth_mib"] = round((samples[-1] - samples[half]) / 1024, 1) if samples else 0
    r.metrics["rss_after_close_kib"] = server.rss_kib()
    r.expect(hwm - idle["VmRSS"] < 200 * 1024, f"peak RSS {hwm} KiB is more than 200 MiB above idle {idle['VmRSS']} KiB")


def attack_never_reads(server: WeftServer, seconds: float = 10.0) -> Result:
    """5: Health/Check requests pipelined by clients that never read (the brief's attack)."""
    r = Result("5 never-reading client (Check flood)")
    enc = hpack.Encoder()
    first, again = enc.encode(request_headers()), enc.encode(request_headers())
    _never_read_flood(server, r, first, again, True, seconds, connections=2)
    return finish(r, server)


def attack_never_reads_amplified(server: WeftServer, seconds: float = 8.0) -> Result:
    """5c: like 5, but each 15-byte request draws a ~28 KB trailers-only error (see _amplifying_blocks).

    Such a response is all HEADERS, so flow control does not hold it back: only the server's
    write backpressure can. If it buffers without bound, RSS grows by about the output volume."""
    r = Result("5c never-reading client (amplified error responses)")
    first, again = _amplifying_blocks()
    _never_read_flood(server, r, first, again, False, seconds, connections=2, load=0.8, batch=8)
    # Output produced vs memory: a server that buffers everything grows by ~ the output volume.
    out = r.metrics["server_output_mib"]
    # Socket buffers (a few MiB) fill in the first seconds; after that a server with write
    # backpressure stops growing.
    r.expect(r.metrics["second_half_growth_mib"] < 4.0,
             f"RSS still growing in the second half ({r.metrics['second_half_growth_mib']} MiB) "
             f"while {out} MiB of responses went to a client that never reads: the server buffers them")
    return finish(r, server)


def attack_never_reads_ping(server: WeftServer, seconds: float = 5.0) -> Result:
    """5b: PING flood from a client that never reads, with a Watch call open (no ping strikes)."""
    r = Result("5b never-reading client (PING flood, Watch open)")
    idle = server.status_kib()
    s = h2_open(server, rcvbuf=16384)
    s.settimeout(2.0)
    enc = hpack.Encoder()
    send_quietly(s, frame(HEADERS, END_HEADERS, 1, enc.encode(request_headers(WATCH_PATH))) + frame(DATA, END_STREAM, 1, EMPTY_MESSAGE))
    time.sleep(0.2)
    ping = frame(PING, 0, 0, b"12345678")
    burst = ping * 4096
    pings, err, stalls = 0, "", 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        err = send_quietly(s, burst)
        if err == "timeout":
            stalls += 1
            err = ""
            continue
        if err:
            break
        pings += 4096
    hwm = server.hwm_kib()
    s.close()
    time.sleep(0.5)
    r.metrics["pings_sent"] = pings
    r.metrics["send_stalls"] = stalls
    r.metrics["send_error"] = err or "none"
    r.metrics["idle_rss_kib"] = idle["VmRSS"]
    r.metrics["peak_hwm_kib"] = hwm
    r.metrics["growth_mib"] = round((hwm - idle["VmRSS"]) / 1024, 1)
    r.metrics["rss_after_close_kib"] = server.rss_kib()
    r.expect(hwm - idle["VmRSS"] < 200 * 1024, f"peak RSS {hwm} KiB is more than 200 MiB above idle {idle['VmRSS']} KiB")
    return finish(r, server)


# ---------------------------------------------------------------------------------------------
# 6. Half-open connections, 7. idle connections


def _count_closed(socks: list[socket.socket]) -> int:
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    closed += 1
                    break
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def attack_half_open(server: WeftServer, each: int = 200, hold: float = 3.0) -> Result:
    r = Result("6 half-open connections")
    raise_nofile(20000)
    server.health_check()
    idle = server.status_kib()
    fds0 = server.fd_count()
    groups: dict[str, list[socket.socket]] = {"partial_preface": [], "preface_only": [], "preface_and_settings": []}
    payload = {"partial_preface": PREFACE[:10], "preface_only": PREFACE, "preface_and_settings": PREFACE + settings_frame()}
    try:
        for g, socks in groups.items():
            for _ in range(each):
                s = connect(server)
                s.sendall(payload[g])
                socks.append(s)
        time.sleep(0.5)
        ok, secs, errmsg = server.health_check(2.0)
        r.metrics["check_while_held"] = f"ok {secs * 1000:.0f} ms" if ok else f"FAILED {errmsg}"
        r.expect(ok, f"Health/Check failed with half-open connections held: {errmsg}")
        time.sleep(max(0.0, hold - 0.5))
        held = server.status_kib()
        r.metrics["connections"] = sum(len(v) for v in groups.values())
        r.metrics["server_fds"] = f"{fds0} -> {server.fd_count()}"
        r.metrics["closed_by_server_after_s"] = {g: f"{_count_closed(v)}/{len(v)} after {hold:.0f}s" for g, v in groups.items()}
        r.metrics["idle_rss_kib"] = idle["VmRSS"]
        r.metrics["held_rss_kib"] = held["VmRSS"]
        r.metrics["per_conn_kib"] = round((held["VmRSS"] - idle["VmRSS"]) / r.metrics["connections"], 1)
    finally:
        for v in groups.values():
            for s in v:
                s.close()
    return finish(r, server)


def attack_idle_connections(server: WeftServer, n: int = 1000) -> Result:
    r = Result("7 idle connections")
    limit = raise_nofile(20000)
    server.health_check()
    time.sleep(0.2)
    idle = server.status_kib()
    socks = []
    t0 = time.monotonic()
    try:
        for _ in range(n):
            s = connect(server)
            s.sendall(PREFACE + settings_frame() + settings_frame(ack=True))
            socks.append(s)
        open_s = time.monotonic() - t0
        time.sleep(1.0)
        ok, secs, errmsg = server.health_check(2.0)
        held = server.status_kib()
        live = n - _count_closed(socks)
        r.metrics["connections"] = n
        r.metrics["still_open"] = live
        r.metrics["open_s"] = round(open_s, 2)
        r.metrics["client_nofile"] = limit
        r.metrics["server_fds"] = server.fd_count()
        r.metrics["check_with_idle_conns"] = f"ok {secs * 1000:.0f} ms" if ok else f"FAILED {errmsg}"
        r.metrics["idle_rss_kib"] = idle["VmRSS"]
        r.metrics["rss_with_conns_kib"] = held["VmRSS"]
        r.metrics["per_conn_kib"] = round((held["VmRSS"] - idle["VmRSS"]) / n, 1)
        r.expect(ok, f"Health/Check failed with {n} idle connections: {errmsg}")
        r.expect(live == n, f"only {live}/{n} idle connections still open")
    finally:
        for s in socks:
            s.close()
    return finish(r, server)


ATTACKS = [attack_malformed, attack_rapid_reset, attack_continuation_flood, attack_oversized,
           attack_never_reads, attack_never_reads_ping, attack_never_reads_amplified, attack_half_open, attack_idle_connections]


def _amplifying_blocks(value_len: int = 3800) -> tuple[bytes, bytes]:
    """HPACK blocks for a Check whose `grpc-timeout` is `value_len` bytes of 0xFF.

    The first block inserts the request's headers into the server's dynamic table (4096 bytes);
    the second refers to them by index: 6 bytes. The server answers each with a trailers-only
    "Malformed grpc-timeout" whose percent-encoded grpc-message (U+FFFD → %EF%BF%BD per byte)
    is ~9x the value: HEADERS, which flow control does not limit."""
    path = CHECK_PATH.encode()
    first = bytearray(b"\x83\x86")                                   # :method POST, :scheme http
    first += b"\x44" + bytes([len(path)]) + path                     # :path, incremental indexing
    first += b"\x41\x01a"                                            # :authority a
    first += b"\x5f" + bytes([16]) + b"application/grpc"             # content-type
    first += b"\x40\x0cgrpc-timeout" + b"\x7f" + _hpack_int_tail(value_len, 7) + b"\xff" * value_len
    again = bytes([0x83, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62])
    return bytes(first), again
