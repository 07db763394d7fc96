// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "weft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weft", targets: ["weft"]),
        .executable(name: "weft-protoc", targets: ["weft-protoc"]),
        .library(name: "WeftProtobuf", targets: ["WeftProtobuf"]),
        .library(name: "WeftRPC", targets: ["WeftRPC"]),
        .library(name: "Gen", targets: ["Gen"]),
        .library(name: "WeftHTTP2", targets: ["WeftHTTP2"]),
        .library(name: "WeftTLS", targets: ["WeftTLS"]),
        .library(name: "WeftHealth", targets: ["WeftHealth"]),
        .library(name: "WeftReflection", targets: ["WeftReflection"]),
        .plugin(name: "codegen", targets: ["codegen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // The protobuf toolchain: parser and descriptors, the Swift emitter, the protoc-style CLI, the plugin.
        .target(name: "ProtoCompiler", exclude: ["README.md"]),
        .target(name: "ProtoSwiftEmitter", dependencies: ["ProtoCompiler"], exclude: ["README.md"]),
        .executableTarget(
            name: "weft-protoc",
            dependencies: [
                "ProtoCompiler", "ProtoSwiftEmitter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .plugin(name: "codegen", capability: .buildTool(), dependencies: ["weft-protoc"]),

        // Runtimes: the protobuf wire format and JSON; the transport-independent RPC core.
        .target(name: "WeftProtobuf", exclude: ["README.md"]),
        .target(name: "WeftRPC", dependencies: ["WeftProtobuf", .product(name: "Logging", package: "swift-log")], exclude: ["README.md"]),

        // gRPC over HTTP/2: nghttp2 sessions driven from SwiftNIO channels, TLS by OpenSSL.
        .target(
            name: "WeftTLS",
            dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")],
            exclude: ["README.md"]
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
            exclude: ["README.md"]
        ),

        // Everything generated from proto/.
        .target(name: "Gen", dependencies: ["WeftProtobuf", "WeftRPC"], exclude: ["proto/README.md"], plugins: ["codegen"]),

        // Pods: what the kubelet API and every sidecar share (names, volumes, env, logs, status, records).
        .target(
            name: "WeftPodKit",
            dependencies: ["Gen", "WeftRPC", "WeftProtobuf", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/PodKit", exclude: ["README.md"]
        ),

        // Sidecars: backends that run pods (sidecar.proto).
        .target(name: "CProcess", path: "Sources/CProcess"),
        .target(
            name: "WeftSandboxSidecar",
            dependencies: [
                "WeftPodKit", "CProcess", "Gen", "WeftRPC", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Sidecars/Sandbox", exclude: ["README.md"]
        ),

        .target(
            name: "WeftSlurmSidecar",
            dependencies: ["WeftPodKit", "Gen", "WeftRPC", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Sidecars/Slurm", exclude: ["README.md"]
        ),

        // Kubernetes objects: manifests (YAML/JSON) to and from the kubelet IDL.
        .target(
            name: "WeftKubernetes",
            dependencies: ["Gen", "WeftPodKit", .product(name: "Yams", package: "Yams")],
            path: "Sources/Kubernetes", exclude: ["README.md"]
        ),

        // The virtual kubelet: a Kubernetes node backed by the kubelet API.
        .target(
            name: "WeftVirtualKubelet",
            dependencies: ["Gen", "WeftRPC", "WeftPodKit", "WeftKubernetes", .product(name: "Logging", package: "swift-log")],
            path: "Sources/VirtualKubelet", exclude: ["README.md"]
        ),

        // Authentication and authorization: bearer JWTs against OIDC issuers, mTLS identities,
        // declarative policies, one server interceptor for every service.
        .target(
            name: "WeftAuth",
            dependencies: [
                "WeftRPC", "Gen", .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Auth", exclude: ["README.md"]
        ),

        // Accounting: APEL formats (text messages, StAR XML, accelerator JSON) and their rules.
        .target(name: "WeftAPEL", dependencies: ["Gen", "WeftProtobuf"], path: "Sources/APEL", exclude: ["README.md"]),

        // Service implementations.
        .target(
            name: "WeftAccounting",
            dependencies: [
                "Gen", "WeftRPC", "WeftProtobuf", "WeftAPEL", "WeftPodKit", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Servers/Accounting", exclude: ["README.md"]
        ),
        .target(
            name: "WeftDashboard",
            dependencies: ["Gen", "WeftRPC", "WeftHTTP2", "WeftProtobuf", "WeftPodKit"],
            path: "Sources/Servers/Dashboard"
        ),
        .target(
            name: "WeftIdentity",
            dependencies: [
                "Gen", "WeftRPC", "WeftAuth", "WeftPodKit", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Servers/Identity"
        ),
        .target(name: "WeftHealth", dependencies: ["Gen", "WeftRPC"], path: "Sources/Servers/Health"),
        .target(name: "WeftInterop", dependencies: ["Gen", "WeftRPC"], path: "Sources/Servers/Interop"),
        .target(
            name: "WeftKubelet",
            dependencies: ["Gen", "WeftRPC", "WeftPodKit", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Servers/Kubelet"
        ),
        .target(name: "WeftReflection", dependencies: ["Gen", "WeftRPC", "WeftProtobuf"], path: "Sources/Servers/Reflection"),
        .target(name: "WeftInteropClient", dependencies: ["Gen", "WeftRPC"], path: "Sources/Clients/Interop"),
        .target(
            name: "WeftAccountingPublisher",
            dependencies: ["Gen", "WeftRPC", "WeftProtobuf", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Clients/Accounting", exclude: ["README.md"]
        ),

        .executableTarget(
            name: "weft",
            dependencies: [
                "Gen", "WeftProtobuf", "WeftRPC", "WeftHealth", "WeftHTTP2", "WeftTLS", "WeftInterop", "WeftInteropClient", "WeftReflection", "CMalloc",
                "WeftKubelet", "WeftSandboxSidecar", "WeftSlurmSidecar", "WeftKubernetes", "WeftPodKit", "WeftVirtualKubelet",
                "WeftAuth", "WeftIdentity", "WeftAPEL", "WeftAccounting", "WeftAccountingPublisher", "WeftDashboard",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),

        // Tests.
        .testTarget(name: "ProtoCompilerTests", dependencies: ["ProtoCompiler", "ProtoSwiftEmitter"]),
        .testTarget(name: "WeftProtobufTests", dependencies: ["WeftProtobuf"]),
        .target(
            name: "TestSupport",
            dependencies: [
                "WeftRPC", "Gen", "TestProtos", .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "WeftRPCTests", dependencies: ["WeftRPC", "Gen", "TestProtos", "TestSupport"]),
        .testTarget(name: "WeftHTTP2Tests", dependencies: [
            "WeftHTTP2", "WeftTLS", "WeftRPC", "Gen", "TestProtos", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "WeftTLSTests", dependencies: [
            "WeftTLS", "COpenSSL",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "WeftVirtualKubeletTests", dependencies: ["WeftVirtualKubelet", "WeftKubernetes", "WeftPodKit", "Gen", "WeftRPC"]),
        .testTarget(name: "WeftPodKitTests", dependencies: ["WeftPodKit", "Gen", "WeftRPC"]),
        .testTarget(name: "WeftKubernetesTests", dependencies: ["WeftKubernetes", "Gen"]),
        .testTarget(name: "WeftSandboxSidecarTests", dependencies: ["WeftSandboxSidecar", "WeftPodKit", "Gen", "WeftRPC"]),
        .testTarget(name: "WeftKubeletTests", dependencies: ["WeftKubelet", "WeftSandboxSidecar", "WeftPodKit", "Gen", "WeftRPC", "WeftProtobuf"]),
        .testTarget(name: "WeftSlurmSidecarTests", dependencies: [
            "WeftSlurmSidecar", "WeftPodKit", "Gen", "WeftRPC",
        ]),
        .testTarget(name: "WeftHealthTests", dependencies: ["WeftHealth", "WeftRPC", "Gen"]),
        .testTarget(name: "WeftAuthTests", dependencies: ["WeftAuth", "WeftRPC", "Gen", "TestSupport", "TestProtos", "WeftHTTP2", "WeftTLS"]),
        .testTarget(name: "WeftIdentityTests", dependencies: ["WeftIdentity", "WeftAuth", "WeftRPC", "Gen", "TestSupport", "WeftProtobuf"]),
        .testTarget(name: "WeftAPELTests", dependencies: ["WeftAPEL", "Gen", "WeftProtobuf"]),
        .testTarget(name: "WeftAccountingTests", dependencies: ["WeftAccounting", "WeftAPEL", "Gen", "WeftRPC", "WeftAccountingPublisher"]),
        // Test protos (every field type) compiled by the same plugin, and protobuf-c's codec for them.
        .target(name: "TestProtos", dependencies: ["Gen", "WeftProtobuf", "WeftRPC"], path: "Tests/TestProtos", plugins: ["codegen"]),
        .target(
            name: "CProtobufCInterop", dependencies: ["CProtobufC"], path: "Tests/CProtobufCInterop",
            exclude: ["regenerate.sh"], cSettings: [.headerSearchPath(".")]
        ),
        .testTarget(
            name: "GenTests",
            dependencies: [
                "Gen", "TestProtos", "CProtobufCInterop", "WeftProtobuf",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ]
)
