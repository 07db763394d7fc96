#!/usr/bin/env python3
"""weft-python-sidecar: a Weft sidecar (weft.sidecar.v1.SidecarService) that runs pods as local
subprocesses. It is built from nothing but the files under proto/ (see README.md).

    python3 examples/python-sidecar/sidecar.py --listen 127.0.0.1:7710 --state-dir /var/tmp/pysc

Pods are not sandboxed: every container is a process group of the sidecar's user (or of the
pod's local account when the sidecar runs as root). The image is ignored; `command` is required.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import hmac
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional

import grpc

HERE = Path(__file__).resolve().parent
DEFAULT_PROTO_DIR = HERE.parent.parent / "proto"
DEFAULT_GEN_DIR = HERE / "gen"
PROTO_FILES = ["weft/common/v1/common.proto", "weft/kubelet/v1/pod.proto",
               "weft/sidecar/v1/sidecar.proto"]
VERSION = "0.1.0"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_PARTIAL_MAX = 16384       # longer unfinished lines are cut into partial entries (as the CRI)
LOG_CHUNK = 32 * 1024         # LogChunk size
WATCH_QUEUE_MAX = 10000       # a watcher this far behind is dropped (it reconnects)
VOLUME_KINDS = ["configMap", "secret", "emptyDir", "projected", "hostPath"]

log = logging.getLogger("weft-python-sidecar")

# Generated modules, set by load_stubs().
common_pb2 = pod_pb2 = sidecar_pb2 = sidecar_pb2_grpc = timestamp_pb2 = None


# --------------------------------------------------------------------------------------------
# Stubs


def _stubs_fresh(proto_dir: Path, gen_dir: Path) -> bool:
    outputs = [gen_dir / f.replace(".proto", s) for f in PROTO_FILES for s in ("_pb2.py", "_pb2_grpc.py")]
    if not all(p.is_file() for p in outputs):
        return False
    sources = [proto_dir / f for f in PROTO_FILES]
    if not all(p.is_file() for p in sources):
        return True  # no proto/ next to us: use the stubs we have
    return min(p.stat().st_mtime for p in outputs) >= max(p.stat().st_mtime for p in sources)


def ensure_stubs(proto_dir: Path, gen_dir: Path) -> None:
    """Generates gen/ with grpc_tools.protoc when it is missing or older than the proto files
    (the same as generate.sh). Generation goes to a temporary directory that is renamed into
    place, so concurrent first starts do not see half-written modules."""
    if _stubs_fresh(proto_dir, gen_dir):
        return
    try:
        import grpc_tools
    except ImportError:
        sys.exit("gen/ is missing and grpcio-tools is not installed: "
                 "pip install -r Tests/python/requirements.txt, or run generate.sh elsewhere")
    if not all((proto_dir / f).is_file() for f in PROTO_FILES):
        sys.exit(f"cannot generate stubs: {proto_dir} lacks {', '.join(PROTO_FILES)} (--proto-dir)")
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    gen_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=gen_dir.parent))
    try:
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", str(proto_dir), "-I", str(wkt),
               f"--python_out={tmp}", f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", *PROTO_FILES]
        run = subprocess.run(cmd, cwd=proto_dir, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"grpc_tools.protoc failed:\n{run.stderr}")
        os.chmod(tmp, 0o755)
        old = None
        if gen_dir.exists():
            old = gen_dir.with_name(f".gen-old-{os.getpid()}")
            try:
                os.rename(gen_dir, old)
            except OSError:
                old = None
        try:
            os.rename(tmp, gen_dir)
        except OSError:
            if not _stubs_fresh(proto_dir, gen_dir):  # lost a race against another start: fine
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        log.info("generated Python stubs in %s", gen_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_stubs(gen_dir: Path) -> None:
    global common_pb2, pod_pb2, sidecar_pb2, sidecar_pb2_grpc, timestamp_pb2
    sys.path.insert(0, str(gen_dir))
    from google.protobuf import timestamp_pb2 as _ts
    from weft.common.v1 import common_pb2 as _c
    from weft.kubelet.v1 import pod_pb2 as _p
    from weft.sidecar.v1 import sidecar_pb2 as _s, sidecar_pb2_grpc as _sg
    common_pb2, pod_pb2, sidecar_pb2, sidecar_pb2_grpc, timestamp_pb2 = _c, _p, _s, _sg, _ts


# --------------------------------------------------------------------------------------------
# Small helpers


def rfc3339(ns: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, as Kubernetes log timestamps."""
    s, n = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%09dZ" % n


_RFC3339 = re.compile(rb"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)")


def parse_rfc3339(b: bytes) -> Optional[int]:
    m = _RFC3339.fullmatch(b)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    tz = m.group(8)
    if tz not in (b"Z", b"z"):
        off = int(tz[1:3]) * 3600 + int(tz[4:6]) * 60
        secs -= off if tz[:1] == b"+" else -off
    return secs * 1_000_000_000 + int((m.group(7) or b"0").ljust(9, b"0"))


def ts(ns: int):
    s, n = divmod(ns, 1_000_000_000)
    return timestamp_pb2.Timestamp(seconds=s, nanos=n)


def ts_ns(t) -> int:
    return t.seconds * 1_000_000_000 + t.nanos


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def safe_relpath(rel: str) -> bool:
    """A relative path that stays inside its directory (Kubernetes KeyToPath.path rules)."""
    if not rel or rel.startswith("/") or "\x00" in rel:
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


def volume_env_name(volume: str) -> str:
    return "WEFT_VOLUME_" + re.sub(r"[^A-Za-z0-9]", "_", volume).upper()


