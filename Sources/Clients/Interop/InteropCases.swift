import Foundation
import Gen
import WeftRPC

/// The gRPC interop test cases (grpc/grpc `doc/interop-test-descriptions.md`) as a Swift client runs
/// them. Each case throws ``InteropFailure`` describing the first expectation that did not hold.
public struct InteropCases: Sendable {
    /// Every case this client implements, by its interop name.
    public static let names = [
        "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
        "custom_metadata", "status_code_and_message", "special_status_message", "unimplemented_method",
        "unimplemented_service", "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
        "client_compressed_unary", "server_compressed_unary", "client_compressed_streaming", "server_compressed_streaming",
    ]

    let rpc: RPCClient
    var test: Grpc_Testing_TestService.Client { Grpc_Testing_TestService.Client(rpc) }

    /// Creates the cases over a transport.
    public init(transport: any ClientTransport) { rpc = RPCClient(transport: transport) }

    /// Runs one case by name.
    public func run(_ name: String) async throws {
        switch name {
        case "empty_unary": try await emptyUnary()
        case "large_unary": try await largeUnary()
        case "client_streaming": try await clientStreaming()
        case "server_streaming": try await serverStreaming()
        case "ping_pong": try await pingPong()
        case "empty_stream": try await emptyStream()
        case "custom_metadata": try await customMetadata()
        case "status_code_and_message": try await statusCodeAndMessage("test status message")
        case "special_status_message": try await statusCodeAndMessage("\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n", unaryOnly: true)
        case "unimplemented_method": try await unimplementedMethod()
        case "unimplemented_service": try await unimplementedService()
        case "cancel_after_begin": try await cancelAfterBegin()
        case "cancel_after_first_response": try await cancelAfterFirstResponse()
        case "timeout_on_sleeping_server": try await timeoutOnSleepingServer()
        case "client_compressed_unary": try await clientCompressedUnary()
        case "server_compressed_unary": try await serverCompressedUnary()
        case "client_compressed_streaming": try await clientCompressedStreaming()
        case "server_compressed_streaming": try await serverCompressedStreaming()
        default: throw InteropFailure("unknown test case \"\(name)\"; known: \(Self.names.joined(separator: ", "))")
        }
    }

    // MARK: Helpers

    static func payload(_ size: Int) -> Grpc_Testing_Payload {
        var p = Grpc_Testing_Payload()
        p.body = Data(count: size)
        return p
    }

    static func simple(responseSize: Int32, payloadSize: Int) -> Grpc_Testing_SimpleRequest {
        var r = Grpc_Testing_SimpleRequest()
        r.responseType = .compressable
        r.responseSize = responseSize
        r.payload = payload(payloadSize)
        return r
    }

