"""Checks of the Weft IDL (proto/weft/**/*.proto).

1. protoc accepts every file.
2. grpc_tools.protoc generates Python stubs for all of them and every module imports.
3. Every service, RPC, message, field and enum value has a leading doc comment.

Run from anywhere: `python3 -m pytest Tests/python` (the test finds proto/ from its own path).
"""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
WEFT = PROTO / "weft"
SYSTEM_INCLUDE = Path("/usr/include")


def _weft_files():
    return sorted(p.relative_to(PROTO).as_posix() for p in WEFT.rglob("*.proto"))


def _protoc():
    path = shutil.which("protoc")
    if path is None:
        pytest.skip("protoc not installed")
    return path


def _include_args():
    # The project's proto/ first (it may carry its own google/protobuf copies); the system's
    # well-known types as a fallback.
    args = ["-I", str(PROTO)]
    if (SYSTEM_INCLUDE / "google" / "protobuf" / "timestamp.proto").exists():
        args += ["-I", str(SYSTEM_INCLUDE)]
    return args


def _grpc_tools_include():
    from grpc_tools import protoc as _p  # noqa: F401
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


FILES = _weft_files()


def test_there_are_proto_files():
    areas = {f.split("/")[1] for f in FILES}
    expected = {"common", "kubelet", "sidecar", "transfer", "storage", "catalog", "identity",
                "orchestrator", "accounting"}
    assert expected <= areas, f"missing areas: {sorted(expected - areas)}"


@pytest.mark.parametrize("proto_file", FILES)
def test_protoc_accepts(proto_file, tmp_path):
    protoc = _protoc()
    out = tmp_path / "out.pb"
    result = subprocess.run(
        [protoc, *_include_args(), f"--descriptor_set_out={out}", proto_file],
        cwd=PROTO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"protoc warnings:\n{result.stderr}"


def test_python_stubs_generate_and_import(tmp_path):
    pytest.importorskip("grpc_tools")
    pytest.importorskip("grpc")
    out = tmp_path / "gen"
    out.mkdir()
    args = [
        sys.executable, "-m", "grpc_tools.protoc",
        "-I", str(PROTO), "-I", str(_grpc_tools_include()),
        f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
        *FILES,
    ]
    result = subprocess.run(args, cwd=PROTO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    modules = []
    for f in FILES:
        base = f[: -len(".proto")].replace("/", ".")
        modules += [base + "_pb2", base + "_pb2_grpc"]
    # The generated packages have no __init__.py; namespace packages import fine.
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(out)!r})\n"
        f"mods = {modules!r}\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "print(len(mods))\n"
    )
    # A fresh interpreter, so that the generated `weft` package cannot clash with anything
    # already imported in this one.
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(out)})
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.strip()) == len(modules)
    print(f"imported {len(modules)} generated modules")


