// Shared by the RPC test suites: a test service, interceptors, and the conformance checks every
// transport must pass (in-process, HTTP/2 over TCP, Unix sockets and TLS).

import Gen
import Synchronization
import Testing
import TestProtos
import WeftProtobuf
import WeftRPC

/// An implementation of the test service `weft.testing.Kinds`.
public final class KindsService: Weft_Testing_Kinds.ServiceProtocol {
    public let started = Mutex(0)
    public let cancelled = Mutex(false)

    public init() {}

    public func unary(request: Weft_Testing_Nested, context: ServerContext) async throws -> Weft_Testing_Nested {
        if request.b == "fail" { throw RPCError(code: .failedPrecondition, message: "asked to fail: é%", metadata: ["why": "test"]) }
        if request.b == "crash" { throw CancellationErrorLike() }
        if request.b == "sleep" {
            started.withLock { $0 += 1 }
            do { try await Task.sleep(for: .seconds(30)) } catch { cancelled.withLock { $0 = true }; throw error }
        }
        if request.b == "echo-metadata" {
            context.response.initial = ["x-initial": .string(context.requestMetadata.first("x-token") ?? "none")]
            context.response.trailing = ["x-trailing-bin": .binary([1, 2, 3])]
        }
        var r = request
        r.a += 1
        return r
    }

    public func serverStream(request: Weft_Testing_Nested, responses: RPCWriter<Weft_Testing_Nested>, context: ServerContext) async throws {
        for i in 0..<request.a {
            var m = Weft_Testing_Nested()
            m.a = i
            try await responses.write(m)
        }
        if request.b == "then-fail" { throw RPCError(code: .dataLoss, message: "stream broke") }
    }

    public func clientStream(requests: RPCAsyncSequence<Weft_Testing_Nested>, context: ServerContext) async throws -> Weft_Testing_Nested {
        var sum = Weft_Testing_Nested()
        for try await r in requests { sum.a += r.a }
        return sum
    }

    public func bidi(requests: RPCAsyncSequence<Weft_Testing_Nested>, responses: RPCWriter<Weft_Testing_Nested>, context: ServerContext) async throws {
        for try await r in requests {
            var m = r
            m.b = "echo:\(r.a)"
            try await responses.write(m)
        }
    }
}

public struct CancellationErrorLike: Error {}

/// Polls `condition` until it holds or ten seconds pass (tests run in parallel on a small machine).
public func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// A lock-protected value shared with @Sendable closures.
public final class Box<T: Sendable>: Sendable {
    let lock: Mutex<T>
    public init(_ value: T) { lock = Mutex(value) }
    public func withLock<R: Sendable>(_ body: (inout T) -> R) -> R { lock.withLock { body(&$0) } }
}

/// Refuses calls without `authorization`, and records what it saw.
public struct AuthInterceptor: ServerInterceptor {
    public init() {}
    public func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        guard context.requestMetadata.first("authorization") == "Bearer good" else {
            throw RPCError(code: .unauthenticated, message: "missing or bad token")
        }
        var ctx = context
        ctx.attributes["user"] = "alice"
        try await next(ctx)
    }
}

/// Adds the bearer token to every call.
public struct TokenInterceptor: ClientInterceptor {
    let token: String
    public init(token: String) { self.token = token }
    public func intercept<R>(descriptor: MethodDescriptor, options: CallOptions, next: (CallOptions) async throws -> R) async throws -> R {
        var o = options
        o.metadata.addString("Bearer \(token)", forKey: "authorization")
        return try await next(o)
    }
}


/// The checks every transport must pass; `makeTransport` connects to a server hosting `services`.
public struct RPCConformance: Sendable {
    public let service = KindsService()
    public let makeTransport: @Sendable (RPCServer) async throws -> any ClientTransport

    public init(makeTransport: @escaping @Sendable (RPCServer) async throws -> any ClientTransport) {
        self.makeTransport = makeTransport
    }

    func client(_ server: RPCServer? = nil, interceptors: [any ClientInterceptor] = []) async throws -> Weft_Testing_Kinds.Client {
        let t = try await makeTransport(server ?? RPCServer(services: [service]))
        return Weft_Testing_Kinds.Client(RPCClient(transport: t, interceptors: interceptors))
    }

    public func nested(_ a: Int32, _ b: String = "") -> Weft_Testing_Nested {
        var n = Weft_Testing_Nested()
        n.a = a
        n.b = b
        return n
    }

