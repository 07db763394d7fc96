#!/bin/sh
# Regenerates the committed generated code of the codec benchmark (never edit it by hand):
#   - Sources/SwiftProtobufBenchProtos/bench.pb.swift: swift-protobuf's protoc-gen-swift (built here
#     from the swift-protobuf dependency; building it takes a while, so its output is committed);
#   - c/weft_testing/bench.pb-c.[ch]: protobuf-c's protoc-c.
# (Weft's code is generated at build time by its codegen plugin, from the link
# Sources/WeftBenchProtos/bench.proto -> Tests/TestProtos/weft_testing/bench.proto.)
set -e
cd "$(dirname "$0")"
proto_dir=../../Tests/TestProtos
swift build --product protoc-gen-swift
plugin="$(swift build --product protoc-gen-swift --show-bin-path)/protoc-gen-swift"
tmp="$(mktemp -d)"
protoc --plugin=protoc-gen-swift="$plugin" -I "$proto_dir" --swift_opt=Visibility=Public \
    --swift_out="$tmp" weft_testing/bench.proto
mv "$tmp/weft_testing/bench.pb.swift" Sources/SwiftProtobufBenchProtos/bench.pb.swift
rm -rf "$tmp"
(cd c && protoc-c -I "../$proto_dir" --c_out=. weft_testing/bench.proto)
