"""Checks Weft's copies of the standard gRPC protos against Debian's (/usr/share/grpc-proto).

Weft writes these files itself from their specifications (proto/grpc/...). What must match
upstream is what goes on the wire and into reflection, i.e. the FileDescriptorProto that
`protoc --descriptor_set_out` produces (no source info, so comments do not count):

- grpc/health/v1/health.proto, grpc/reflection/v1/reflection.proto and
  grpc/reflection/v1alpha/reflection.proto: the whole descriptor, byte for byte.
- grpc/testing/{empty,messages,test}.proto: Weft keeps only what the interop cases and
  TestService need, so every message and enum we kept must equal Debian's (fields: name,
  number, type, label, type_name, oneof; enum values), and every method of TestService and
  UnimplementedService must have the same input, output and streaming kinds.

Run: `python3 -m pytest Tests/python/test_standard_protos.py` (needs protoc and Debian's
grpc-proto package; skipped without them).
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
DEBIAN = Path("/usr/share/grpc-proto")

WHOLE_FILES = [
    "grpc/health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto",
    "grpc/reflection/v1alpha/reflection.proto",
]
TESTING_FILES = ["grpc/testing/empty.proto", "grpc/testing/messages.proto",
                 "grpc/testing/test.proto"]
# What the interop cases need; the test fails if one of these goes missing.
REQUIRED_MESSAGES = {
    "grpc/testing/empty.proto": {"Empty"},
    "grpc/testing/messages.proto": {
        "BoolValue", "Payload", "EchoStatus", "SimpleRequest", "SimpleResponse",
        "StreamingInputCallRequest", "StreamingInputCallResponse", "ResponseParameters",
        "StreamingOutputCallRequest", "StreamingOutputCallResponse"},
}
REQUIRED_SERVICES = {
    "TestService": {"EmptyCall", "UnaryCall", "CacheableUnaryCall", "StreamingOutputCall",
                    "StreamingInputCall", "FullDuplexCall", "HalfDuplexCall",
                    "UnimplementedCall"},
    "UnimplementedService": {"UnimplementedCall"},
}


def _protoc():
    path = shutil.which("protoc")
    if path is None:
        pytest.skip("protoc not installed")
    if not DEBIAN.is_dir():
        pytest.skip("Debian's grpc-proto (/usr/share/grpc-proto) not installed")
    return path


def compile_descriptor(root: Path, name: str, tmp_path: Path):
    """Returns (bytes, FileDescriptorProto) of `name` compiled with -I root."""
    out = tmp_path / (name.replace("/", "_") + f".{abs(hash(str(root)))}.pb")
    proc = subprocess.run([_protoc(), "-I", str(root), f"--descriptor_set_out={out}", name],
                          capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, f"protoc failed on {root / name}:\n{proc.stderr}"
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    assert len(fds.file) == 1 and fds.file[0].name == name
    return fds.file[0].SerializeToString(), fds.file[0]


@pytest.mark.parametrize("name", WHOLE_FILES)
def test_whole_descriptor_equals_debian(name, tmp_path):
    ours_bytes, ours = compile_descriptor(PROTO, name, tmp_path)
    theirs_bytes, theirs = compile_descriptor(DEBIAN, name, tmp_path)
    assert ours == theirs
    assert ours_bytes == theirs_bytes


def _all_messages(fdp):
    """{qualified name: DescriptorProto} including nested types (map entries too)."""
    out = {}

    def walk(prefix, messages):
        for msg in messages:
            qualified = f"{prefix}.{msg.name}"
            out[qualified] = msg
            walk(qualified, msg.nested_type)

    walk(fdp.package, fdp.message_type)
    return out


def _all_enums(fdp):
    out = {f"{fdp.package}.{e.name}": e for e in fdp.enum_type}
    for qualified, msg in _all_messages(fdp).items():
        for e in msg.enum_type:
            out[f"{qualified}.{e.name}"] = e
    return out


def _field_shape(field):
    return (field.name, field.number, field.type, field.label, field.type_name,
            field.HasField("oneof_index") and field.oneof_index, field.proto3_optional,
            field.json_name)


def _message_shape(msg):
    return {
        "fields": [_field_shape(f) for f in msg.field],
        "oneofs": [o.name for o in msg.oneof_decl],
        "map_entry": msg.options.map_entry,
        "nested": sorted(n.name for n in msg.nested_type),
    }


@pytest.fixture(scope="module")
def testing_descriptors(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("testing")
    return {name: (compile_descriptor(PROTO, name, tmp)[1],
                   compile_descriptor(DEBIAN, name, tmp)[1]) for name in TESTING_FILES}


@pytest.mark.parametrize("name", TESTING_FILES)
def test_testing_file_header_matches(name, testing_descriptors):
    ours, theirs = testing_descriptors[name]
    assert ours.package == theirs.package == "grpc.testing"
    assert ours.syntax == theirs.syntax == "proto3"
    assert ours.options == theirs.options
    assert list(ours.dependency) == list(theirs.dependency)


@pytest.mark.parametrize("name", TESTING_FILES)
def test_kept_messages_match_debian(name, testing_descriptors):
    ours, theirs = testing_descriptors[name]
    ours_msgs, theirs_msgs = _all_messages(ours), _all_messages(theirs)
    required = {f"grpc.testing.{n}" for n in REQUIRED_MESSAGES.get(name, ())}
    assert required <= set(ours_msgs), f"missing: {sorted(required - set(ours_msgs))}"
    extra = set(ours_msgs) - set(theirs_msgs)
    assert not extra, f"messages Debian's {name} does not have: {sorted(extra)}"
    for qualified, msg in ours_msgs.items():
        assert _message_shape(msg) == _message_shape(theirs_msgs[qualified]), qualified
    ours_enums, theirs_enums = _all_enums(ours), _all_enums(theirs)
    for qualified, enum in ours_enums.items():
        assert qualified in theirs_enums, qualified
        assert ([(v.name, v.number) for v in enum.value]
                == [(v.name, v.number) for v in theirs_enums[qualified].value]), qualified


def test_kept_messages_are_self_contained(testing_descriptors):
    """Every type a kept field refers to is itself kept (the copy compiles on its own, but
    this also catches a field that was retyped to a stand-in)."""
    names = set()
    for ours, _ in testing_descriptors.values():
        names |= {f".{n}" for n in _all_messages(ours)} | {f".{n}" for n in _all_enums(ours)}
    for ours, _ in testing_descriptors.values():
        for qualified, msg in _all_messages(ours).items():
            for field in msg.field:
                if field.type_name:
                    assert field.type_name in names, f"{qualified}.{field.name}"


def test_services_match_debian(testing_descriptors):
    ours, theirs = testing_descriptors["grpc/testing/test.proto"]
    ours_services = {s.name: s for s in ours.service}
    theirs_services = {s.name: s for s in theirs.service}
    assert set(REQUIRED_SERVICES) <= set(ours_services)
    for service_name, service in ours_services.items():
        assert service_name in theirs_services, service_name
        theirs_methods = {meth.name: meth for meth in theirs_services[service_name].method}
        ours_methods = {meth.name: meth for meth in service.method}
        if service_name in REQUIRED_SERVICES:
            # Full services: same methods, same order.
            assert [meth.name for meth in service.method] == \
                [meth.name for meth in theirs_services[service_name].method]
        for name, meth in ours_methods.items():
            other = theirs_methods[name]
            assert (meth.input_type, meth.output_type, meth.client_streaming,
                    meth.server_streaming) == (other.input_type, other.output_type,
                                               other.client_streaming,
                                               other.server_streaming), f"{service_name}.{name}"


def test_standard_files_use_only_project_imports():
    """proto3 only, and every import resolves under proto/ (the project's generator sees
    nothing else)."""
    for name in WHOLE_FILES + TESTING_FILES:
        text = (PROTO / name).read_text()
        assert 'syntax = "proto3";' in text, name
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("import "):
                target = line.split('"')[1]
                assert (PROTO / target).is_file(), f"{name} imports {target}, not in proto/"
            assert not line.startswith("extend "), f"{name}: custom options/extensions"
            assert " group " not in f" {line} ", f"{name}: groups"
