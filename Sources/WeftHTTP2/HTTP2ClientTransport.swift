import Logging
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization
import WeftRPC
import WeftTLS

/// A `ClientTransport` over one multiplexed HTTP/2 connection (h2c or TLS), reconnecting with
/// exponential backoff. Calls fail fast with `UNAVAILABLE` while the server cannot be reached.
public final class HTTP2ClientTransport: ClientTransport, Sendable {
    /// Where to connect.
    public let target: BindTarget
    let tls: TLSContext?
    let limits: HTTP2ClientLimits
    let group: any EventLoopGroup
    let logger: Logger
    let authority: String

    private enum State {
        case idle
        case connecting(EventLoopFuture<Connection>)
        case ready(Connection)
        case backingOff(until: ContinuousClock.Instant, lastError: String)
        case closed
    }

    struct Connection: @unchecked Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    private let state = Mutex<(state: State, failures: Int)>((.idle, 0))

    /// Creates a transport; nothing connects until the first call.
    public init(
        target: BindTarget, tls: TLSConfiguration? = nil, limits: HTTP2ClientLimits = HTTP2ClientLimits(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "weft.http2.client")
    ) throws {
        self.target = target
        self.tls = try tls.map { try TLSContext(configuration: $0, isServer: false) }
        self.limits = limits
        self.group = group
        self.logger = logger
        switch target {
        case let .tcp(host, port): authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix: authority = "localhost"
        }
    }

    /// Closes the connection; later calls fail with `UNAVAILABLE`.
    public func close() async {
        let old = state.withLock { s -> State in
            defer { s.state = .closed }
            return s.state
        }
        if case .ready(let c) = old { try? await c.channel.close().get() }
    }

    private func connect() -> EventLoopFuture<Connection> {
        let loop = group.next()
        let tls = self.tls
        let limits = self.limits
        let logger = self.logger
        let authority = self.authority
        let serverName: String? = {
            if case let .tcp(host, _) = target { return host }
            return nil
        }()
        let handlerBox = NIOLockedValueBox<NIOLoopBound<ClientConnectionHandler>?>(nil)
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(limits.connectTimeout.components.seconds) * 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(OpenSSLHandler(context: tls, isServer: false, serverName: serverName))
                    }
                    let handler = ClientConnectionHandler(
                        limits: limits, logger: logger, authority: authority, scheme: tls == nil ? "http" : "https",
                        eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    handlerBox.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
        let future: EventLoopFuture<any Channel>
        switch target {
        case let .tcp(host, port): future = bootstrap.connect(host: host, port: port)
        case let .unix(path): future = bootstrap.connect(unixDomainSocketPath: path)
        }
        return future.flatMapThrowing { channel in
            guard let handler = handlerBox.withLockedValue({ $0 }) else { throw RPCError(code: .internal, message: "no handler") }
            let connection = Connection(channel: channel, handler: handler)
            handler.value.onUnusable = { [weak self] in self?.connectionUnusable(channel) }
            return connection
        }
    }

    private func connectionUnusable(_ channel: any Channel) {
        state.withLock { s in
            if case .ready(let c) = s.state, c.channel === channel { s.state = .idle }
        }
    }

    /// A ready connection, connecting if needed; fails with `UNAVAILABLE`.
    private func connection() async throws -> Connection {
        enum Step { case use(Connection), wait(EventLoopFuture<Connection>), fail(String) }
        let step: Step = state.withLock { s in
            switch s.state {
            case .ready(let c): return .use(c)
            case .connecting(let f): return .wait(f)
            case .closed: return .fail("The transport is closed")
            case let .backingOff(until, lastError) where ContinuousClock.now < until:
                return .fail("\(lastError); retrying after backoff")
            case .idle, .backingOff:
                let f = connect()
                s.state = .connecting(f)
                return .wait(f)
            }
        }
        switch step {
        case .use(let c): return c
        case .fail(let m): throw RPCError(code: .unavailable, message: m)
        case .wait(let f):
            do {
                let c = try await f.get()
                state.withLock { s in
                    if case .connecting = s.state { s.state = .ready(c); s.failures = 0 }
                }
                return c
            } catch {
                let message = "Cannot connect to \(target): \(error)"
                state.withLock { s in
                    guard case .connecting = s.state else { return }
                    s.failures += 1
                    // 1 s, 1.6x per failure, up to 120 s, ±20% jitter (gRPC's connection backoff).
                    let base = min(120.0, pow16(s.failures - 1))
                    let jitter = Double.random(in: 0.8...1.2)
                    s.state = .backingOff(until: .now + .milliseconds(Int(base * jitter * 1000)), lastError: message)
                }
                throw RPCError(code: .unavailable, message: message)
            }
        }
    }

    public func withStream<R>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ body: (ClientStream) async throws -> R
    ) async throws -> R {
        try Task.checkCancellation()
        let connection = try await connection()
        let loop = connection.channel.eventLoop
        let handler = connection.handler
        let (parts, sink) = AsyncThrowingStream<ResponsePart, any Error>.makeStream()
        let streamID: Int32? = try await loop.submit { handler.value.open(descriptor, options: options, sink: sink) }.get()
        guard let streamID else {
            connectionUnusable(connection.channel)
            throw RPCError(code: .unavailable, message: "The connection to \(target) cannot take new calls")
        }
        let compression = options.compression.flatMap(MessageCompression.init(rawValue:))
        let stream = ClientStream(
            requests: RPCWriter { (bytes: [UInt8], write: WriteOptions) in
                let c = write.compress ? compression : nil
                try await loop.flatSubmit { handler.value.send(bytes, streamID: streamID, compression: c) }.get()
            },
            finishRequests: { loop.execute { handler.value.finishRequests(streamID: streamID) } },
            responses: RPCAsyncSequence(ClientPartsSequence(base: parts) {
                loop.execute { handler.value.messageTaken(streamID: streamID) }
            })
        )
        let cancel: @Sendable (RPCStatus) -> Void = { status in
            loop.execute { handler.value.cancel(streamID: streamID, status: status) }
        }
        defer { cancel(RPCStatus(code: .cancelled, message: "The caller stopped reading")) }
        return try await withTaskCancellationHandler {
            try await body(stream)
        } onCancel: {
            cancel(RPCStatus(code: .cancelled, message: "The call was cancelled"))
        }
    }
}

private func pow16(_ n: Int) -> Double {
    var v = 1.0
    for _ in 0..<max(0, n) { v *= 1.6 }
    return v
}

/// Response parts; each message taken credits the window.
struct ClientPartsSequence: AsyncSequence, Sendable {
    let base: AsyncThrowingStream<ResponsePart, any Error>
    let taken: @Sendable () -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ResponsePart, any Error>.AsyncIterator
        let taken: @Sendable () -> Void
        mutating func next() async throws -> ResponsePart? {
            let p = try await base.next()
            if case .message? = p { taken() }
            return p
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), taken: taken) }
}
