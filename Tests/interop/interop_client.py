#!/usr/bin/env python3
"""gRPC interop test client (grpcio), after grpc/grpc doc/interop-test-descriptions.md.

Runs one test case against a server that implements grpc.testing.TestService and exits 0 only
when the case passed. Flags follow grpc-go's interop client:

    interop_client.py --server_host=127.0.0.1 --server_port=50051 --test_case=large_unary \
        [--use_tls=true --ca_file=certs/ca.pem --server_host_override=foo.test.google.fr]

Exit status: 0 passed, 1 failed (the reason on stderr), 2 bad usage.

The client uses grpcio for every call. Per-message compression is observed by switching off
grpcio's own decompression (see interop_common.py), so the server_compressed_* cases really
check the compressed flag of every response message, and client_compressed_streaming sends
its second message uncompressed with grpc core's per-message "no compress" write flag.
"""

import argparse
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc  # noqa: E402

import interop_common as common  # noqa: E402
import interop_stubs  # noqa: E402

empty_pb2, messages_pb2, test_pb2 = interop_stubs.load()
Empty = empty_pb2.Empty
m = messages_pb2

CASES = [
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
]

ECHO_INITIAL_VALUE = "test_initial_metadata_value"
ECHO_TRAILING_VALUE = b"\xab\xab\xab"
STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


class CaseFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailed(message)


def zeros(n):
    return bytes(n)


def expect_rpc_error(code, fn, what):
    """Runs fn(), which must fail with `code`; returns the grpc.RpcError."""
    try:
        fn()
    except grpc.RpcError as err:
        check(err.code() == code,
              f"{what}: expected status {code.name}, got {err.code().name}: {err.details()!r}")
        return err
    raise CaseFailed(f"{what}: expected status {code.name}, but the call succeeded")


def check_payload(received, size, what):
    body = received.message.payload.body
    check(len(body) == size, f"{what}: response payload is {len(body)} bytes, expected {size}")
    check(body == zeros(size), f"{what}: response payload is not all zeros")
    check(received.message.payload.type == m.COMPRESSABLE,
          f"{what}: response payload type is {received.message.payload.type}, expected COMPRESSABLE")


class RequestQueue:
    """A request iterator the test feeds one message at a time; `close()` half-closes.

    Messages put with `no_compress=True` are sent without compression even on a call that
    compresses (see NoCompressShim)."""

    _END = object()

    def __init__(self, shim=None):
        self._queue = queue.Queue()
        self._shim = shim

    def put(self, message, no_compress=False):
        self._queue.put((message, no_compress))

    def close(self):
        self._queue.put((self._END, False))

    def __iter__(self):
        return self

    def __next__(self):
        message, no_compress = self._queue.get()
        if message is self._END:
            raise StopIteration
        if no_compress:
            if self._shim is None:
                raise RuntimeError("no_compress needs a NoCompressShim")
            return self._shim.mark(message)
        return message


class _Marked:
    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


class NoCompressShim:
    """Per-message compression control for grpcio's streaming requests.

    grpcio's Python API compresses every message of a call or none; grpc core has a per-message
    write flag (GRPC_WRITE_NO_COMPRESS) that the Python client never passes. While active, this
    shim wraps the SendMessageOperation that grpc._channel builds, adding that flag for the
    messages that were marked. It relies on grpcio internals and says so if they change."""

    def __init__(self):
        self._pending = []
        self._lock = threading.Lock()
        try:
            import grpc._channel as channel_module
            from grpc._cython import cygrpc

            self._channel_module = channel_module
            self._cygrpc = cygrpc
            self._flag = int(cygrpc.WriteFlag.no_compress)
            cygrpc.SendMessageOperation  # noqa: B018 (presence check)
            channel_module.cygrpc  # noqa: B018
        except (ImportError, AttributeError) as err:
            raise CaseFailed(
                "this grpcio version does not expose what the per-message compression shim "
                f"needs ({err}); client_compressed_streaming cannot be run with it")

    def serializer(self, message):
        if isinstance(message, _Marked):
            data = message.message.SerializeToString()
            with self._lock:
                self._pending.append(data)
            return data
        return message.SerializeToString()

    def mark(self, message):
        return _Marked(message)

    def __enter__(self):
        shim = self
        real = self._cygrpc

        class Proxy:
            def __getattr__(self, name):
                return getattr(real, name)

            @staticmethod
            def SendMessageOperation(data, flags):  # noqa: N802 (grpc's name)
                with shim._lock:
                    for i, pending in enumerate(shim._pending):
                        if pending is data:
                            del shim._pending[i]
                            flags |= shim._flag
                            break
                return real.SendMessageOperation(data, flags)

        self._channel_module.cygrpc = Proxy()
        return self

    def __exit__(self, *exc):
        self._channel_module.cygrpc = self._cygrpc
        return False