def expand(s: str, env: dict) -> str:
    """Kubernetes $(VAR) expansion: defined variables are substituted, undefined references are
    left as written, and $$ escapes a $."""
    out, i, n = [], 0, len(s)
    while i < n:
        if s[i] == "$" and i + 1 < n:
            if s[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if s[i + 1] == "(":
                j = s.find(")", i + 2)
                if j != -1:
                    name = s[i + 2:j]
                    out.append(env[name] if name in env else s[i:j + 1])
                    i = j + 1
                    continue
        out.append(s[i])
        i += 1
    return "".join(out)


_QTY_SUFFIX = {"": Fraction(1), "m": Fraction(1, 1000), "k": Fraction(10**3), "M": Fraction(10**6),
               "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
               "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
               "Pi": Fraction(2**50), "Ei": Fraction(2**60)}


def parse_quantity(s: str) -> Fraction:
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", s.strip())
    if not m or m.group(2) not in _QTY_SUFFIX or Fraction(m.group(1)) == 0:
        raise ValueError(f"invalid divisor {s!r}")
    return Fraction(m.group(1)) * _QTY_SUFFIX[m.group(2)]


def proc_start_time(pid: int) -> Optional[int]:
    """Field 22 of /proc/PID/stat (start time in clock ticks), to recognise a process again."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def mem_total_bytes() -> Optional[int]:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


class Pulse:
    """Wakes every coroutine that waits for "something changed"."""

    def __init__(self):
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        pass


# --------------------------------------------------------------------------------------------
# Container logs: one entry per line, `<RFC 3339 nano time> <stream> <F|P> <content>\n` (the CRI
# format; P marks a piece of a line that was not finished when written).


class LogWriter:
    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self.pending: dict[str, bytes] = {}

    def _write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as e:  # disk full, pod deleted under us: drop output rather than crash
            log.warning("container log write failed: %s", e)

    def append(self, data: bytes, stream: str) -> None:
        buf = self.pending.get(stream, b"") + data
        prefix = f"{rfc3339(time.time_ns())} {stream} ".encode()
        lines = buf.split(b"\n")
        rest = lines.pop()
        out = [prefix + b"F " + line + b"\n" for line in lines]
        while len(rest) > LOG_PARTIAL_MAX:
            out.append(prefix + b"P " + rest[:LOG_PARTIAL_MAX] + b"\n")
            rest = rest[LOG_PARTIAL_MAX:]
        self.pending[stream] = rest
        if out:
            self._write(b"".join(out))

    def finish(self) -> None:
        if self.fd < 0:
            return
        prefix = rfc3339(time.time_ns()).encode()
        for stream, rest in sorted(self.pending.items()):
            if rest:
                self._write(prefix + b" " + stream.encode() + b" P " + rest + b"\n")
        self.pending = {}
        os.close(self.fd)
        self.fd = -1


@dataclass
class LogEntry:
    time: int
    partial: bool
    content: bytes


def parse_log(data: bytes) -> tuple[list[LogEntry], int]:
    """The complete entries of `data` and how many bytes they took."""
    entries, end = [], data.rfind(b"\n") + 1
    for line in data[:end].split(b"\n")[:-1]:
        parts = line.split(b" ", 3)
        if len(parts) < 3:
            continue
        t = parse_rfc3339(parts[0])
        if t is None:
            continue
        entries.append(LogEntry(t, parts[2] == b"P", parts[3] if len(parts) == 4 else b""))
    return entries, end


def render_log(entries: list[LogEntry], timestamps: bool) -> bytes:
    out = []
    for e in entries:
        if timestamps:
            out.append(rfc3339(e.time).encode() + b" ")
        out.append(e.content)
        if not e.partial:
            out.append(b"\n")
    return b"".join(out)


def since_ns(opts, now: int) -> Optional[int]:
    which = opts.WhichOneof("since")
    if which == "since_seconds":
        return now - max(0, opts.since_seconds) * 1_000_000_000
    if which == "since_time":
        return ts_ns(opts.since_time)
    return None


def select_log(entries: list[LogEntry], opts, now: int) -> list[LogEntry]:
    """Kubernetes' since and tail_lines (a line is its partial entries up to a full one)."""
    since = since_ns(opts, now)
    if since is not None:
        entries = [e for e in entries if e.time >= since]
    if opts.HasField("tail_lines"):
        tail = max(0, opts.tail_lines)
        if tail == 0:
            return []
        lines, start = 0, len(entries)
        for i in range(len(entries) - 1, -1, -1):
            if not entries[i].partial or i == len(entries) - 1:
                if lines == tail:
                    break
                lines += 1
            start = i
        entries = entries[start:]
    return entries


# --------------------------------------------------------------------------------------------
# Pod records (persisted as pods/<job id>/record.json under the state directory)

WAITING, RUNNING, TERMINATED = "waiting", "running", "terminated"


@dataclass
class Ctr:
    name: str
    init: bool
    image: str = ""
    state: str = WAITING
    reason: str = ""       # waiting: a fixed reason (else derived); terminated: the reason
    message: str = ""
    exit_code: int = 0
    signal: int = 0
    started_ns: int = 0
    finished_ns: int = 0
    pid: int = 0
    pid_start: int = 0
    log: str = ""
    # runtime only
    proc: Optional[subprocess.Popen] = field(default=None, repr=False)
    log_closed: bool = False
    pulse: Optional[Pulse] = field(default=None, repr=False)

    PERSISTED = ("name", "init", "image", "state", "reason", "message", "exit_code", "signal",
                 "started_ns", "finished_ns", "pid", "pid_start", "log")

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.PERSISTED}

    @classmethod
    def from_json(cls, d: dict) -> "Ctr":
        return cls(**{k: d[k] for k in cls.PERSISTED if k in d})


@dataclass
class Plan:
    """How to start one container; kept in memory only (the environment may hold secrets)."""
    argv: list
    env: dict
    cwd: str


@dataclass
class PodRec:
    uid: str
    name: str
    namespace: str
    job_id: str
    created_ns: int
    containers: list
    grace_s: float = 30.0
    deadline_s: Optional[float] = None
    finished: bool = False
    fail_reason: str = ""
    fail_message: str = ""
    stop_reason: str = ""
    symlinks: list = field(default_factory=list)
    cpu_millis: int = 0
    memory_bytes: int = 0
    conditions: dict = field(default_factory=dict)  # condition name -> [true?, since ns]
    # runtime only
    plans: dict = field(default_factory=dict, repr=False)
    task: Optional[asyncio.Task] = field(default=None, repr=False)
    done: Optional[asyncio.Event] = field(default=None, repr=False)
    delete_task: Optional[asyncio.Task] = field(default=None, repr=False)
    last_sent: bytes = b""

    PERSISTED = ("uid", "name", "namespace", "job_id", "created_ns", "grace_s", "deadline_s",
                 "finished", "fail_reason", "fail_message", "stop_reason", "symlinks",
                 "cpu_millis", "memory_bytes", "conditions")

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in self.PERSISTED}
        d["containers"] = [c.to_json() for c in self.containers]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "PodRec":
        rec = cls(**{k: d[k] for k in cls.PERSISTED if k in d},
                  containers=[Ctr.from_json(c) for c in d.get("containers", [])])
        return rec

    def ref(self):
        return pod_pb2.PodRef(name=self.name, namespace=self.namespace, uid=self.uid)

    def inits(self):
        return [c for c in self.containers if c.init]

    def mains(self):
        return [c for c in self.containers if not c.init]

    def container(self, name: str) -> Optional[Ctr]:
        return next((c for c in self.containers if c.name == name), None)


class MountError(Exception):
    pass


class ConfigError(Exception):
    def __init__(self, container: str, message: str):
        super().__init__(message)
        self.container = container


def _condition_names():
    return {
        "PodScheduled": pod_pb2.POD_CONDITION_TYPE_POD_SCHEDULED,
        "PodReadyToStartContainers": pod_pb2.POD_CONDITION_TYPE_POD_READY_TO_START_CONTAINERS,
        "Initialized": pod_pb2.POD_CONDITION_TYPE_INITIALIZED,
        "ContainersReady": pod_pb2.POD_CONDITION_TYPE_CONTAINERS_READY,
        "Ready": pod_pb2.POD_CONDITION_TYPE_READY,
    }


# --------------------------------------------------------------------------------------------
# The sidecar


class Watcher:
    def __init__(self, refs):
        self.uids = {r.uid for r in refs if r.uid}
        self.names = {(r.namespace, r.name) for r in refs if not r.uid}
        self.all = not refs
        self.queue: asyncio.Queue = asyncio.Queue()
        self.overflowed = False

    def matches(self, pod: PodRec) -> bool:
        return self.all or pod.uid in self.uids or (pod.namespace, pod.name) in self.names