    static func streamingOutput(_ sizes: [Int32], payloadSize: Int = 0) -> Grpc_Testing_StreamingOutputCallRequest {
        var r = Grpc_Testing_StreamingOutputCallRequest()
        r.responseType = .compressable
        r.responseParameters = sizes.map { var p = Grpc_Testing_ResponseParameters(); p.size = $0; return p }
        if payloadSize > 0 { r.payload = payload(payloadSize) }
        return r
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw InteropFailure(message()) }
    }

    static func expectBody(_ p: Grpc_Testing_Payload, size: Int) throws {
        try expect(p.body.count == size, "payload of \(p.body.count) bytes, expected \(size)")
        try expect(p.body.allSatisfy { $0 == 0 }, "payload is not all zeros")
    }

    /// Expects `body` to fail with `code` (and `message`, when given).
    static func expectError(_ code: StatusCode, message: String? = nil, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as RPCError {
            try expect(e.code == code, "status \(e.code) (\(e.message)), expected \(code)")
            if let message { try expect(e.message == message, "status message \(e.message.debugDescription), expected \(message.debugDescription)") }
            return
        }
        throw InteropFailure("the call succeeded, expected \(code)")
    }

    // MARK: Cases

    func emptyUnary() async throws {
        let r = try await test.emptyCall(Grpc_Testing_Empty())
        try Self.expect(r == Grpc_Testing_Empty(), "non-empty response")
    }

    func largeUnary() async throws {
        let r = try await test.unaryCall(Self.simple(responseSize: 314_159, payloadSize: 271_828))
        try Self.expectBody(r.payload, size: 314_159)
    }

    func clientStreaming() async throws {
        let r = try await test.streamingInputCall { w in
            for size in [27182, 8, 1828, 45904] {
                var m = Grpc_Testing_StreamingInputCallRequest()
                m.payload = Self.payload(size)
                try await w.write(m)
            }
        }
        try Self.expect(r.aggregatedPayloadSize == 74922, "aggregated size \(r.aggregatedPayloadSize), expected 74922")
    }

    func serverStreaming() async throws {
        let sizes: [Int32] = [31415, 9, 2653, 58979]
        let got = try await test.streamingOutputCall(Self.streamingOutput(sizes)) { stream in
            try await stream.reduce(into: [Int]()) { $0.append($1.payload.body.count) }
        }
        try Self.expect(got == sizes.map(Int.init), "response sizes \(got), expected \(sizes)")
    }

    func pingPong() async throws {
        let pairs: [(Int32, Int)] = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        let (turns, turn) = AsyncStream<Void>.makeStream()
        try await test.fullDuplexCall(requests: { w in
            var it = turns.makeAsyncIterator()
            for (response, request) in pairs {
                try await w.write(Self.streamingOutput([response], payloadSize: request))
                guard await it.next() != nil else { return }
            }
        }, responses: { stream in
            var i = 0
            for try await r in stream {
                guard i < pairs.count else { throw InteropFailure("more responses than requests") }
                try Self.expectBody(r.payload, size: Int(pairs[i].0))
                i += 1
                turn.yield()
            }
            turn.finish()
            try Self.expect(i == pairs.count, "\(i) responses, expected \(pairs.count)")
        })
    }

    func emptyStream() async throws {
        let n = try await test.fullDuplexCall(requests: { _ in }, responses: { try await $0.reduce(0) { n, _ in n + 1 } })
        try Self.expect(n == 0, "\(n) responses to an empty stream")
    }

    func customMetadata() async throws {
        var options = CallOptions()
        options.metadata.addString("test_initial_metadata_value", forKey: "x-grpc-test-echo-initial")
        options.metadata.addBinary([0xAB, 0xAB, 0xAB], forKey: "x-grpc-test-echo-trailing-bin")
        let unary: ClientResponse<Grpc_Testing_SimpleResponse> = try await rpc.unary(
            Grpc_Testing_TestService.Method.unaryCall, request: Self.simple(responseSize: 314_159, payloadSize: 271_828), options: options)
        try Self.checkEcho(initial: unary.initialMetadata, trailing: unary.trailingMetadata)
        try Self.expectBody(unary.message.payload, size: 314_159)

        let (initial, trailing) = try await test.fullDuplexCall(options: options, requests: { w in
            try await w.write(Self.streamingOutput([314_159], payloadSize: 271_828))
        }, responses: { stream in
            for try await r in stream { try Self.expectBody(r.payload, size: 314_159) }
            return (stream.initialMetadata, stream.trailingMetadata)
        })
        try Self.checkEcho(initial: initial, trailing: trailing)
    }

    static func checkEcho(initial: Metadata, trailing: Metadata) throws {
        try expect(initial.first("x-grpc-test-echo-initial") == "test_initial_metadata_value",
                   "initial metadata \(initial), expected x-grpc-test-echo-initial")
        try expect(trailing[binaryValues: "x-grpc-test-echo-trailing-bin"] == [[0xAB, 0xAB, 0xAB]],
                   "trailing metadata \(trailing), expected x-grpc-test-echo-trailing-bin = ababab")
    }

    func statusCodeAndMessage(_ message: String, unaryOnly: Bool = false) async throws {
        var status = Grpc_Testing_EchoStatus()
        status.code = 2
        status.message = message
        var request = Grpc_Testing_SimpleRequest()
        request.responseStatus = status
        try await Self.expectError(.unknown, message: message) { _ = try await test.unaryCall(request) }
        if unaryOnly { return }
        var streamingRequest = Grpc_Testing_StreamingOutputCallRequest()
        streamingRequest.responseStatus = status
        let streaming = streamingRequest
        try await Self.expectError(.unknown, message: message) {
            try await test.fullDuplexCall(requests: { try await $0.write(streaming) }, responses: { s in for try await _ in s {} })
        }
    }

    func unimplementedMethod() async throws {
        try await Self.expectError(.unimplemented) { _ = try await test.unimplementedCall(Grpc_Testing_Empty()) }
    }

    func unimplementedService() async throws {
        let client = Grpc_Testing_UnimplementedService.Client(rpc)
        try await Self.expectError(.unimplemented) { _ = try await client.unimplementedCall(Grpc_Testing_Empty()) }
    }

    func cancelAfterBegin() async throws {
        let test = self.test
        let call = Task {
            try await test.streamingInputCall { _ in try await Task.sleep(for: .seconds(60)) }
        }
        try await Task.sleep(for: .milliseconds(50))
        call.cancel()
        try await Self.expectError(.cancelled) { _ = try await call.value }
    }

    func cancelAfterFirstResponse() async throws {
        let test = self.test
        let (first, firstSeen) = AsyncStream<Void>.makeStream()
        let call = Task {
            try await test.fullDuplexCall(requests: { w in
                try await w.write(Self.streamingOutput([31415], payloadSize: 27182))
                try await Task.sleep(for: .seconds(60))
            }, responses: { stream in
                for try await r in stream {
                    try Self.expectBody(r.payload, size: 31415)
                    firstSeen.yield()
                }
            })
        }
        var it = first.makeAsyncIterator()
        _ = await it.next()
        call.cancel()
        try await Self.expectError(.cancelled) { try await call.value }
    }

    func timeoutOnSleepingServer() async throws {
        try await Self.expectError(.deadlineExceeded) {
            try await test.fullDuplexCall(options: CallOptions(timeout: .milliseconds(1)), requests: { w in
                try await w.write(Self.streamingOutput([], payloadSize: 27182))
                try await Task.sleep(for: .seconds(60))
            }, responses: { s in for try await _ in s {} })
        }
    }

    func clientCompressedUnary() async throws {
        var expectCompressed = Grpc_Testing_BoolValue()
        expectCompressed.value = true
        var probe = Self.simple(responseSize: 314_159, payloadSize: 271_828)
        probe.expectCompressed = expectCompressed
        // The probe is sent uncompressed: a server that checks must refuse it.
        try await Self.expectError(.invalidArgument) { _ = try await test.unaryCall(probe) }
        let compressed = try await test.unaryCall(probe, options: CallOptions(compression: "gzip"))
        try Self.expectBody(compressed.payload, size: 314_159)
        var plain = Self.simple(responseSize: 314_159, payloadSize: 271_828)
        plain.expectCompressed = Grpc_Testing_BoolValue()
        try Self.expectBody(try await test.unaryCall(plain).payload, size: 314_159)
    }

    func serverCompressedUnary() async throws {
        for compress in [true, false] {
            var request = Self.simple(responseSize: 314_159, payloadSize: 271_828)
            var flag = Grpc_Testing_BoolValue()
            flag.value = compress
            request.responseCompressed = flag
            let r: ClientResponse<Grpc_Testing_SimpleResponse> = try await rpc.unary(Grpc_Testing_TestService.Method.unaryCall, request: request)
            try Self.expect(r.messageCompressed == compress, "response compressed = \(r.messageCompressed), expected \(compress)")
            try Self.expectBody(r.message.payload, size: 314_159)
        }
    }

    func clientCompressedStreaming() async throws {
        var yes = Grpc_Testing_BoolValue()
        yes.value = true
        var probeRequest = Grpc_Testing_StreamingInputCallRequest()
        probeRequest.payload = Self.payload(27182)
        probeRequest.expectCompressed = yes
        let probe = probeRequest
        try await Self.expectError(.invalidArgument) {
            _ = try await test.streamingInputCall { try await $0.write(probe) }
        }
        let r = try await test.streamingInputCall(options: CallOptions(compression: "gzip")) { w in
            try await w.write(probe)
            var second = Grpc_Testing_StreamingInputCallRequest()
            second.payload = Self.payload(45904)
            second.expectCompressed = Grpc_Testing_BoolValue()
            try await w.write(second, options: WriteOptions(compress: false))
        }
        try Self.expect(r.aggregatedPayloadSize == 73086, "aggregated size \(r.aggregatedPayloadSize), expected 73086")
    }

    func serverCompressedStreaming() async throws {
        var request = Self.streamingOutput([31415, 92653])
        var yes = Grpc_Testing_BoolValue()
        yes.value = true
        request.responseParameters[0].compressed = yes
        request.responseParameters[1].compressed = Grpc_Testing_BoolValue()
        let seen = try await test.streamingOutputCall(request) { stream in
            var seen: [(Int, Bool)] = []
            for try await r in stream { seen.append((r.payload.body.count, stream.lastMessageCompressed)) }
            return seen
        }
        try Self.expect(seen.map(\.0) == [31415, 92653], "response sizes \(seen.map(\.0))")
        try Self.expect(seen.map(\.1) == [true, false], "compressed flags \(seen.map(\.1)), expected [true, false]")
    }
}

/// An interop expectation that did not hold.
public struct InteropFailure: Error, CustomStringConvertible {
    /// What was wrong.
    public let description: String
    init(_ d: String) { description = d }
}
