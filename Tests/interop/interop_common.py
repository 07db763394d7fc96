"""Pieces shared by the Python interop client and server.

Both sides run grpcio with per-message decompression switched off (channel argument
`grpc.per_message_decompression = 0`), so that a received message reaches our own
deserializer exactly as it was on the wire. A gzip-compressed message starts with the gzip
magic bytes 1f 8b; a protobuf message never does (0x1f would be field 3 with the invalid wire
type 7), so the deserializer can tell, for every single message, whether the peer compressed
it, and then decompresses it itself. That is how the server checks `expect_compressed` and the
client checks that the server obeyed `response_compressed` / `ResponseParameters.compressed`,
which plain grpcio hides from applications.

Only gzip is recognised: Weft speaks identity and gzip (DESIGN.md §5). A peer that compressed
with deflate would show up as a decoding error.
"""

import gzip
from pathlib import Path

HERE = Path(__file__).resolve().parent
CERTS = HERE / "certs"
CA_FILE = CERTS / "ca.pem"
SERVER_CERT = CERTS / "server.pem"
SERVER_KEY = CERTS / "server.key"

GZIP_MAGIC = b"\x1f\x8b"
NO_DECOMPRESSION = ("grpc.per_message_decompression", 0)

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"


class Received:
    """A decoded message and whether it arrived compressed."""

    __slots__ = ("message", "compressed")

    def __init__(self, message, compressed):
        self.message = message
        self.compressed = compressed


def deserializer(message_class):
    def decode(data: bytes) -> Received:
        compressed = data[:2] == GZIP_MAGIC
        if compressed:
            data = gzip.decompress(data)
        return Received(message_class.FromString(data), compressed)

    return decode


def serializer(message) -> bytes:
    return message.SerializeToString()


def parse_bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "t", "yes", "y", "on"):
        return True
    if value in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def add_bool_flag(parser, name, help_text, default=False):
    """A grpc-go style boolean flag: `--name`, `--name=true`, `--name=false`."""
    parser.add_argument(name, nargs="?", const=True, default=default, type=parse_bool,
                        metavar="BOOL", help=help_text)
