// What only the HTTP/2 transport does: header encodings, message size limits, flow control that
// holds a fast writer back, graceful shutdown, reconnecting.

import Foundation
import Gen
import NIOCore
import Synchronization
import Testing
import TestProtos
import TestSupport
import WeftRPC
@testable import WeftHTTP2

struct GRPCHeaderTests {
    @Test func timeouts() {
        #expect(GRPCHeaders.encodeTimeout(.milliseconds(1)) == "1000000n")
        #expect(GRPCHeaders.encodeTimeout(.seconds(3)) == "3000000u")
        #expect(GRPCHeaders.encodeTimeout(.seconds(3600 * 24 * 365)).count <= 9)
        #expect(GRPCHeaders.decodeTimeout("1m") == .milliseconds(1))
        #expect(GRPCHeaders.decodeTimeout("2H") == .seconds(7200))
        #expect(GRPCHeaders.decodeTimeout("123456789S") == nil)  // more than 8 digits
        #expect(GRPCHeaders.decodeTimeout("5x") == nil)
        #expect(GRPCHeaders.decodeTimeout("S") == nil)
    }

    @Test func percentEncoding() {
        let s = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n 100%"
        let e = GRPCHeaders.percentEncode(s)
        #expect(e.allSatisfy { $0.isASCII && $0 != "\n" })
        #expect(e.contains("%25"))
        #expect(GRPCHeaders.percentDecode(e) == s)
        #expect(GRPCHeaders.percentDecode("bad %zz and %4") == "bad %zz and %4")
    }

    @Test func headerNamesAreRecognisedFromTheirBytes() {
        let known: [HeaderName] = [.method, .path, .status, .contentType, .te, .userAgent, .contentLength, .host, .connection,
                                   .grpcTimeout, .grpcEncoding, .grpcAcceptEncoding, .grpcStatus, .grpcMessage, .grpcStatusDetailsBin]
        for name in known {
            let literal = name.literal ?? ""
            #expect(HeaderName(literal) == name, "\(literal)")
            #expect(HTTP2Header(literal, "v").known == name)
        }
        #expect(HeaderName(":authority") == .otherPseudo)
        #expect(HeaderName(":authority").isReserved)
        // Same length as a known name, one byte off; upper case; empty; a prefix.
        for other in ["grpc-statuz", "x-grpc-test", "Content-Type", "", "grpc-status-details", "tf", "x-user-agent"] {
            #expect(HeaderName(other) == .other, "\(other)")
        }
        var h = HTTP2Header("x-custom", "1")
        h.name = "grpc-timeout"
        #expect(h.known == .grpcTimeout)
        #expect(HTTP2Header("te", "trailers") == HTTP2Header("te", "trailers"))
    }

    @Test func binaryMetadata() {
        var m = Metadata()
        m.addBinary([0, 0xAB, 0xFF], forKey: "x-bin")
        m.addString("v", forKey: "x-text")
        m.addString("drop", forKey: "content-type")
        let h = GRPCHeaders.headers(from: m)
        #expect(h == [HTTP2Header("x-bin", "AKv/"), HTTP2Header("x-text", "v")])
        let back = GRPCHeaders.metadata(from: h + [HTTP2Header("x-bin", "AQ==, Ag")])
        #expect(back[binaryValues: "x-bin"] == [[0, 0xAB, 0xFF], [1], [2]])
    }

    @Test func gzipRoundTripAndBombLimit() throws {
        var input = ByteBuffer()
        input.writeBytes([UInt8](repeating: 7, count: 1 << 20))
        let z = try MessageCompression.gzip.compress(input)
        #expect(z.readableBytes < 10_000)
        #expect(try MessageCompression.gzip.decompress(z, limit: 1 << 20) == input)
        #expect(throws: RPCError.self) { try MessageCompression.gzip.decompress(z, limit: 1000) }
    }

