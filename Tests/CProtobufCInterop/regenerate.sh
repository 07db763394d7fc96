#!/bin/sh
# Regenerates protobuf-c's codec for the interop test proto (a test fixture; never edit it by hand).
# GenTests checks that the committed files equal protoc-c's current output.
set -e
cd "$(dirname "$0")"
protoc-c -I ../TestProtos --c_out=. weft_testing/types.proto