class PythonSidecar:
    """Implements weft.sidecar.v1.SidecarService (the generated add_…_to_server only needs the
    method names, so this class does not subclass the generated servicer)."""

    def __init__(self, state_dir: Path, pod_ip: str = "127.0.0.1", max_pods: int = 110,
                 default_grace: float = 30.0, link_mount_paths: bool = False):
        self.state_dir = state_dir
        self.link_mount_paths = link_mount_paths
        self.pods_dir = state_dir / "pods"
        self.pod_ip = pod_ip
        self.max_pods = max_pods
        self.default_grace = default_grace
        self.pods: dict[str, PodRec] = {}      # uid -> record, in creation order
        self.watchers: set[Watcher] = set()
        self.background: set[asyncio.Task] = set()
        self.next_id = 1
        self.is_root = os.geteuid() == 0
        self.user = self._current_user()

    @staticmethod
    def _current_user() -> str:
        try:
            import pwd
            return pwd.getpwuid(os.geteuid()).pw_name
        except (ImportError, KeyError):
            return str(os.geteuid())

    # ---------------------------------------------------------------- durability

    def load(self) -> None:
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        meta = self.state_dir / "meta.json"
        if meta.exists():
            try:
                self.next_id = int(json.loads(meta.read_text())["next_id"])
            except (OSError, ValueError, KeyError) as e:
                log.warning("ignoring unreadable %s: %s", meta, e)
        recs = []
        for d in self.pods_dir.iterdir():
            path = d / "record.json"
            try:
                rec = PodRec.from_json(json.loads(path.read_text()))
            except (OSError, ValueError, TypeError, KeyError) as e:
                log.warning("ignoring %s: no readable record (%s)", d, e)
                continue
            recs.append(rec)
            m = re.fullmatch(r"py-(\d+)", rec.job_id)
            if m:
                self.next_id = max(self.next_id, int(m.group(1)) + 1)
        now = time.time_ns()
        for rec in sorted(recs, key=lambda r: r.created_ns):
            rec.done = asyncio.Event()
            for c in rec.containers:
                c.pulse = Pulse()
                c.log_closed = True
            if not rec.finished:
                self._recover(rec, now)
            rec.done.set()
            self.pods[rec.uid] = rec
            self._changed(rec, publish=False)
        log.info("state %s: %d pod(s), next job id py-%d", self.state_dir, len(self.pods), self.next_id)

    def _recover(self, rec: PodRec, now: int) -> None:
        """A pod that was running when the sidecar died: its processes are no longer ours to
        watch (their pipes went with us), so they are killed and the pod FAILED."""
        for c in rec.containers:
            if c.state != RUNNING:
                continue
            sig = 0
            if c.pid > 0:
                start = proc_start_time(c.pid)
                # The leader gone or still the same process: the group holds only our orphans.
                if start is None or start == c.pid_start:
                    try:
                        os.killpg(c.pid, signal.SIGKILL)
                        sig = signal.SIGKILL
                    except (ProcessLookupError, PermissionError):
                        pass
            c.state, c.exit_code, c.signal = TERMINATED, 137, int(sig)
            c.reason = "SidecarRestarted"
            c.message = "the sidecar restarted while the container was running; its exit status is unknown"
            c.finished_ns = now
        rec.finished = True
        rec.stop_reason = rec.stop_reason or "SidecarRestarted"
        log.info("pod %s/%s (%s): marked failed, the sidecar restarted while it ran",
                 rec.namespace, rec.name, rec.job_id)

    def _pod_dir(self, rec: PodRec) -> Path:
        return self.pods_dir / rec.job_id

    def _persist(self, rec: PodRec) -> None:
        d = self._pod_dir(rec)
        if not d.is_dir() or self.pods.get(rec.uid) is not rec:
            return
        try:
            write_atomic(d / "record.json", json.dumps(rec.to_json(), sort_keys=True).encode())
        except OSError as e:
            log.error("cannot persist pod %s: %s", rec.job_id, e)

    def _allocate_job_id(self) -> str:
        n = self.next_id
        self.next_id += 1
        write_atomic(self.state_dir / "meta.json", json.dumps({"next_id": self.next_id}).encode())
        return f"py-{n}"

    # ---------------------------------------------------------------- status

    def _phase(self, rec: PodRec) -> int:
        inits, mains = rec.inits(), rec.mains()
        inits_ok = all(c.state == TERMINATED and c.exit_code == 0 for c in inits)
        if inits_ok and mains and all(c.state == TERMINATED for c in mains):
            return pod_pb2.POD_PHASE_SUCCEEDED if all(c.exit_code == 0 for c in mains) else pod_pb2.POD_PHASE_FAILED
        if rec.finished or rec.fail_reason:
            return pod_pb2.POD_PHASE_FAILED
        if any(c.state == TERMINATED and c.exit_code != 0 for c in inits):
            return pod_pb2.POD_PHASE_FAILED
        if inits_ok and any(c.state != WAITING for c in mains):
            return pod_pb2.POD_PHASE_RUNNING
        return pod_pb2.POD_PHASE_PENDING

    def _conditions_now(self, rec: PodRec) -> dict:
        inits_ok = all(c.state == TERMINATED and c.exit_code == 0 for c in rec.inits())
        ready = all(c.state == RUNNING for c in rec.mains())
        return {"PodScheduled": True, "PodReadyToStartContainers": rec.fail_reason != "FailedMount",
                "Initialized": inits_ok, "ContainersReady": ready, "Ready": ready}

    def _container_status(self, rec: PodRec, c: Ctr, inits_ok: bool, final: bool):
        cs = pod_pb2.ContainerStatus(name=c.name, image=c.image, restart_count=0)
        if c.pid:
            cs.container_id = f"pid://{c.pid}"
        if c.state == RUNNING and not final:
            cs.state.running.started_at.CopyFrom(ts(c.started_ns))
            cs.ready, cs.started = True, True
        elif c.state == TERMINATED or final:
            t = cs.state.terminated
            if c.state == TERMINATED:
                t.exit_code, t.signal, t.reason, t.message = c.exit_code, c.signal, c.reason, c.message
                if c.finished_ns:
                    t.finished_at.CopyFrom(ts(c.finished_ns))
            else:  # DeletePod's final status of a container that never ran to its end
                t.exit_code, t.reason = 137, "ContainerStatusUnknown"
                t.message = "the container was not running when the pod was deleted"
                t.finished_at.CopyFrom(ts(time.time_ns()))
            if c.started_ns:
                t.started_at.CopyFrom(ts(c.started_ns))
            t.container_id = cs.container_id
            cs.started = False
        else:
            w = cs.state.waiting
            w.reason = c.reason or ("PodInitializing" if c.init or not inits_ok else "ContainerCreating")
            w.message = c.message
            cs.started = False
        return cs

    def _status(self, rec: PodRec, final: bool = False):
        st = pod_pb2.PodStatus(phase=self._phase(rec), host_ip=self.pod_ip, pod_ip=self.pod_ip,
                               pod_ips=[self.pod_ip])
        st.start_time.CopyFrom(ts(rec.created_ns))
        if final and st.phase in (pod_pb2.POD_PHASE_PENDING, pod_pb2.POD_PHASE_RUNNING):
            st.phase = pod_pb2.POD_PHASE_FAILED
        if rec.fail_reason:
            st.reason, st.message = rec.fail_reason, rec.fail_message
        elif st.phase == pod_pb2.POD_PHASE_FAILED:
            failed = next((c for c in rec.containers if c.state == TERMINATED and c.exit_code != 0), None)
            if rec.stop_reason:
                st.reason = rec.stop_reason
                st.message = {"Killed": "the pod was deleted",
                              "DeadlineExceeded": "the pod ran longer than its active deadline",
                              "SidecarRestarted": "the sidecar stopped while the pod was running"
                              }.get(rec.stop_reason, rec.stop_reason)
            elif failed is not None:
                kind = "init container" if failed.init else "container"
                st.message = f"{kind} {failed.name} failed with exit code {failed.exit_code}"
        inits_ok = all(c.state == TERMINATED and c.exit_code == 0 for c in rec.inits())
        for c in rec.containers:
            (st.init_container_statuses if c.init else st.container_statuses).append(
                self._container_status(rec, c, inits_ok, final))
        completed = st.phase in (pod_pb2.POD_PHASE_SUCCEEDED, pod_pb2.POD_PHASE_FAILED)
        for name, ctype in _condition_names().items():
            value, since = rec.conditions.get(name, [False, rec.created_ns])
            cond = st.conditions.add(
                condition_type=ctype,
                status=pod_pb2.CONDITION_STATUS_IS_TRUE if value else pod_pb2.CONDITION_STATUS_IS_FALSE)
            cond.last_transition_time.CopyFrom(ts(since))
            if not value and completed and name in ("ContainersReady", "Ready"):
                cond.reason = "PodCompleted"
        return st

    def _report(self, rec: PodRec, final: bool = False):
        report = pod_pb2.PodStatusReport(pod=rec.ref(), remote_job_id=rec.job_id,
                                         status=self._status(rec, final))
        report.observe_time.CopyFrom(ts(time.time_ns()))
        return report

    def _changed(self, rec: PodRec, change: Optional[int] = None, publish: bool = True) -> None:
        """Called after every state change: updates condition times, persists the record and
        tells watchers (MODIFIED only when the status really changed)."""
        now = time.time_ns()
        for name, value in self._conditions_now(rec).items():
            old = rec.conditions.get(name)
            if old is None or old[0] != value:
                rec.conditions[name] = [value, now]
        self._persist(rec)
        status = self._status(rec)
        key = status.SerializeToString(deterministic=True)
        if change is None:
            if key == rec.last_sent:
                return
            change = common_pb2.CHANGE_TYPE_MODIFIED
        rec.last_sent = key
        if publish and self.pods.get(rec.uid) is rec:  # nothing after DELETED
            report = pod_pb2.PodStatusReport(pod=rec.ref(), remote_job_id=rec.job_id, status=status)
            report.observe_time.CopyFrom(ts(now))
            self._publish(rec, change, report)

    def _publish(self, rec: PodRec, change: int, report) -> None:
        msg = sidecar_pb2.WatchPodStatusesResponse(change_type=change, report=report)
        for w in list(self.watchers):
            if not w.matches(rec):
                continue
            if w.queue.qsize() >= WATCH_QUEUE_MAX:
                w.overflowed = True
                self.watchers.discard(w)
                w.queue.put_nowait(None)
            else:
                w.queue.put_nowait(msg)

    def _find(self, ref, job_id: str = "") -> Optional[PodRec]:
        if ref.uid:
            return self.pods.get(ref.uid)
        for rec in self.pods.values():
            if (job_id and rec.job_id == job_id) or (ref.name and (rec.namespace, rec.name) == (ref.namespace, ref.name)):
                return rec
        return None

    # ---------------------------------------------------------------- CreatePod

    def _validate(self, sub, local_account: str) -> Optional[str]:
        pod = sub.pod
        if not pod.metadata.uid:
            return "pod.metadata.uid is required"
        if not pod.metadata.name:
            return "pod.metadata.name is required"
        spec = pod.spec
        if not spec.containers:
            return "the pod has no containers"
        names = [c.name for c in list(spec.init_containers) + list(spec.containers)]
        for n in names:
            if not _NAME.fullmatch(n):
                return f"invalid container name {n!r}"
        if len(set(names)) != len(names):
            return "container names are not unique"
        volumes = {}
        for v in spec.volumes:
            if not _NAME.fullmatch(v.name) or v.name in volumes:
                return f"invalid or duplicate volume name {v.name!r}"
            kind = v.WhichOneof("source")
            if kind == "persistent_volume_claim":
                return f"volume {v.name}: persistentVolumeClaim volumes are not supported by the python sidecar"
            if kind is None:
                return f"volume {v.name}: no volume source"
            items = []
            if kind == "config_map":
                items = v.config_map.items
            elif kind == "secret":
                items = v.secret.items
            elif kind == "projected":
                for s in v.projected.sources:
                    which = s.WhichOneof("projection")
                    if which in ("config_map", "secret"):
                        items = list(items) + list(getattr(s, which).items)
                    elif which == "downward_api":
                        items = list(items) + list(s.downward_api.items)
            elif kind == "host_path" and not v.host_path.path.startswith("/"):
                return f"volume {v.name}: hostPath must be absolute"
            for it in items:
                if not safe_relpath(it.path):
                    return f"volume {v.name}: invalid path {it.path!r}"
            volumes[v.name] = kind
        for pv in sub.projected_volumes:
            for p in pv.files:
                if not safe_relpath(p):
                    return f"projected volume {pv.volume_name}: invalid path {p!r}"
        for c in list(spec.init_containers) + list(spec.containers):
            for m in c.volume_mounts:
                if m.name not in volumes:
                    return f"container {c.name}: volume mount of unknown volume {m.name!r}"
                if not m.mount_path.startswith("/"):
                    return f"container {c.name}: mount path {m.mount_path!r} is not absolute"
                if m.sub_path and not safe_relpath(m.sub_path):
                    return f"container {c.name}: invalid subPath {m.sub_path!r}"
        if local_account and local_account != self.user and not self.is_root:
            return (f"the pod must run as local account {local_account!r} but the sidecar runs as "
                    f"{self.user!r} and is not root")
        return None

    @staticmethod
    def _by_name(objs, namespace: str) -> dict:
        out = {}
        for o in objs:
            n = o.metadata.name
            if n not in out or o.metadata.namespace in ("", namespace):
                out[n] = o
        return out

    def _field(self, pod, path: str) -> str:
        meta, spec = pod.metadata, pod.spec
        m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
        if m:
            return dict(getattr(meta, m.group(1))).get(m.group(2), "")
        if path in ("metadata.labels", "metadata.annotations"):
            return "\n".join(f'{k}="{v}"' for k, v in sorted(dict(getattr(meta, path[9:])).items()))
        simple = {"metadata.name": meta.name, "metadata.namespace": meta.namespace,
                  "metadata.uid": meta.uid, "spec.nodeName": spec.node_name,
                  "spec.serviceAccountName": spec.service_account_name,
                  "status.hostIP": self.pod_ip, "status.hostIPs": self.pod_ip,
                  "status.podIP": self.pod_ip, "status.podIPs": self.pod_ip}
        if path in simple:
            return simple[path]
        raise ValueError(f"unsupported fieldRef {path!r}")

    def _resource(self, pod, current, sel) -> str:
        c = current
        if sel.container_name:
            c = next((x for x in list(pod.spec.init_containers) + list(pod.spec.containers)
                      if x.name == sel.container_name), None)
            if c is None:
                raise ValueError(f"resourceFieldRef: no container {sel.container_name!r}")
        which, _, kind = sel.resource.partition(".")
        if which not in ("limits", "requests"):
            raise ValueError(f"unsupported resourceFieldRef {sel.resource!r}")
        q = getattr(c.resources, which)
        divisor = parse_quantity(sel.divisor or "1")
        cap = self._capacity()
        if kind == "cpu":
            millis = q.cpu_millis if q.HasField("cpu_millis") else (cap.cpu_millis if which == "limits" else 0)
            return str(math.ceil(Fraction(millis, 1000) / divisor))
        fields = {"memory": "memory_bytes", "ephemeral-storage": "ephemeral_storage_bytes"}
        if kind in fields:
            f = fields[kind]
            amount = getattr(q, f) if q.HasField(f) else (getattr(cap, f) if which == "limits" else 0)
            return str(math.ceil(Fraction(amount) / divisor))
        raise ValueError(f"unsupported resourceFieldRef {sel.resource!r}")

    def _write_file(self, d: Path, rel: str, data: bytes, mode: int) -> None:
        if not safe_relpath(rel):
            raise MountError(f"invalid file name {rel!r}")
        path = d / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode & 0o7777)
        try:
            os.fchmod(fd, mode & 0o7777)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def _write_keys(self, d: Path, what: str, data: Optional[dict], items, default_mode: int,
                    optional: bool) -> None:
        d.mkdir(parents=True, exist_ok=True)
        if data is None:
            if optional:
                return
            raise MountError(f"{what} not found")
        if items:
            for it in items:
                if it.key not in data:
                    if optional:
                        continue
                    raise MountError(f"{what} has no key {it.key!r}")
                self._write_file(d, it.path, data[it.key], it.mode if it.HasField("mode") else default_mode)
        else:
            for k, v in data.items():
                self._write_file(d, k, v, default_mode)

    @staticmethod
    def _cm_data(cm) -> Optional[dict]:
        if cm is None:
            return None
        data = {k: v.encode() for k, v in cm.data.items()}
        data.update(dict(cm.binary_data))
        return data

    def _materialise(self, rec: PodRec, sub, cms: dict, secrets: dict) -> dict:
        """Creates every volume under the pod directory; returns volume name -> directory."""
        pod = sub.pod
        root = self._pod_dir(rec) / "volumes"
        projected = {pv.volume_name: pv for pv in sub.projected_volumes}
        dirs = {}
        for v in pod.spec.volumes:
            kind = v.WhichOneof("source")
            d = root / v.name
            if kind == "config_map":
                src = v.config_map
                mode = src.default_mode if src.HasField("default_mode") else 0o644
                self._write_keys(d, f'configmap "{src.name}"', self._cm_data(cms.get(src.name)),
                                 src.items, mode, src.allow_missing)
            elif kind == "secret":
                src = v.secret
                mode = src.default_mode if src.HasField("default_mode") else 0o644
                s = secrets.get(src.secret_name)
                self._write_keys(d, f'secret "{src.secret_name}"', dict(s.data) if s else None,
                                 src.items, mode, src.allow_missing)
            elif kind == "empty_dir":
                d.mkdir(parents=True, exist_ok=True)
                os.chmod(d, 0o777 if self.is_root else 0o755)
            elif kind == "projected":
                src = v.projected
                mode = src.default_mode if src.HasField("default_mode") else 0o644
                d.mkdir(parents=True, exist_ok=True)
                data = projected.get(v.name)
                for s in src.sources:
                    which = s.WhichOneof("projection")
                    if which == "config_map":
                        self._write_keys(d, f'configmap "{s.config_map.name}"',
                                         self._cm_data(cms.get(s.config_map.name)), s.config_map.items,
                                         mode, s.config_map.allow_missing)
                    elif which == "secret":
                        sec = secrets.get(s.secret.name)
                        self._write_keys(d, f'secret "{s.secret.name}"', dict(sec.data) if sec else None,
                                         s.secret.items, mode, s.secret.allow_missing)
                    elif which == "downward_api":
                        for it in s.downward_api.items:
                            if data is not None and it.path in data.files:
                                continue
                            try:
                                if it.HasField("field_ref"):
                                    value = self._field(pod, it.field_ref.field_path)
                                else:
                                    value = self._resource(pod, None, it.resource_field_ref)
                            except ValueError as e:
                                raise MountError(str(e))
                            self._write_file(d, it.path, value.encode(),
                                             it.mode if it.HasField("mode") else mode)
                    elif which == "service_account_token" and (data is None or s.service_account_token.path not in data.files):
                        log.warning("pod %s: no service account token supplied for volume %s", rec.job_id, v.name)
                if data is not None:  # files materialised by the kubelet API win
                    for p, content in data.files.items():
                        self._write_file(d, p, content, data.modes.get(p, mode))
            elif kind == "host_path":
                hp = v.host_path
                d = Path(hp.path)
                t = hp.path_type
                if t == pod_pb2.HOST_PATH_TYPE_DIRECTORY_OR_CREATE:
                    d.mkdir(mode=0o755, parents=True, exist_ok=True)
                elif t == pod_pb2.HOST_PATH_TYPE_FILE_OR_CREATE and not d.exists():
                    d.parent.mkdir(parents=True, exist_ok=True)
                    d.touch(mode=0o644)
                elif t == pod_pb2.HOST_PATH_TYPE_DIRECTORY and not d.is_dir():
                    raise MountError(f"hostPath {hp.path} is not a directory")
                elif t == pod_pb2.HOST_PATH_TYPE_FILE and not d.is_file():
                    raise MountError(f"hostPath {hp.path} is not a file")
            dirs[v.name] = d
        return dirs

    def _plan(self, rec: PodRec, sub, c, cms: dict, secrets: dict, volume_dirs: dict) -> Plan:
        pod = sub.pod
        work = self._pod_dir(rec) / "work"

        def fail(msg):
            raise ConfigError(c.name, msg)

        env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), "HOME": str(work),
               "HOSTNAME": pod.spec.hostname or pod.metadata.name, "WEFT_POD_DIR": str(work)}
        for m in c.volume_mounts:
            env[volume_env_name(m.name)] = str(volume_dirs[m.name])
        for ef in c.env_from:
            which = ef.WhichOneof("source")
            if which == "config_map_name":
                data = self._cm_data(cms.get(ef.config_map_name))
                what = f'configmap "{ef.config_map_name}"'
            elif which == "secret_name":
                s = secrets.get(ef.secret_name)
                data = dict(s.data) if s else None
                what = f'secret "{ef.secret_name}"'
            else:
                continue
            if data is None:
                if ef.allow_missing:
                    continue
                fail(f"{what} not found")
            for k, v in data.items():
                name = ef.prefix + k
                if _ENV_NAME.fullmatch(name):
                    env[name] = v.decode("utf-8", "surrogateescape")
        for e in c.env:
            which = e.WhichOneof("source")
            if which == "value" or which is None:
                env[e.name] = expand(e.value, env)
                continue
            src = e.value_from
            kind = src.WhichOneof("source")
            if kind == "config_map_key_ref":
                ref = src.config_map_key_ref
                data = self._cm_data(cms.get(ref.name))
                if data is None or ref.key not in data:
                    if ref.allow_missing:
                        continue
                    fail(f'configmap "{ref.name}" not found' if data is None
                         else f"couldn't find key {ref.key} in ConfigMap {pod.metadata.namespace}/{ref.name}")
                env[e.name] = data[ref.key].decode("utf-8", "surrogateescape")
            elif kind == "secret_key_ref":
                ref = src.secret_key_ref
                s = secrets.get(ref.name)
                if s is None or ref.key not in s.data:
                    if ref.allow_missing:
                        continue
                    fail(f'secret "{ref.name}" not found' if s is None
                         else f"couldn't find key {ref.key} in Secret {pod.metadata.namespace}/{ref.name}")
                env[e.name] = s.data[ref.key].decode("utf-8", "surrogateescape")
            elif kind == "field_ref":
                try:
                    env[e.name] = self._field(pod, src.field_ref.field_path)
                except ValueError as err:
                    fail(str(err))
            elif kind == "resource_field_ref":
                try:
                    env[e.name] = self._resource(pod, c, src.resource_field_ref)
                except ValueError as err:
                    fail(str(err))
        argv = [expand(a, env) for a in list(c.command) + list(c.args)] if c.command else []
        return Plan(argv=argv, env=env, cwd=c.working_dir or str(work))

    def _link_mounts(self, rec: PodRec, spec, volume_dirs: dict) -> None:
        """Best effort: a symlink at each mount path that does not exist yet, in a writable
        directory, pointing at the materialised volume (there is no mount namespace)."""
        ours = str(self.pods_dir.resolve()) + "/"
        for c in list(spec.init_containers) + list(spec.containers):
            for m in c.volume_mounts:
                target = Path(volume_dirs[m.name])
                if m.sub_path:
                    target = target / m.sub_path
                    if str(target).startswith(str(self._pod_dir(rec))) and not target.exists():
                        target.mkdir(parents=True, exist_ok=True)
                link = Path(m.mount_path)
                try:
                    if link.is_symlink():
                        current = os.readlink(link)
                        if current == str(target):
                            continue
                        if current.startswith(ours) and not os.path.exists(current):
                            link.unlink()  # left over from a pod that is gone
                        else:
                            log.info("pod %s: mount path %s exists; not linked", rec.job_id, link)
                            continue
                    elif link.exists():
                        log.info("pod %s: mount path %s exists; not linked", rec.job_id, link)
                        continue
                    if not (link.parent.is_dir() and os.access(link.parent, os.W_OK | os.X_OK)):
                        log.info("pod %s: cannot create mount path %s; use $%s", rec.job_id, link,
                                 volume_env_name(m.name))
                        continue
                    os.symlink(target, link)
                    rec.symlinks.append(str(link))
                except OSError as e:
                    log.info("pod %s: cannot link mount path %s: %s", rec.job_id, link, e)

    def _unlink_mounts(self, rec: PodRec) -> None:
        d = str(self._pod_dir(rec))
        for link in rec.symlinks:
            try:
                if os.path.islink(link) and os.readlink(link).startswith(d):
                    os.unlink(link)
            except OSError as e:
                log.info("pod %s: cannot remove mount link %s: %s", rec.job_id, link, e)
        rec.symlinks = []

    def _account(self, name: str):
        import pwd
        pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_gid, os.getgrouplist(name, pw.pw_gid)

    async def CreatePod(self, request, context):
        sub = request.submission
        meta = sub.pod.metadata
        existing = self.pods.get(meta.uid) if meta.uid else None
        if existing is not None:
            return sidecar_pb2.CreatePodResponse(pod=existing.ref(), remote_job_id=existing.job_id,
                                                 status=self._status(existing), created=False)
        problem = self._validate(sub, request.local_account)
        if problem:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        active = sum(1 for p in self.pods.values() if not p.finished)
        if active >= self.max_pods:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the sidecar already runs {active} pods (--max-pods {self.max_pods})")
        spec = sub.pod.spec
        account = None
        if request.local_account and self.is_root:
            try:
                account = self._account(request.local_account)
            except KeyError:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"unknown local account {request.local_account!r}")
        try:
            job_id = self._allocate_job_id()
        except OSError as e:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"state directory not writable: {e}")
        containers = [Ctr(name=c.name, init=True, image=c.image) for c in spec.init_containers]
        containers += [Ctr(name=c.name, init=False, image=c.image) for c in spec.containers]
        for i, c in enumerate(containers):
            c.log = f"logs/{i}-{c.name}.log"
            c.pulse = Pulse()
        cpu = mem = 0
        for c in spec.containers:
            r = c.resources
            q = r.requests if (r.requests.HasField("cpu_millis") or r.requests.HasField("memory_bytes")) else r.limits
            cpu += q.cpu_millis
            mem += q.memory_bytes
        rec = PodRec(uid=meta.uid, name=meta.name, namespace=meta.namespace, job_id=job_id,
                     created_ns=time.time_ns(), containers=containers,
                     grace_s=(spec.termination_grace_period.seconds + spec.termination_grace_period.nanos / 1e9
                              if spec.HasField("termination_grace_period") else self.default_grace),
                     deadline_s=(spec.active_deadline.seconds + spec.active_deadline.nanos / 1e9
                                 if spec.HasField("active_deadline") else None),
                     cpu_millis=cpu, memory_bytes=mem)
        rec.done = asyncio.Event()
        d = self._pod_dir(rec)
        try:
            for sub_dir in ("", "volumes", "logs", "work"):
                (d / sub_dir).mkdir(mode=0o700, exist_ok=True)
            self.pods[rec.uid] = rec  # no await from here on: concurrent creates see the record
            self._persist(rec)
            cms = self._by_name(sub.config_maps, meta.namespace)
            secrets = self._by_name(sub.secrets, meta.namespace)
            try:
                volume_dirs = self._materialise(rec, sub, cms, secrets)
                for c in list(spec.init_containers) + list(spec.containers):
                    rec.plans[c.name] = self._plan(rec, sub, c, cms, secrets, volume_dirs)
                if self.link_mount_paths:
                    self._link_mounts(rec, spec, volume_dirs)
            except MountError as e:
                rec.fail_reason, rec.fail_message = "FailedMount", f"MountVolume.SetUp failed: {e}"
            except ConfigError as e:
                rec.fail_reason, rec.fail_message = "CreateContainerConfigError", f"container {e.container}: {e}"
                bad = rec.container(e.container)
                bad.reason, bad.message = "CreateContainerConfigError", str(e)
            if account is not None:
                uid, gid, _ = account
                for dirpath, dirnames, filenames in os.walk(d):
                    for n in [dirpath] + [os.path.join(dirpath, x) for x in dirnames + filenames]:
                        os.lchown(n, uid, gid)
        except Exception as e:
            log.exception("pod %s: create failed", job_id)
            self.pods.pop(rec.uid, None)
            shutil.rmtree(d, ignore_errors=True)
            await context.abort(grpc.StatusCode.INTERNAL, f"create failed: {e}")
        if rec.fail_reason:
            rec.plans = {}
            rec.finished = True
            rec.done.set()
            log.info("pod %s/%s uid=%s: %s (%s)", meta.namespace, meta.name, meta.uid, rec.fail_reason, job_id)
        else:
            rec.task = asyncio.get_running_loop().create_task(self._run_pod(rec, account))
            log.info("pod %s/%s uid=%s: created as %s", meta.namespace, meta.name, meta.uid, job_id)
        self._changed(rec, common_pb2.CHANGE_TYPE_ADDED)
        return sidecar_pb2.CreatePodResponse(pod=rec.ref(), remote_job_id=job_id,
                                             status=self._status(rec), created=True)

    # ---------------------------------------------------------------- running

    async def _run_pod(self, rec: PodRec, account) -> None:
        loop = asyncio.get_running_loop()
        deadline = None
        if rec.deadline_s is not None:
            def expire():
                task = loop.create_task(self._stop(rec, rec.grace_s, "DeadlineExceeded"))
                self.background.add(task)
                task.add_done_callback(self.background.discard)
            deadline = loop.call_later(rec.deadline_s, expire)
        try:
            ok = True
            for c in rec.inits():
                if rec.stop_reason:
                    ok = False
                    break
                if not await self._run_container(rec, c, account):
                    ok = False
                    break
            if ok and not rec.stop_reason:
                self._changed(rec)  # regular containers: PodInitializing -> ContainerCreating
                await asyncio.gather(*(self._run_container(rec, c, account) for c in rec.mains()))
        except Exception as e:  # never leave a pod running forever because of a bug here
            log.exception("pod %s: runner failed", rec.job_id)
            rec.fail_reason, rec.fail_message = "SidecarError", str(e)
            self._signal(rec, signal.SIGKILL)
        finally:
            if deadline is not None:
                deadline.cancel()
            rec.plans = {}
            rec.finished = True
            self._changed(rec)
            rec.done.set()
            for c in rec.containers:
                c.pulse.fire()
            phase = pod_pb2.PodPhase.Name(self._phase(rec))
            log.info("pod %s/%s (%s): finished, %s", rec.namespace, rec.name, rec.job_id, phase)

    def _terminate_unstarted(self, rec: PodRec, c: Ctr, code: int, reason: str, message: str) -> bool:
        c.state, c.exit_code, c.reason, c.message = TERMINATED, code, reason, message
        c.started_ns = c.finished_ns = time.time_ns()
        c.log_closed = True
        c.pulse.fire()
        log.info("pod %s container %s: %s: %s", rec.job_id, c.name, reason, message)
        self._changed(rec)
        return False

    async def _run_container(self, rec: PodRec, c: Ctr, account) -> bool:
        """Runs one container to its end; True if it exited 0."""
        if rec.stop_reason:
            return False
        plan: Plan = rec.plans[c.name]
        if not plan.argv:
            return self._terminate_unstarted(
                rec, c, 128, "InvalidImageName",
                "the python sidecar needs a command: it runs processes, not images")
        if not os.path.isdir(plan.cwd):
            return self._terminate_unstarted(rec, c, 128, "StartError",
                                             f"working directory {plan.cwd} does not exist")
        loop = asyncio.get_running_loop()
        writer = LogWriter(self._pod_dir(rec) / c.log)
        kwargs = {}
        if account is not None:
            kwargs = {"user": account[0], "group": account[1], "extra_groups": account[2]}
        try:
            proc = subprocess.Popen(plan.argv, cwd=plan.cwd, env=plan.env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True, close_fds=True, **kwargs)
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            writer.finish()
            return self._terminate_unstarted(rec, c, 128, "StartError", f"cannot start {plan.argv[0]!r}: {e}")
        c.proc = proc
        c.state, c.pid, c.pid_start, c.started_ns = RUNNING, proc.pid, proc_start_time(proc.pid) or 0, time.time_ns()
        c.reason = c.message = ""
        log.info("pod %s container %s: started, pid %d", rec.job_id, c.name, proc.pid)
        self._changed(rec)

        # Output: non-blocking reads on the event loop, one log entry per line.
        eofs = []
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            eof = loop.create_future()
            eofs.append((fd, pipe, eof))

            def readable(fd=fd, pipe=pipe, eof=eof, stream=stream):
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""
                if data:
                    writer.append(data, stream)
                    c.pulse.fire()
                    return
                loop.remove_reader(fd)
                pipe.close()
                if not eof.done():
                    eof.set_result(None)

            loop.add_reader(fd, readable)

        # Exit: a pidfd becomes readable when the process exits, before it is reaped, so the rest
        # of its process group can be killed while its id cannot be reused.
        exited = loop.create_future()

        def set_exited():
            if not exited.done():
                exited.set_result(None)

        pidfd = -1
        try:
            pidfd = os.pidfd_open(proc.pid)
            loop.add_reader(pidfd, set_exited)
        except (AttributeError, OSError):
            def wait_no_reap():
                try:
                    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                except ChildProcessError:
                    pass
                loop.call_soon_threadsafe(set_exited)
            threading.Thread(target=wait_no_reap, daemon=True).start()
        try:
            await exited
        finally:
            if pidfd >= 0:
                loop.remove_reader(pidfd)
                os.close(pidfd)
            # The container ends with its main process: kill whatever it left behind in its group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            rc = proc.wait()
        finished = time.time_ns()
        _, pending = await asyncio.wait([e for _, _, e in eofs], timeout=2.0)
        for fd, pipe, eof in eofs:
            if not eof.done():  # a daemon outside the group still holds the pipe
                loop.remove_reader(fd)
                pipe.close()
        writer.finish()
        c.proc = None
        c.state, c.finished_ns = TERMINATED, finished
        if rc < 0:
            c.signal, c.exit_code = -rc, 128 - rc
        else:
            c.signal, c.exit_code = 0, rc
        c.reason = "Completed" if c.exit_code == 0 else "Error"
        c.message = f"killed by signal {c.signal}" if c.signal else ""
        c.log_closed = True
        c.pulse.fire()
        log.info("pod %s container %s: exited with code %d", rec.job_id, c.name, c.exit_code)
        self._changed(rec)
        return c.exit_code == 0

    def _signal(self, rec: PodRec, sig: int) -> None:
        for c in rec.containers:
            if c.proc is not None and c.proc.returncode is None:
                try:
                    os.killpg(c.proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    async def _stop(self, rec: PodRec, grace: float, reason: str) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns when the pod's runner is done."""
        if rec.finished:
            return
        if not rec.stop_reason:
            rec.stop_reason = reason
            log.info("pod %s: stopping (%s, grace %.1fs)", rec.job_id, reason, grace)
        self._signal(rec, signal.SIGTERM)
        await wait_event(rec.done, max(0.0, grace))
        for _ in range(10):
            if rec.done.is_set():
                return
            self._signal(rec, signal.SIGKILL)
            await wait_event(rec.done, 1.0)
        log.error("pod %s: processes survive SIGKILL (uninterruptible?); giving up waiting", rec.job_id)

    async def shutdown(self, grace: float) -> None:
        active = [r for r in self.pods.values() if not r.finished]
        if active:
            log.info("stopping %d running pod(s)", len(active))
            await asyncio.gather(*(self._stop(r, grace, "SidecarRestarted") for r in active))

    # ---------------------------------------------------------------- DeletePod

    async def _delete(self, rec: PodRec, grace: float):
        await self._stop(rec, grace, "Killed")
        report = self._report(rec, final=True)
        if self.pods.get(rec.uid) is rec:
            del self.pods[rec.uid]
        self._publish(rec, common_pb2.CHANGE_TYPE_DELETED, report)
        self._unlink_mounts(rec)
        shutil.rmtree(self._pod_dir(rec), ignore_errors=True)
        for c in rec.containers:
            c.pulse.fire()
        log.info("pod %s/%s (%s): deleted", rec.namespace, rec.name, rec.job_id)
        return report.status

    async def DeletePod(self, request, context):
        rec = self._find(request.pod, request.remote_job_id)
        if rec is None:
            return sidecar_pb2.DeletePodResponse(pod=request.pod, found=False)
        if request.HasField("grace_period"):
            grace = request.grace_period.seconds + request.grace_period.nanos / 1e9
        else:
            grace = rec.grace_s
        if rec.delete_task is None:
            rec.delete_task = asyncio.get_running_loop().create_task(self._delete(rec, grace))
        final = await asyncio.shield(rec.delete_task)  # a cancelled call does not stop the delete
        return sidecar_pb2.DeletePodResponse(pod=rec.ref(), found=True, final_status=final)

    # ---------------------------------------------------------------- status RPCs

    async def BatchGetPodStatuses(self, request, context):
        resp = sidecar_pb2.BatchGetPodStatusesResponse()
        for ref in request.pods:
            rec = self._find(ref)
            if rec is None:
                resp.not_found.append(ref)
            else:
                resp.statuses.append(self._report(rec))
        return resp

    async def WatchPodStatuses(self, request, context):
        w = Watcher(request.pods)
        self.watchers.add(w)
        try:
            snapshot = [self._report(r) for r in list(self.pods.values()) if w.matches(r)]
            for report in snapshot:
                yield sidecar_pb2.WatchPodStatusesResponse(change_type=common_pb2.CHANGE_TYPE_CURRENT,
                                                           report=report)
            yield sidecar_pb2.WatchPodStatusesResponse(change_type=common_pb2.CHANGE_TYPE_SYNCED)
            while True:
                msg = await w.queue.get()
                if msg is None:
                    log.warning("watch stream dropped: the client does not keep up")
                    return
                yield msg
        finally:
            self.watchers.discard(w)

    # ---------------------------------------------------------------- logs

    async def GetContainerLogs(self, request, context):
        rec = self._find(request.pod, request.remote_job_id)
        if rec is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"pod {request.pod.namespace}/{request.pod.name} not found")
        c = rec.container(request.container_name) if request.container_name else (
            rec.mains()[0] if len(rec.mains()) == 1 else None)
        if c is None:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"container {request.container_name!r} not found in pod {rec.name}"
                                if request.container_name else
                                f"pod {rec.name} has several containers; name one")
        opts = request.options
        if opts.previous:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f'previous terminated container "{c.name}" in pod "{rec.name}" not found '
                                "(the python sidecar never restarts containers)")
        path = self._pod_dir(rec) / c.log
        limit = max(0, opts.limit_bytes) if opts.HasField("limit_bytes") else None
        sent, pos, first = 0, 0, True
        while True:
            if limit is not None and sent >= limit:
                return
            wake = c.pulse.current()
            done = c.log_closed or rec.done.is_set() or self.pods.get(rec.uid) is not rec
            try:
                with open(path, "rb") as f:
                    f.seek(pos)
                    data = f.read(None if first else 4 << 20)
            except FileNotFoundError:
                data = b""
            entries, consumed = parse_log(data)
            more = len(data) >= (4 << 20) and not first
            pos += consumed
            if first:
                entries = select_log(entries, opts, time.time_ns())
                first = False
            elif opts.WhichOneof("since") == "since_time":
                since = ts_ns(opts.since_time)
                entries = [e for e in entries if e.time >= since]
            out = render_log(entries, opts.timestamps)
            if limit is not None:
                out = out[:limit - sent]
            for i in range(0, len(out), LOG_CHUNK):
                piece = out[i:i + LOG_CHUNK]
                yield sidecar_pb2.GetContainerLogsResponse(chunk=pod_pb2.LogChunk(data=piece, offset=sent))
                sent += len(piece)
            if not opts.follow or (done and not more):
                return
            if not more:
                await wait_event(wake, 1.0)

    # ---------------------------------------------------------------- info

    def _capacity(self):
        cap = common_pb2.ResourceQuantities(cpu_millis=(os.cpu_count() or 1) * 1000, pods=self.max_pods)
        mem = mem_total_bytes()
        if mem is not None:
            cap.memory_bytes = mem
        try:
            cap.ephemeral_storage_bytes = shutil.disk_usage(self.state_dir).total
        except OSError:
            pass
        return cap

    async def Ping(self, request, context):
        resp = sidecar_pb2.PingResponse(backend_reachable=True)
        resp.server_time.CopyFrom(ts(time.time_ns()))
        return resp

    async def GetSystemInfo(self, request, context):
        cap = self._capacity()
        active = [r for r in self.pods.values() if not r.finished]
        in_use = common_pb2.ResourceQuantities(cpu_millis=sum(r.cpu_millis for r in active),
                                               memory_bytes=sum(r.memory_bytes for r in active),
                                               pods=len(active))
        alloc = common_pb2.ResourceQuantities(cpu_millis=max(0, cap.cpu_millis - in_use.cpu_millis),
                                              pods=max(0, cap.pods - in_use.pods))
        if cap.HasField("memory_bytes"):
            alloc.memory_bytes = max(0, cap.memory_bytes - in_use.memory_bytes)
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return sidecar_pb2.GetSystemInfoResponse(
            sidecar_name="weft-python-sidecar", sidecar_version=VERSION, backend_kind="subprocess",
            backend_version=f"python {platform.python_version()} on {platform.system()} {platform.release()}",
            capacity=cap, allocatable=alloc, in_use=in_use,
            node_labels={"kubernetes.io/os": platform.system().lower(), "kubernetes.io/arch": arch},
            features=sidecar_pb2.SidecarFeatures(watch_pod_statuses=True, follow_logs=True,
                                                 previous_logs=False, restarts=False,
                                                 volume_kinds=VOLUME_KINDS),
            managed_pods=len(self.pods))