    /// The deframer's three ways in (a whole message taken at once, small messages through its
    /// buffer, large ones collected straight into their array) give the same messages for any cut.
    @Test func deframerGivesTheSameMessagesHoweverTheBytesAreCut() throws {
        let bodies: [[UInt8]] = [[], [1, 2, 3], (0..<20_000).map { UInt8($0 % 251) }, [9], (0..<70_000).map { UInt8($0 % 13) }]
        var wire: [UInt8] = []
        for b in bodies {
            wire += [0, UInt8(b.count >> 24), UInt8(b.count >> 16 & 0xFF), UInt8(b.count >> 8 & 0xFF), UInt8(b.count & 0xFF)] + b
        }
        for cut in [1, 2, 5, 7, 1000, 16_384, 20_005, wire.count] {
            var d = GRPCDeframer(maxMessageSize: 1 << 20)
            var got: [[UInt8]] = []
            var at = 0
            while at < wire.count {
                let piece = Array(wire[at..<min(at + cut, wire.count)])
                at += piece.count
                try piece.withUnsafeBytes { raw in
                    try d.receive(raw, encoding: nil) { got.append($0.bytes) }
                }
            }
            #expect(got == bodies, "cut into pieces of \(cut) bytes")
            #expect(d.bufferedBytes == 0)
        }
        // A whole message is only taken when nothing is buffered and it is exactly the bytes given.
        var d = GRPCDeframer(maxMessageSize: 100)
        ([0, 0, 0, 0, 1, 42, 0] as [UInt8]).withUnsafeBytes { #expect(d.whole($0) == nil) }
        ([0, 0, 0, 0, 1, 42] as [UInt8]).withUnsafeBytes { #expect(d.whole($0)?.bytes == [42]) }
        ([0, 0, 0, 0, 200] as [UInt8]).withUnsafeBytes { raw in
            #expect(d.whole(raw) == nil)
            d.append(raw)
            #expect(throws: RPCError.self) { try d.nextDecompressed(encoding: nil) }
        }
    }
}

/// Streams 64 KiB messages as fast as the transport lets it, counting them.
final class FloodService: Weft_Testing_Kinds.ServiceProtocol {
    let written = Mutex(0)
    func unary(request: Weft_Testing_Nested, context: ServerContext) async throws -> Weft_Testing_Nested {
        var r = Weft_Testing_Nested()
        r.b = String(repeating: "x", count: Int(request.a))
        return r
    }
    func serverStream(request: Weft_Testing_Nested, responses: RPCWriter<Weft_Testing_Nested>, context: ServerContext) async throws {
        var m = Weft_Testing_Nested()
        m.b = String(repeating: "y", count: 64 * 1024)
        for _ in 0..<Int(request.a) {
            try await responses.write(m)
            written.withLock { $0 += 1 }
        }
    }
    func clientStream(requests: RPCAsyncSequence<Weft_Testing_Nested>, context: ServerContext) async throws -> Weft_Testing_Nested {
        var n: Int32 = 0
        for try await r in requests {
            n += Int32(r.b.utf8.count)
            if r.a == 1 { try await Task.sleep(for: .seconds(30)) }  // a consumer that stops reading
            if r.a == 2 {  // a handler that answers, once the rest has arrived, without taking it
                try await Task.sleep(for: .milliseconds(100))
                break
            }
        }
        var out = Weft_Testing_Nested()
        out.a = n
        return out
    }
    /// Echoes every request unchanged.
    func bidi(requests: RPCAsyncSequence<Weft_Testing_Nested>, responses: RPCWriter<Weft_Testing_Nested>, context: ServerContext) async throws {
        for try await r in requests { try await responses.write(r) }
    }
}

struct HTTP2BehaviourTests {
    func nested(_ a: Int32, _ b: String = "") -> Weft_Testing_Nested {
        var n = Weft_Testing_Nested()
        n.a = a
        n.b = b
        return n
    }

    @Test func messageSizeLimitsBothWays() async throws {
        let (_, transport) = try await serve(RPCServer(services: [FloodService()]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        // A 5 MiB request is refused by the server's 4 MiB limit.
        do {
            _ = try await client.unary(nested(1, String(repeating: "z", count: 5 << 20)))
            Issue.record("5 MiB request accepted")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
        }
        // A 5 MiB response is refused by the client's limit.
        do {
            _ = try await client.unary(nested(5 << 20))
            Issue.record("5 MiB response accepted")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
        }
        // The connection still works.
        #expect(try await client.unary(nested(3)).b == "xxx")
    }

    @Test func aClientThatDoesNotReadHoldsTheServerBack() async throws {
        let flood = FloodService()
        let (_, transport) = try await serve(RPCServer(services: [flood]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        try await client.serverStream(nested(10_000)) { stream in
            var it = stream.makeAsyncIterator()
            _ = try await it.next()
            try await Task.sleep(for: .seconds(1))
            // 10,000 × 64 KiB = 640 MiB if nothing held the server back; the windows (1 MiB stream,
            // 8 MiB connection) and the 256 KiB outbound watermark allow a few dozen messages.
            let n = flood.written.withLock { $0 }
            #expect(n < 60, "server wrote \(n) messages to a client that read one")
        }
    }

    @Test func aServerThatDoesNotReadHoldsTheClientBack() async throws {
        let (_, transport) = try await serve(RPCServer(services: [FloodService()]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        let sent = Box(0)
        let call = Task {
            try await client.clientStream(options: CallOptions(timeout: .seconds(3))) { w in
                try await w.write(self.nested(1, "first"))  // the handler stops reading after this one
                let big = self.nested(0, String(repeating: "q", count: 64 * 1024))
                for _ in 0..<10_000 {
                    try await w.write(big)
                    sent.withLock { $0 += 1 }
                }
            }
        }
        try await Task.sleep(for: .seconds(1))
        let n = sent.withLock { $0 }
        #expect(n < 60, "client sent \(n) messages to a server that stopped reading")
        call.cancel()
        _ = await call.result
    }

    // Messages still queued when a stream closes were never credited to the connection window.
    // 24 calls of ~0.75 MiB each leave far more than the 8 MiB connection window behind, so a
    // leak stalls the later calls on the one connection (they fail with DEADLINE_EXCEEDED).
    @Test func messagesTakenAfterTheStreamClosedGiveTheConnectionWindowBack() async throws {
        let (_, transport) = try await serve(RPCServer(services: [FloodService()]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        for call in 0..<24 {
            let n = try await client.serverStream(nested(12), options: CallOptions(timeout: .seconds(5))) { stream in
                // Let all 12 messages and the trailers arrive (the stream closes) before taking any.
                try await Task.sleep(for: .milliseconds(100))
                var n = 0
                for try await _ in stream { n += 1 }
                return n
            }
            #expect(n == 12, "call \(call)")
        }
    }

    @Test func requestsLeftUnreadGiveTheConnectionWindowBack() async throws {
        let (_, transport) = try await serve(RPCServer(services: [FloodService()]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        let big = nested(0, String(repeating: "q", count: 64 * 1024))
        for _ in 0..<24 {
            // The handler answers after the first message; the other 11 (~0.75 MiB) stay unread.
            let answer = try await client.clientStream(options: CallOptions(timeout: .seconds(5))) { w in
                try await w.write(self.nested(2))
                for _ in 0..<11 { try await w.write(big) }
            }
            #expect(answer.a == 0)
        }
    }

    // Large DATA payloads leave as slices of their message buffers (NO_COPY), small ones are
    // copied into nghttp2's frames: sizes around the threshold and the 16 KiB frame size, several
    // messages queued at once on both sides, each byte checked (a misplaced slice would show).
    @Test func largeAndSmallMessagesArriveIntactBothWays() async throws {
        let (_, transport) = try await serve(RPCServer(services: [FloodService()]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        let sizes = [0, 1, 100, 8180, 8187, 8192, 16379, 16384, 16385, 70_000, 5, 300_000, 1_000_000, 65_536, 3]
        func text(_ n: Int, seed: Int) -> String {
            String(decoding: (0..<n).map { UInt8(97 + ($0 &* 7 &+ seed) % 26) }, as: UTF8.self)
        }
        let sent = (0..<2).flatMap { round in sizes.enumerated().map { nested(Int32(round * 100 + $0), text($1, seed: $0 + round)) } }
        let echoed = try await client.bidi(requests: { w in
            for m in sent { try await w.write(m) }
        }, responses: { stream in
            try await stream.reduce(into: [Weft_Testing_Nested]()) { $0.append($1) }
        })
        #expect(echoed.count == sent.count)
        for (a, b) in zip(sent, echoed) {
            #expect(a.a == b.a && a.b == b.b, "message \(a.a) of \(a.b.utf8.count) bytes came back as \(b.a), \(b.b.utf8.count) bytes")
        }
    }

    @Test func gracefulShutdownLetsCallsFinish() async throws {
        let kinds = KindsService()
        let (server, transport) = try await serve(RPCServer(services: [kinds]))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        // A streaming call in flight keeps going through the shutdown.
        try await client.bidi(requests: { w in
            try await w.write(nested(1))
            try await Task.sleep(for: .milliseconds(300))
            try await w.write(nested(2))
        }, responses: { stream in
            var it = stream.makeAsyncIterator()
            let first = try await it.next()
            #expect(first?.b == "echo:1")
            let shutdown = Task { await server.shutDownGracefully(timeout: .seconds(5)) }
            let second = try await it.next()
            #expect(second?.b == "echo:2")
            let end = try await it.next()
            #expect(end == nil)
            await shutdown.value
        })
        #expect(server.connectionCount == 0)
        // New calls find no server.
        do {
            _ = try await client.unary(nested(1))
            Issue.record("call after shutdown succeeded")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
        }
    }

    @Test func reconnectsAfterTheServerComesBack() async throws {
        // Find a free port, then connect to it with nothing listening.
        let probe = try await HTTP2Server.start(serving: RPCServer(services: []), configuration: .init(target: .tcp(host: "127.0.0.1", port: 0)))
        let port = try #require(probe.port)
        await probe.shutDownGracefully(timeout: .seconds(1))
        let transport = try HTTP2ClientTransport(target: .tcp(host: "127.0.0.1", port: port))
        let client = Weft_Testing_Kinds.Client(transport: transport)
        let start = ContinuousClock.now
        do {
            _ = try await client.unary(nested(1))
            Issue.record("call without a server succeeded")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
        }
        #expect(ContinuousClock.now - start < .seconds(5), "failing fast")
        let server = try await HTTP2Server.start(serving: RPCServer(services: [KindsService()]), configuration: .init(target: .tcp(host: "127.0.0.1", port: port)))
        defer { Task { await server.shutDownGracefully(timeout: .seconds(1)) } }
        // Within the first backoff (about a second) the transport connects again.
        #expect(await eventually { (try? await client.unary(nested(1)))?.a == 2 })
    }
}

/// Polls an async condition for up to ten seconds.
func eventually(_ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}
