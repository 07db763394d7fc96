// Generated clients and servers through the in-process transport: the shared conformance checks,
// plus what only the in-process path can observe directly.

import Gen
import Testing
import TestProtos
import TestSupport
import WeftProtobuf
import WeftRPC

struct InProcessTests {
    let checks = RPCConformance { InProcessTransport(server: $0) }
    var service: KindsService { checks.service }
    func nested(_ a: Int32, _ b: String = "") -> Weft_Testing_Nested { checks.nested(a, b) }

    @Test func unary() async throws { try await checks.unary() }
    @Test func serverStreaming() async throws { try await checks.serverStreaming() }
    @Test func serverStreamingErrorAfterMessages() async throws { try await checks.serverStreamingErrorAfterMessages() }
    @Test func clientStreaming() async throws { try await checks.clientStreaming() }
    @Test func bidirectional() async throws { try await checks.bidirectional() }
    @Test func statusesAndMetadata() async throws { try await checks.statusesAndMetadata() }
    @Test func unimplementedMethodAndService() async throws { try await checks.unimplementedMethodAndService() }
    @Test func deadlineExceededCancelsTheHandler() async throws { try await checks.deadlineExceededCancelsTheHandler() }
    @Test func clientCancellation() async throws { try await checks.clientCancellation() }
    @Test func interceptorsBothSides() async throws { try await checks.interceptorsBothSides() }

    @Test func malformedRequestIsInvalidArgument() async throws {
        let server = RPCServer(services: [service])
        let (requests, sink) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        sink.yield([0x12, 0x05, 0x61])  // string field declaring 5 bytes, 1 present
        sink.finish()
        let parts = Box<[ResponsePart]>([])
        await server.handle(ServerStream(
            path: "/weft.testing.Kinds/Unary", metadata: [:], peer: "test", deadline: nil,
            requests: RPCAsyncSequence(requests), responses: RPCWriter { p in parts.withLock { $0.append(p) } }))
        guard case let .end(status, _)? = parts.withLock({ $0.last }) else { Issue.record("no end"); return }
        #expect(status.code == .invalidArgument)
        #expect(status.message.contains("b"))
    }

    @Test func generatedDescriptorsAndEmbeddedFiles() throws {
        #expect(Weft_Testing_Kinds.Method.bidi.path == "/weft.testing.Kinds/Bidi")
        #expect(Weft_Testing_Kinds.Method.bidi.kind == .bidirectionalStreaming)
        #expect(Weft_Testing_Kinds.Method.all.count == 4)
        #expect(Grpc_Health_V1_Health.serviceName == "grpc.health.v1.Health")
        // The embedded descriptor is a FileDescriptorProto naming the file.
        let bytes = ProtoFile_grpc_health_v1_health.serializedDescriptor
        #expect(bytes.count > 100)
        #expect(bytes.starts(with: [0x0A, UInt8("grpc/health/v1/health.proto".utf8.count)] + Array("grpc/health/v1/health.proto".utf8)))
    }
}
