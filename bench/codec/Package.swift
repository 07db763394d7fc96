// swift-tools-version:6.1
// The codec benchmark: Weft's protobuf runtime against swift-protobuf (and, from bench/run-codec.sh,
// protobuf-c). A separate package so that swift-protobuf is never a dependency of Weft itself.
import Foundation
import PackageDescription

/// SwiftPM names a package dependency by path after its directory (lowercased): `main` for a checkout
/// at /work/main, `weft` for one at ~/src/weft.
let weft = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardized.lastPathComponent.lowercased()

let package = Package(
    name: "codec-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Weft's types for bench.proto, generated at build time by Weft's `codegen` plugin from the
        // `bench.proto` link to Tests/TestProtos/weft_testing/bench.proto.
        .target(
            name: "WeftBenchProtos",
            dependencies: [
                .product(name: "WeftProtobuf", package: weft),
                .product(name: "Gen", package: weft),
            ],
            plugins: [.plugin(name: "codegen", package: weft)]
        ),
        // swift-protobuf's types for the same file: generated once by protoc-gen-swift and committed
        // (see regenerate.sh), never at build time.
        .target(
            name: "SwiftProtobufBenchProtos",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .executableTarget(
            name: "codec-bench",
            dependencies: [
                "WeftBenchProtos", "SwiftProtobufBenchProtos",
                .product(name: "WeftProtobuf", package: weft),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ]
)
