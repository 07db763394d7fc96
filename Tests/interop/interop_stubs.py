"""Generates and imports the Python stubs of grpc.testing from the repository's proto/.

The stubs are produced at run time by `python -m grpc_tools.protoc` into a cache directory
(never committed). The upstream package name `grpc.testing` would clash with the `grpc`
library itself, so the generated modules live under a package of their own,
`weft_interop_pb.grpc.testing`, and their `from grpc.testing import ...` lines are rewritten
to match. The descriptors keep their real names (`grpc/testing/*.proto`), so nothing on the
wire changes.

Cache: $WEFT_INTEROP_CACHE, else $XDG_CACHE_HOME/weft-interop, else ~/.cache/weft-interop.
It is keyed by a hash of the .proto files, so edits to proto/ regenerate it.
"""

import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
FILES = ["grpc/testing/empty.proto", "grpc/testing/messages.proto", "grpc/testing/test.proto"]
PACKAGE = "weft_interop_pb"


def _cache_root() -> Path:
    if os.environ.get("WEFT_INTEROP_CACHE"):
        return Path(os.environ["WEFT_INTEROP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "weft-interop"


def _digest() -> str:
    h = hashlib.sha256()
    for f in FILES:
        h.update(f.encode() + b"\0" + (PROTO / f).read_bytes())
    return h.hexdigest()[:16]


def generate() -> Path:
    """Returns a directory to put on sys.path; generates the stubs there if needed."""
    out = _cache_root() / _digest()
    marker = out / ".complete"
    if marker.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gen-", dir=out.parent))
    raw = tmp / "raw"
    raw.mkdir()
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", str(PROTO),
           f"--python_out={raw}", f"--grpc_python_out={raw}"] + [str(PROTO / f) for f in FILES]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"grpc_tools.protoc failed:\n{proc.stderr}")
    dest = tmp / PACKAGE / "grpc" / "testing"
    dest.mkdir(parents=True)
    for d in (tmp / PACKAGE, tmp / PACKAGE / "grpc", dest):
        (d / "__init__.py").write_text("")
    for py in sorted((raw / "grpc" / "testing").glob("*.py")):
        text = py.read_text().replace("from grpc.testing import ",
                                      f"from {PACKAGE}.grpc.testing import ")
        (dest / py.name).write_text(text)
    (tmp / ".complete").write_text("ok\n")
    try:
        os.rename(tmp, out)  # atomic; another process may have won the race
    except OSError:
        pass
    return out


def load():
    """Returns (empty_pb2, messages_pb2, test_pb2)."""
    root = str(generate())
    if root not in sys.path:
        sys.path.insert(0, root)
    base = f"{PACKAGE}.grpc.testing"
    return (importlib.import_module(f"{base}.empty_pb2"),
            importlib.import_module(f"{base}.messages_pb2"),
            importlib.import_module(f"{base}.test_pb2"))
