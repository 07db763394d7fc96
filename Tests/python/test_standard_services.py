"""grpcio's own health-checking and reflection clients against a Weft server (`weft up`)."""

import os
import socket
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

REPO = Path(__file__).resolve().parents[2]
WEFT = Path(os.environ.get("WEFT_BIN", REPO / ".build" / "debug" / "weft"))
pytestmark = pytest.mark.skipif(not WEFT.exists(), reason=f"{WEFT} is not built (run swift build)")


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("weft-data")
    proc = subprocess.Popen([str(WEFT), "up", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ch = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch
    finally:
        ch.close()
        proc.terminate()
        assert proc.wait(timeout=15) == 0, proc.stdout.read().decode()


def test_health_check_and_watch(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    assert stub.Check(health_pb2.HealthCheckRequest(service="grpc.health.v1.Health")).status == \
        health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as e:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    watch = stub.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=1)
    first = next(watch)
    assert first.status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    watch.cancel()


def test_reflection_lists_and_resolves(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    services = db.get_services()
    assert "grpc.health.v1.Health" in services
    assert "grpc.reflection.v1.ServerReflection" in services
    pool = DescriptorPool(db)
    health = pool.FindServiceByName("grpc.health.v1.Health")
    assert [m.name for m in health.methods] == ["Check", "Watch"]
    assert health.methods_by_name["Watch"].server_streaming
    # Any generated type resolves, with its imports (here: well-known types).
    pod = pool.FindMessageTypeByName("weft.kubelet.v1.Pod")
    assert "metadata" in pod.fields_by_name


def test_reflection_v1_errors(channel):
    # v1's messages are wire-identical to v1alpha's, so the alpha classes can talk to v1.
    call = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    requests = [reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.Such"),
                reflection_pb2.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto")]
    responses = list(call(iter(requests), timeout=10))
    assert responses[0].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert len(responses[1].file_descriptor_response.file_descriptor_proto) == 1