# --------------------------------------------------------------------------------------------
# Authentication


class BearerAuth(grpc.aio.ServerInterceptor):
    """Rejects calls without `authorization: Bearer <token>` (the token file is re-read when it
    changes, so it can be rotated)."""

    def __init__(self, token_file: Path):
        self.path = token_file
        self.mtime = None
        self.token = b""
        self._reload()

    def _reload(self) -> None:
        st = self.path.stat()
        if st.st_mtime_ns != self.mtime:
            token = self.path.read_bytes().strip()
            if not token:
                raise ValueError(f"{self.path} is empty")
            self.token, self.mtime = token, st.st_mtime_ns

    def _ok(self, metadata) -> bool:
        try:
            self._reload()
        except (OSError, ValueError) as e:
            log.error("token file: %s", e)
        value = ""
        for key, v in metadata or ():
            if key == "authorization":
                value = v if isinstance(v, str) else v.decode("latin-1")
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token)

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or self._ok(details.invocation_metadata):
            return handler
        message = "missing or invalid bearer token"

        async def deny_unary(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        async def deny_stream(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
            yield  # pragma: no cover (makes this an async generator)

        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(deny_stream, handler.request_deserializer,
                                                        handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(deny_unary, handler.request_deserializer,
                                                   handler.response_serializer)


# --------------------------------------------------------------------------------------------
# Main


async def serve(args) -> None:
    sidecar = PythonSidecar(Path(args.state_dir).resolve(), pod_ip=args.pod_ip, max_pods=args.max_pods,
                            default_grace=args.default_grace, link_mount_paths=args.link_mount_paths)
    sidecar.load()
    interceptors = [BearerAuth(Path(args.token_file))] if args.token_file else []
    server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
    sidecar_pb2_grpc.add_SidecarServiceServicer_to_server(sidecar, server)
    listen = args.listen
    if listen.startswith("unix:"):
        rest = listen[len("unix:"):]
        path = Path(rest[2:] if rest.startswith("//") else rest)  # unix:///abs, unix:/abs, unix:rel
        if path.is_socket():
            path.unlink()  # a stale socket of a previous run
        path.parent.mkdir(parents=True, exist_ok=True)
        where = f"unix:{path}"
        try:
            server.add_insecure_port(where)
        except RuntimeError as e:
            sys.exit(f"cannot listen on {where}: {e}")
    else:
        try:
            port = server.add_insecure_port(listen)
        except RuntimeError as e:
            sys.exit(f"cannot listen on {listen}: {e}")
        where = f"{listen.rpartition(':')[0]}:{port}"
    await server.start()
    log.info("weft-python-sidecar %s listening on %s%s", VERSION, where,
             " (bearer token required)" if interceptors else "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop(1.0)
    await sidecar.shutdown(args.shutdown_grace)
    log.info("stopped")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:7710", help="HOST:PORT or unix:PATH (default %(default)s)")
    p.add_argument("--state-dir", default=os.environ.get("WEFT_SIDECAR_STATE_DIR", "./python-sidecar-state"),
                   help="pod records, volumes, logs and work directories (default %(default)s)")
    p.add_argument("--token-file", help="require `authorization: Bearer <contents of this file>`")
    p.add_argument("--pod-ip", default="127.0.0.1", help="address reported as host and pod IP")
    p.add_argument("--max-pods", type=int, default=110, help="pods that may run at once")
    p.add_argument("--default-grace", type=float, default=30.0,
                   help="DeletePod grace period (s) when neither the request nor the pod gives one")
    p.add_argument("--shutdown-grace", type=float, default=5.0,
                   help="grace period (s) for running pods when the sidecar stops")
    p.add_argument("--proto-dir", default=os.environ.get("WEFT_PROTO_DIR", str(DEFAULT_PROTO_DIR)))
    p.add_argument("--gen-dir", default=os.environ.get("WEFT_SIDECAR_GEN_DIR", str(DEFAULT_GEN_DIR)),
                   help="where the generated stubs live (created on first start)")
    p.add_argument("--link-mount-paths", action="store_true",
                   help="also symlink each mount path on the host to its volume (off: it writes outside the state dir)")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(args.log_level.upper())  # only ours: grpc's DEBUG output is very chatty
    ensure_stubs(Path(args.proto_dir).resolve(), Path(args.gen_dir).resolve())
    load_stubs(Path(args.gen_dir).resolve())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
