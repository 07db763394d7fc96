#!/usr/bin/env python3
"""gRPC interop test server (grpcio), after grpc/grpc doc/interop-test-descriptions.md.

Serves grpc.testing.TestService (UnimplementedCall and grpc.testing.UnimplementedService are
deliberately left out, so they answer UNIMPLEMENTED):

    interop_server.py --port=50051 [--use_tls=true --tls_cert_file=... --tls_key_file=...]

Server features implemented: EmptyCall, UnaryCall, CacheableUnaryCall, StreamingInputCall,
StreamingOutputCall, FullDuplexCall, HalfDuplexCall, CompressedRequest (expect_compressed,
checked on every message), CompressedResponse (response_compressed and
ResponseParameters.compressed, per message), Echo Status, Echo Metadata and
ResponseParameters.interval_us.

Stricter than the description in one place: a message that carries expect_compressed=false
but arrived compressed is also rejected with INVALID_ARGUMENT, so that clients are checked to
send the "uncompressed" messages of the compression cases really uncompressed.

TLS uses certs/server.pem and certs/server.key by default: a test-only certificate for
localhost, 127.0.0.1, ::1, *.test.example.com and *.test.google.fr (see certs/README.md).
"""

import argparse
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc  # noqa: E402

import interop_common as common  # noqa: E402
import interop_stubs  # noqa: E402

empty_pb2, messages_pb2, test_pb2 = interop_stubs.load()
Empty = empty_pb2.Empty
m = messages_pb2

CODES = {code.value[0]: code for code in grpc.StatusCode}


def _echo_metadata(context):
    """Returns (initial, trailing) metadata to echo, per "Echo Metadata"."""
    initial, trailing = [], []
    for key, value in context.invocation_metadata():
        if key == common.ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == common.ECHO_TRAILING_KEY:
            trailing.append((key, value))
    return initial, trailing


class Call:
    """Per-call helper: metadata echo, compression and status, in the order grpcio needs
    (compression must be chosen before initial metadata goes out)."""

    def __init__(self, context):
        self.context = context
        self.initial, trailing = _echo_metadata(context)
        self.initial_sent = False
        self.compressing = False
        if trailing:
            context.set_trailing_metadata(trailing)

    def start(self, compress=False, extra_initial=()):
        if self.initial_sent:
            return
        if compress:
            self.context.set_compression(grpc.Compression.Gzip)
            self.compressing = True
        metadata = list(self.initial) + list(extra_initial)
        if metadata:
            self.context.send_initial_metadata(metadata)
        self.initial_sent = True

    def before_message(self, compress):
        """Call right before returning/yielding a response message."""
        if self.compressing and not compress:
            self.context.disable_next_message_compression()

    def check_compression(self, received, expect):
        if expect is None:
            return
        if expect.value and not received.compressed:
            self.fail(grpc.StatusCode.INVALID_ARGUMENT,
                      "expect_compressed is true but the request message was not compressed")
        if not expect.value and received.compressed:
            self.fail(grpc.StatusCode.INVALID_ARGUMENT,
                      "expect_compressed is false but the request message was compressed")

    def echo_status(self, status):
        if status is not None and status.code != 0:
            self.fail(CODES.get(status.code, grpc.StatusCode.UNKNOWN), status.message)

    def fail(self, code, message):
        self.start()
        self.context.abort(code, message)  # raises


def _bool_field(message, name):
    return getattr(message, name) if message.HasField(name) else None