    public func unary() async throws {
        let r = try await client().unary(nested(41))
        #expect(r.a == 42)
    }

    public func serverStreaming() async throws {
        let got = try await client().serverStream(nested(5)) { try await $0.map(\.a).reduce(into: []) { $0.append($1) } }
        #expect(got == [0, 1, 2, 3, 4])
    }

    public func serverStreamingErrorAfterMessages() async throws {
        let seen = Box<[Int32]>([])
        await #expect(throws: RPCError.self) {
            try await client().serverStream(nested(2, "then-fail")) { stream in
                for try await m in stream { seen.withLock { $0.append(m.a) } }
            }
        }
        #expect(seen.withLock { $0 } == [0, 1])
    }

    public func clientStreaming() async throws {
        let r = try await client().clientStream { writer in
            for i in 1...10 { try await writer.write(nested(Int32(i))) }
        }
        #expect(r.a == 55)
    }

    public func bidirectional() async throws {
        let echoes = try await client().bidi(requests: { w in
            for i in 0..<3 { try await w.write(nested(Int32(i))) }
        }, responses: { stream in
            try await stream.map(\.b).reduce(into: [String]()) { $0.append($1) }
        })
        #expect(echoes == ["echo:0", "echo:1", "echo:2"])
    }

    public func statusesAndMetadata() async throws {
        do {
            _ = try await client().unary(nested(0, "fail"))
            Issue.record("no error")
        } catch let e as RPCError {
            #expect(e.code == .failedPrecondition)
            #expect(e.message == "asked to fail: é%")
            #expect(e.metadata.first("why") == "test")
        }
        do {
            _ = try await client().unary(nested(0, "crash"))
        } catch let e as RPCError {
            #expect(e.code == .unknown)
        }
        var options = CallOptions()
        options.metadata.addString("t-1", forKey: "x-token")
        let full: ClientResponse<Weft_Testing_Nested> = try await client().rpc.unary(
            Weft_Testing_Kinds.Method.unary, request: nested(1, "echo-metadata"), options: options)
        #expect(full.initialMetadata.first("x-initial") == "t-1")
        #expect(full.trailingMetadata[binaryValues: "x-trailing-bin"] == [[1, 2, 3]])
    }

    public func unimplementedMethodAndService() async throws {
        let rpc = RPCClient(transport: try await makeTransport(RPCServer(services: [service])))
        for (d, text) in [
            (MethodDescriptor(service: "weft.testing.Kinds", method: "Nope", kind: .unary), "Method not found"),
            (MethodDescriptor(service: "weft.testing.Nothing", method: "Nope", kind: .unary), "Service not found"),
        ] {
            do {
                let _: ClientResponse<Weft_Testing_Nested> = try await rpc.unary(d, request: nested(1))
                Issue.record("no error")
            } catch let e as RPCError {
                #expect(e.code == .unimplemented)
                #expect(e.message.contains(text))
            }
        }
    }

    public func deadlineExceededCancelsTheHandler() async throws {
        let start = ContinuousClock.now
        do {
            _ = try await client().unary(nested(0, "sleep"), options: CallOptions(timeout: .milliseconds(300)))
            Issue.record("no error")
        } catch let e as RPCError {
            #expect(e.code == .deadlineExceeded)
        }
        // Well under the handler's 30 s sleep, with room for a loaded 2-core machine running every suite.
        #expect(ContinuousClock.now - start < .seconds(20))
        // A handler that started is cancelled; on a loaded machine the server may also refuse to
        // start a call whose deadline has already passed.
        #expect(await eventually { service.started.withLock { $0 } == 0 || service.cancelled.withLock { $0 } })
    }

    public func clientCancellation() async throws {
        let c = try await client()
        let task = Task { try await c.unary(nested(0, "sleep")) }
        #expect(await eventually { service.started.withLock { $0 } > 0 })
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("no error")
        } catch let e as RPCError {
            #expect(e.code == .cancelled)
        }
        #expect(await eventually { service.cancelled.withLock { $0 } })
    }

    public func interceptorsBothSides() async throws {
        let server = RPCServer(services: [service], interceptors: [AuthInterceptor()])
        let anonymous = try await client(server)
        do {
            _ = try await anonymous.unary(nested(1))
            Issue.record("no error")
        } catch let e as RPCError {
            #expect(e.code == .unauthenticated)
        }
        let authed = try await client(server, interceptors: [TokenInterceptor(token: "good")])
        #expect(try await authed.unary(nested(1)).a == 2)
    }
}