def _descriptor_set(tmp_path):
    protoc = _protoc()
    out = tmp_path / "all.pb"
    result = subprocess.run(
        [protoc, *_include_args(), "--include_source_info", f"--descriptor_set_out={out}",
         *FILES],
        cwd=PROTO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(out.read_bytes())
    return fds


# Field numbers of the descriptor paths (descriptor.proto).
FILE_MESSAGE_TYPE = 4
FILE_ENUM_TYPE = 5
FILE_SERVICE = 6
MESSAGE_FIELD = 2
MESSAGE_NESTED_TYPE = 3
MESSAGE_ENUM_TYPE = 4
ENUM_VALUE = 2
SERVICE_METHOD = 2


def test_every_element_has_a_doc_comment(tmp_path):
    pytest.importorskip("google.protobuf")
    fds = _descriptor_set(tmp_path)
    counts = {"services": 0, "rpcs": 0, "messages": 0, "fields": 0, "enums": 0,
              "enum values": 0}
    missing = []

    for fd in fds.file:
        comments = {
            tuple(loc.path): loc.leading_comments.strip()
            for loc in fd.source_code_info.location
        }

        def check(kind, path, name):
            counts[kind] += 1
            if not comments.get(tuple(path)):
                missing.append(f"{fd.name}: {kind[:-1] if kind != 'enum values' else 'enum value'} {name}")

        def walk_enum(enum, path, prefix):
            check("enums", path, prefix + enum.name)
            for i, value in enumerate(enum.value):
                check("enum values", path + [ENUM_VALUE, i], f"{prefix}{enum.name}.{value.name}")

        def walk_message(msg, path, prefix):
            if msg.options.map_entry:
                return
            full = prefix + msg.name
            check("messages", path, full)
            for i, field in enumerate(msg.field):
                check("fields", path + [MESSAGE_FIELD, i], f"{full}.{field.name}")
            for i, nested in enumerate(msg.nested_type):
                walk_message(nested, path + [MESSAGE_NESTED_TYPE, i], full + ".")
            for i, enum in enumerate(msg.enum_type):
                walk_enum(enum, path + [MESSAGE_ENUM_TYPE, i], full + ".")

        prefix = fd.package + "."
        for i, msg in enumerate(fd.message_type):
            walk_message(msg, [FILE_MESSAGE_TYPE, i], prefix)
        for i, enum in enumerate(fd.enum_type):
            walk_enum(enum, [FILE_ENUM_TYPE, i], prefix)
        for i, svc in enumerate(fd.service):
            check("services", [FILE_SERVICE, i], prefix + svc.name)
            for j, method in enumerate(svc.method):
                check("rpcs", [FILE_SERVICE, i, SERVICE_METHOD, j],
                      f"{prefix}{svc.name}.{method.name}")

    print("doc-comment counts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    assert counts["services"] >= 8
    assert not missing, f"{len(missing)} elements without a leading comment:\n" + "\n".join(missing)


SWIFT_RESERVED = {
    "protocol", "class", "default", "extension", "import", "self", "Self", "Type", "where", "in",
    "is", "operator", "repeat", "return", "static", "struct", "subscript", "switch", "throw",
    "throws", "true", "try", "var", "func", "let", "init", "deinit", "internal", "public",
    "private", "fileprivate", "open", "enum", "case", "for", "if", "else", "while", "do",
    "break", "continue", "guard", "defer", "as", "Any", "nil", "false", "super", "typealias",
    "associatedtype", "inout", "fallthrough", "rethrows", "catch", "await", "async",
}
SWIFT_STDLIB_TYPES = {
    "Error", "Result", "String", "Data", "Type", "Protocol", "Duration", "Task", "Array",
    "Dictionary", "Set", "Optional", "Range", "Character", "Int", "Double", "Float", "Bool",
    "Never", "Void", "Mirror", "Sequence", "Collection", "Substring", "Unicode",
}


def _camel(snake):
    parts = snake.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def test_names_are_safe_for_swift(tmp_path):
    """Field names, message names and enum value names (prefix stripped) avoid Swift keywords
    and standard library type names."""
    fds = _descriptor_set(tmp_path)
    bad = []

    def enum_values(enum):
        prefix = "".join("_" + c if c.isupper() else c for c in enum.name).lstrip("_").upper() + "_"
        for v in enum.value:
            short = v.name[len(prefix):] if v.name.startswith(prefix) else v.name
            if not v.name.startswith(prefix):
                bad.append(f"enum value {v.name} lacks prefix {prefix}")
            if _camel(short) in SWIFT_RESERVED:
                bad.append(f"enum value {v.name} becomes Swift keyword {_camel(short)}")
        if not enum.value or not enum.value[0].name.endswith("_UNSPECIFIED") or enum.value[0].number != 0:
            bad.append(f"enum {enum.name} does not start with {prefix}UNSPECIFIED = 0")

    def walk(msg):
        if msg.options.map_entry:
            return
        if msg.name in SWIFT_STDLIB_TYPES or msg.name in SWIFT_RESERVED:
            bad.append(f"message {msg.name}")
        for f in msg.field:
            if f.name in SWIFT_RESERVED or _camel(f.name) in SWIFT_RESERVED:
                bad.append(f"field {msg.name}.{f.name}")
        for n in msg.nested_type:
            walk(n)
        for e in msg.enum_type:
            enum_values(e)

    for fd in fds.file:
        assert fd.syntax == "proto3", fd.name
        for m in fd.message_type:
            walk(m)
        for e in fd.enum_type:
            if e.name in SWIFT_STDLIB_TYPES:
                bad.append(f"enum {e.name}")
            enum_values(e)
    assert not bad, "\n".join(bad)


ALLOWED_IMPORTS = {
    "google/protobuf/timestamp.proto", "google/protobuf/duration.proto",
    "google/protobuf/struct.proto", "google/protobuf/empty.proto",
    "google/protobuf/wrappers.proto",
}


def test_imports_and_rpc_shapes(tmp_path):
    """Only the allowed imports; one distinct request and response message per RPC; List RPCs
    page."""
    fds = _descriptor_set(tmp_path)
    messages = {}
    for fd in fds.file:
        for m in fd.message_type:
            messages[f".{fd.package}.{m.name}"] = m
    problems = []
    for fd in fds.file:
        for dep in fd.dependency:
            if not (dep in ALLOWED_IMPORTS or dep.startswith("weft/")):
                problems.append(f"{fd.name} imports {dep}")
        for svc in fd.service:
            for m in svc.method:
                req = m.input_type.rsplit(".", 1)[-1]
                resp = m.output_type.rsplit(".", 1)[-1]
                if req != m.name + "Request":
                    problems.append(f"{svc.name}.{m.name} takes {req}")
                if resp != m.name + "Response":
                    problems.append(f"{svc.name}.{m.name} returns {resp}")
                if m.name.startswith("List"):
                    req_fields = {f.name for f in messages[m.input_type].field}
                    resp_fields = {f.name for f in messages[m.output_type].field}
                    if not {"page_size", "page_token"} <= req_fields:
                        problems.append(f"{svc.name}.{m.name} request lacks paging")
                    if "next_page_token" not in resp_fields:
                        problems.append(f"{svc.name}.{m.name} response lacks next_page_token")
                if m.name.startswith("Watch") and not m.server_streaming:
                    problems.append(f"{svc.name}.{m.name} is not server-streaming")
    assert not problems, "\n".join(problems)