def _payload(response_type, size, call):
    if response_type != m.COMPRESSABLE:
        call.fail(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported response_type {response_type}")
    if size < 0:
        call.fail(grpc.StatusCode.INVALID_ARGUMENT, f"negative response size {size}")
    return m.Payload(type=m.COMPRESSABLE, body=bytes(size))


class TestService:
    def EmptyCall(self, received, context):  # noqa: N802 (gRPC method names)
        call = Call(context)
        call.start()
        return Empty()

    def UnaryCall(self, received, context):  # noqa: N802
        request = received.message
        call = Call(context)
        compress = request.HasField("response_compressed") and request.response_compressed.value
        call.start(compress=compress)
        call.check_compression(received, _bool_field(request, "expect_compressed"))
        call.echo_status(_bool_field(request, "response_status"))
        response = m.SimpleResponse(
            payload=_payload(request.response_type, request.response_size, call))
        call.before_message(compress)
        return response

    def CacheableUnaryCall(self, received, context):  # noqa: N802
        call = Call(context)
        call.start(extra_initial=[("cache-control", "max-age=60, public")])
        return m.SimpleResponse(payload=m.Payload(type=m.COMPRESSABLE,
                                                  body=str(time.time_ns()).encode()))

    def StreamingInputCall(self, request_iterator, context):  # noqa: N802
        call = Call(context)
        call.start()
        total = 0
        for received in request_iterator:
            call.check_compression(received, _bool_field(received.message, "expect_compressed"))
            total += len(received.message.payload.body)
        return m.StreamingInputCallResponse(aggregated_payload_size=total)

    def _respond(self, request, call):
        """Yields the responses one StreamingOutputCallRequest asks for."""
        call.echo_status(_bool_field(request, "response_status"))
        for params in request.response_parameters:
            if params.interval_us > 0:
                time.sleep(params.interval_us / 1e6)
            response = m.StreamingOutputCallResponse(
                payload=_payload(request.response_type, params.size, call))
            call.before_message(params.HasField("compressed") and params.compressed.value)
            yield response

    @staticmethod
    def _wants_compression(request):
        return any(p.HasField("compressed") and p.compressed.value
                   for p in request.response_parameters)

    def StreamingOutputCall(self, received, context):  # noqa: N802
        request = received.message
        call = Call(context)
        call.start(compress=self._wants_compression(request))
        yield from self._respond(request, call)

    def FullDuplexCall(self, request_iterator, context):  # noqa: N802
        call = Call(context)
        for received in request_iterator:
            request = received.message
            # Compression is chosen for the whole call when the first request arrives (grpcio
            # fixes it with the initial metadata); later messages can still turn it off.
            call.start(compress=self._wants_compression(request))
            yield from self._respond(request, call)
        call.start()

    def HalfDuplexCall(self, request_iterator, context):  # noqa: N802
        call = Call(context)
        requests = [received.message for received in request_iterator]
        call.start(compress=any(self._wants_compression(r) for r in requests))
        for request in requests:
            yield from self._respond(request, call)


def make_handler(service):
    des = common.deserializer
    ser = common.serializer
    handlers = {
        "EmptyCall": grpc.unary_unary_rpc_method_handler(service.EmptyCall, des(Empty), ser),
        "UnaryCall": grpc.unary_unary_rpc_method_handler(
            service.UnaryCall, des(m.SimpleRequest), ser),
        "CacheableUnaryCall": grpc.unary_unary_rpc_method_handler(
            service.CacheableUnaryCall, des(m.SimpleRequest), ser),
        "StreamingOutputCall": grpc.unary_stream_rpc_method_handler(
            service.StreamingOutputCall, des(m.StreamingOutputCallRequest), ser),
        "StreamingInputCall": grpc.stream_unary_rpc_method_handler(
            service.StreamingInputCall, des(m.StreamingInputCallRequest), ser),
        "FullDuplexCall": grpc.stream_stream_rpc_method_handler(
            service.FullDuplexCall, des(m.StreamingOutputCallRequest), ser),
        "HalfDuplexCall": grpc.stream_stream_rpc_method_handler(
            service.HalfDuplexCall, des(m.StreamingOutputCallRequest), ser),
    }
    declared = {meth.name for meth in test_pb2.DESCRIPTOR.services_by_name["TestService"].methods}
    assert set(handlers) | {"UnimplementedCall"} == declared, declared
    return grpc.method_handlers_generic_handler("grpc.testing.TestService", handlers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; use [::] for all)")
    common.add_bool_flag(parser, "--use_tls", "serve TLS (ALPN h2) instead of h2c")
    parser.add_argument("--tls_cert_file", default=str(common.SERVER_CERT))
    parser.add_argument("--tls_key_file", default=str(common.SERVER_KEY))
    parser.add_argument("--max_workers", type=int, default=64)
    args = parser.parse_args(argv)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.max_workers),
                         handlers=[make_handler(TestService())],
                         options=[common.NO_DECOMPRESSION])
    address = f"{args.host}:{args.port}"
    if args.use_tls:
        credentials = grpc.ssl_server_credentials(
            [(Path(args.tls_key_file).read_bytes(), Path(args.tls_cert_file).read_bytes())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        print(f"cannot listen on {address}", file=sys.stderr)
        return 1
    server.start()
    print(f"interop server listening on {args.host}:{port} ({'TLS' if args.use_tls else 'h2c'})",
          flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
