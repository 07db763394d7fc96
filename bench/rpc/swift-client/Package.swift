// swift-tools-version:6.1
// The Swift client of the RPC benchmark (bench/run-rpc.sh): times grpc.testing.TestService
// StreamingOutputCall over Weft's HTTP/2 client transport (`HTTP2ClientTransport`) and the generated
// `Grpc_Testing_TestService.Client`.
//
// This manifest declares, over links in Vendored/ and Plugins/ to Weft's own source directories
// (same sources, same module names, same `codegen` plugin and proto/), the subset of Weft's targets
// the client needs; keep the target list below in step with Weft's Package.swift. It was written
// when Weft did not export WeftHTTP2 (SwiftPM refuses two packages declaring targets of the same
// name). Weft exports it now; a path dependency would need an identity that does not depend on the
// name of the directory Weft is cloned into.
import PackageDescription

let package = Package(
    name: "rpc-bench-client",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CNghttp2", path: "Vendored/CNghttp2", pkgConfig: "libnghttp2"),
        .systemLibrary(name: "COpenSSL", path: "Vendored/COpenSSL", pkgConfig: "openssl"),
        .systemLibrary(name: "CZlib", path: "Vendored/CZlib", pkgConfig: "zlib"),

        // Weft's protobuf toolchain, for the codegen plugin that generates Gen from proto/.
        .target(name: "ProtoCompiler", path: "Vendored/ProtoCompiler", exclude: ["README.md"]),
        .target(name: "ProtoSwiftEmitter", dependencies: ["ProtoCompiler"], path: "Vendored/ProtoSwiftEmitter", exclude: ["README.md"]),
        .executableTarget(
            name: "weft-protoc",
            dependencies: [
                "ProtoCompiler", "ProtoSwiftEmitter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Vendored/weft-protoc"
        ),
        .plugin(name: "codegen", capability: .buildTool(), dependencies: ["weft-protoc"], path: "Plugins/codegen"),

        // Weft's runtimes and its HTTP/2 transport.
        .target(name: "WeftProtobuf", path: "Vendored/WeftProtobuf", exclude: ["README.md"]),
        .target(
            name: "WeftRPC", dependencies: ["WeftProtobuf", .product(name: "Logging", package: "swift-log")],
            path: "Vendored/WeftRPC", exclude: ["README.md"]
        ),
        .target(
            name: "WeftTLS", dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")],
            path: "Vendored/WeftTLS", exclude: ["README.md"]
        ),
        .target(
            name: "WeftHTTP2",
            dependencies: [
                "CNghttp2", "CZlib", "WeftRPC", "WeftProtobuf", "WeftTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Vendored/WeftHTTP2", exclude: ["README.md"]
        ),
        .target(
            name: "Gen", dependencies: ["WeftProtobuf", "WeftRPC"], path: "Vendored/Gen",
            exclude: ["proto/README.md"], plugins: ["codegen"]
        ),

        .executableTarget(name: "rpc-bench-client", dependencies: ["WeftHTTP2", "Gen", "WeftRPC"]),
    ]
)