class Client:
    def __init__(self, channel):
        self.channel = channel
        service = test_pb2.DESCRIPTOR.services_by_name["TestService"]
        methods = {meth.name: meth for meth in service.methods}
        path = "/grpc.testing.TestService/"
        des = common.deserializer
        ser = common.serializer
        assert set(methods) >= {"EmptyCall", "UnaryCall", "StreamingOutputCall",
                                "StreamingInputCall", "FullDuplexCall", "UnimplementedCall"}
        self.empty_call = channel.unary_unary(path + "EmptyCall", ser, des(Empty))
        self.unary_call = channel.unary_unary(path + "UnaryCall", ser, des(m.SimpleResponse))
        self.streaming_output_call = channel.unary_stream(
            path + "StreamingOutputCall", ser, des(m.StreamingOutputCallResponse))
        self.streaming_input_call = channel.stream_unary(
            path + "StreamingInputCall", ser, des(m.StreamingInputCallResponse))
        self.full_duplex_call = channel.stream_stream(
            path + "FullDuplexCall", ser, des(m.StreamingOutputCallResponse))
        self.unimplemented_call = channel.unary_unary(path + "UnimplementedCall", ser, des(Empty))
        self.unimplemented_service_call = channel.unary_unary(
            "/grpc.testing.UnimplementedService/UnimplementedCall", ser, des(Empty))

    # --- cases -------------------------------------------------------------------------------

    def empty_unary(self):
        received = self.empty_call(Empty())
        check(received is not None and received.message is not None, "no response")
        check(received.message == Empty(), "response is not an empty message")

    def large_unary(self):
        received = self.unary_call(m.SimpleRequest(
            response_size=314159, payload=m.Payload(body=zeros(271828))))
        check_payload(received, 314159, "UnaryCall")

    def client_streaming(self):
        sizes = [27182, 8, 1828, 45904]
        requests = [m.StreamingInputCallRequest(payload=m.Payload(body=zeros(n))) for n in sizes]
        received = self.streaming_input_call(iter(requests))
        got = received.message.aggregated_payload_size
        check(got == 74922, f"aggregated_payload_size is {got}, expected 74922")

    def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        request = m.StreamingOutputCallRequest(
            response_parameters=[m.ResponseParameters(size=n) for n in sizes])
        responses = list(self.streaming_output_call(request))
        check(len(responses) == 4, f"got {len(responses)} responses, expected 4")
        for i, (received, n) in enumerate(zip(responses, sizes)):
            check_payload(received, n, f"response {i + 1}")

    def ping_pong(self):
        pairs = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        requests = RequestQueue()
        call = self.full_duplex_call(requests)
        try:
            for i, (response_size, request_size) in enumerate(pairs):
                requests.put(m.StreamingOutputCallRequest(
                    response_parameters=[m.ResponseParameters(size=response_size)],
                    payload=m.Payload(body=zeros(request_size))))
                try:
                    received = next(call)
                except StopIteration:
                    raise CaseFailed(f"the server ended the stream after {i} responses, "
                                     "expected 4") from None
                check_payload(received, response_size, f"response {i + 1}")
            requests.close()
            rest = list(call)
            check(not rest, f"got {4 + len(rest)} responses, expected 4")
            check(call.code() == grpc.StatusCode.OK, f"status {call.code()}")
        finally:
            requests.close()

    def empty_stream(self):
        responses = list(self.full_duplex_call(iter([])))
        check(not responses, f"got {len(responses)} responses, expected none")

    def custom_metadata(self):
        metadata = ((common.ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE),
                    (common.ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE))

        def check_echo(call, what):
            initial = [v for k, v in (call.initial_metadata() or ()) if k == common.ECHO_INITIAL_KEY]
            trailing = [v for k, v in (call.trailing_metadata() or ())
                        if k == common.ECHO_TRAILING_KEY]
            check(initial == [ECHO_INITIAL_VALUE],
                  f"{what}: initial metadata {common.ECHO_INITIAL_KEY} is {initial!r}, "
                  f"expected [{ECHO_INITIAL_VALUE!r}]")
            check(trailing == [ECHO_TRAILING_VALUE],
                  f"{what}: trailing metadata {common.ECHO_TRAILING_KEY} is {trailing!r}, "
                  f"expected [{ECHO_TRAILING_VALUE!r}]")

        received, call = self.unary_call.with_call(
            m.SimpleRequest(response_size=314159, payload=m.Payload(body=zeros(271828))),
            metadata=metadata)
        check_payload(received, 314159, "UnaryCall")
        check_echo(call, "UnaryCall")

        request = m.StreamingOutputCallRequest(
            response_parameters=[m.ResponseParameters(size=314159)],
            payload=m.Payload(body=zeros(271828)))
        call = self.full_duplex_call(iter([request]), metadata=metadata)
        responses = list(call)
        check(len(responses) == 1, f"FullDuplexCall: got {len(responses)} responses, expected 1")
        check_payload(responses[0], 314159, "FullDuplexCall")
        check_echo(call, "FullDuplexCall")

    def _check_status(self, err, code, message, what):
        check(err.code().value[0] == code,
              f"{what}: status code {err.code().value[0]}, expected {code}")
        check(err.details() == message,
              f"{what}: status message {err.details()!r}, expected {message!r}")

    def status_code_and_message(self):
        status = m.EchoStatus(code=2, message=STATUS_MESSAGE)
        err = expect_rpc_error(grpc.StatusCode.UNKNOWN,
                               lambda: self.unary_call(m.SimpleRequest(response_status=status)),
                               "UnaryCall")
        self._check_status(err, 2, STATUS_MESSAGE, "UnaryCall")
        request = m.StreamingOutputCallRequest(response_status=status)
        err = expect_rpc_error(grpc.StatusCode.UNKNOWN,
                               lambda: list(self.full_duplex_call(iter([request]))),
                               "FullDuplexCall")
        self._check_status(err, 2, STATUS_MESSAGE, "FullDuplexCall")

    def special_status_message(self):
        status = m.EchoStatus(code=2, message=SPECIAL_STATUS_MESSAGE)
        err = expect_rpc_error(grpc.StatusCode.UNKNOWN,
                               lambda: self.unary_call(m.SimpleRequest(response_status=status)),
                               "UnaryCall")
        self._check_status(err, 2, SPECIAL_STATUS_MESSAGE, "UnaryCall")

    def unimplemented_method(self):
        expect_rpc_error(grpc.StatusCode.UNIMPLEMENTED, lambda: self.unimplemented_call(Empty()),
                         "grpc.testing.TestService/UnimplementedCall")

    def unimplemented_service(self):
        expect_rpc_error(grpc.StatusCode.UNIMPLEMENTED,
                         lambda: self.unimplemented_service_call(Empty()),
                         "grpc.testing.UnimplementedService/UnimplementedCall")

    def cancel_after_begin(self):
        requests = RequestQueue()  # never sends anything: the call has only its headers
        future = self.streaming_input_call.future(requests)
        try:
            future.cancel()
            check(future.cancelled(), "the call could not be cancelled")
            check(future.code() == grpc.StatusCode.CANCELLED,
                  f"status {future.code()}, expected CANCELLED")
        finally:
            requests.close()

    def cancel_after_first_response(self):
        requests = RequestQueue()
        call = self.full_duplex_call(requests)
        try:
            requests.put(m.StreamingOutputCallRequest(
                response_parameters=[m.ResponseParameters(size=31415)],
                payload=m.Payload(body=zeros(27182))))
            check_payload(next(call), 31415, "response 1")
            call.cancel()
            try:
                next(call)
            except grpc.RpcError:
                pass
            except StopIteration:
                pass
            check(call.code() == grpc.StatusCode.CANCELLED,
                  f"status {call.code()}, expected CANCELLED")
        finally:
            requests.close()

    def timeout_on_sleeping_server(self):
        requests = RequestQueue()
        call = self.full_duplex_call(requests, timeout=0.001)
        try:
            requests.put(m.StreamingOutputCallRequest(payload=m.Payload(body=zeros(27182))))
            # Do not half-close: the client waits for its deadline.
            expect_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: list(call),
                             "FullDuplexCall with a 1 ms deadline")
        finally:
            requests.close()

    def client_compressed_unary(self):
        def request(expect):
            return m.SimpleRequest(expect_compressed=m.BoolValue(value=expect),
                                   response_size=314159, payload=m.Payload(body=zeros(271828)))

        expect_rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.unary_call(request(True), compression=grpc.Compression.NoCompression),
            "feature probe (uncompressed request with expect_compressed=true)")
        received = self.unary_call(request(True), compression=grpc.Compression.Gzip)
        check_payload(received, 314159, "compressed request")
        received = self.unary_call(request(False), compression=grpc.Compression.NoCompression)
        check_payload(received, 314159, "uncompressed request")

    def server_compressed_unary(self):
        for compressed in (True, False):
            received = self.unary_call(m.SimpleRequest(
                response_compressed=m.BoolValue(value=compressed), response_size=314159,
                payload=m.Payload(body=zeros(271828))))
            what = f"response_compressed={str(compressed).lower()}"
            check_payload(received, 314159, what)
            check(received.compressed == compressed,
                  f"{what}: the response message was {'' if received.compressed else 'not '}"
                  "compressed (compressed-flag byte of the gRPC message)")

    def client_compressed_streaming(self):
        probe = m.StreamingInputCallRequest(expect_compressed=m.BoolValue(value=True),
                                            payload=m.Payload(body=zeros(27182)))
        expect_rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: self.streaming_input_call(iter([probe]),
                                              compression=grpc.Compression.NoCompression),
            "feature probe (uncompressed message with expect_compressed=true)")

        shim = NoCompressShim()
        call = self.channel.stream_unary(
            "/grpc.testing.TestService/StreamingInputCall", shim.serializer,
            common.deserializer(m.StreamingInputCallResponse))
        requests = RequestQueue(shim)
        requests.put(m.StreamingInputCallRequest(expect_compressed=m.BoolValue(value=True),
                                                 payload=m.Payload(body=zeros(27182))))
        requests.put(m.StreamingInputCallRequest(expect_compressed=m.BoolValue(value=False),
                                                 payload=m.Payload(body=zeros(45904))),
                     no_compress=True)
        requests.close()
        with shim:
            received = call(requests, compression=grpc.Compression.Gzip)
        got = received.message.aggregated_payload_size
        check(got == 73086, f"aggregated_payload_size is {got}, expected 73086")

    def server_compressed_streaming(self):
        wanted = [(True, 31415), (False, 92653)]
        request = m.StreamingOutputCallRequest(response_parameters=[
            m.ResponseParameters(compressed=m.BoolValue(value=c), size=n) for c, n in wanted])
        responses = list(self.streaming_output_call(request))
        check(len(responses) == 2, f"got {len(responses)} responses, expected 2")
        for i, (received, (compressed, size)) in enumerate(zip(responses, wanted)):
            what = f"response {i + 1} (compressed={str(compressed).lower()})"
            check_payload(received, size, what)
            check(received.compressed == compressed,
                  f"{what}: the message was {'' if received.compressed else 'not '}compressed "
                  "(compressed-flag byte of the gRPC message)")


