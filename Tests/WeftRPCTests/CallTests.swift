// The value semantics of the call types that handlers and interceptors pass around.

import Testing
@testable import WeftRPC

struct CallTests {
    @Test func serverContextCopiesAreIndependent() {
        let original = ServerContext(
            descriptor: MethodDescriptor(service: "s.S", method: "M", kind: .unary),
            requestMetadata: ["k": "v"], peer: "ipv4:127.0.0.1:1", attributes: ["a": "1"])
        var copy = original
        copy.attributes["a"] = "2"
        copy.attributes["b"] = "3"
        copy.requestMetadata.addString("w", forKey: "k2")
        copy.peer = "other"
        #expect(original.attributes == ["a": "1"])
        #expect(original.requestMetadata.count == 1)
        #expect(original.peer == "ipv4:127.0.0.1:1")
        #expect(copy.attributes == ["a": "2", "b": "3"])
        #expect(copy.requestMetadata.first("k2") == "w")
        // The response metadata is shared: the transport reads what the handler set.
        copy.response.trailing = ["t": "x"]
        #expect(original.response.trailing.first("t") == "x")
    }

    @Test func sequencesFromArraysAndFromStreamsYieldTheSame() async throws {
        let fromArray = RPCAsyncSequence(elements: [1, 2, 3])
        #expect(try await fromArray.collect() == [1, 2, 3])
        #expect(try await fromArray.collect() == [1, 2, 3])  // each iteration starts over
        let (stream, continuation) = AsyncThrowingStream<Int, any Error>.makeStream()
        for i in 1...3 { continuation.yield(i) }
        continuation.finish()
        #expect(try await RPCAsyncSequence(stream).collect() == [1, 2, 3])
        #expect(try await RPCAsyncSequence(elements: [Int]()).collect() == [])
    }
}