def make_channel(args):
    host = args.server_host
    target = f"[{host}]:{args.server_port}" if ":" in host and not host.startswith("[") \
        else f"{host}:{args.server_port}"
    options = [common.NO_DECOMPRESSION]
    if args.use_tls:
        ca_path = Path(args.ca_file) if args.ca_file else common.CA_FILE
        root = ca_path.read_bytes()
        if args.server_host_override:
            options.append(("grpc.ssl_target_name_override", args.server_host_override))
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root),
                                   options=options)
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
    return grpc.insecure_channel(target, options=options)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server_host", default="localhost")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--test_case", required=True, choices=CASES, metavar="TEST_CASE",
                        help="one of: " + ", ".join(CASES))
    common.add_bool_flag(parser, "--use_tls", "connect with TLS (ALPN h2)")
    common.add_bool_flag(parser, "--use_test_ca",
                         "trust the test CA (certs/ca.pem); it is the default anyway")
    parser.add_argument("--ca_file", default="",
                        help="PEM roots to trust with TLS (default: certs/ca.pem, test-only)")
    parser.add_argument("--server_host_override", default="",
                        help="name for TLS verification/SNI and :authority")
    parser.add_argument("--connect_timeout", type=float, default=10.0,
                        help="seconds to wait for the connection")
    args = parser.parse_args(argv)

    started = time.monotonic()
    channel = make_channel(args)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.connect_timeout)
        except grpc.FutureTimeoutError:
            print(f"FAIL {args.test_case}: could not connect to {args.server_host}:"
                  f"{args.server_port} within {args.connect_timeout:g}s "
                  f"({'TLS' if args.use_tls else 'h2c'})", file=sys.stderr)
            return 1
        client = Client(channel)
        try:
            getattr(client, args.test_case)()
        except CaseFailed as err:
            print(f"FAIL {args.test_case}: {err}", file=sys.stderr)
            return 1
        except grpc.RpcError as err:
            print(f"FAIL {args.test_case}: unexpected RPC failure {err.code().name}: "
                  f"{err.details()!r}", file=sys.stderr)
            return 1
        except Exception as err:  # noqa: BLE001 (report anything as a failure)
            print(f"FAIL {args.test_case}: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
        print(f"PASS {args.test_case} ({time.monotonic() - started:.2f}s)")
        return 0
    finally:
        channel.close()


if __name__ == "__main__":
    sys.exit(main())
