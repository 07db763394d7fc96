import Logging
import NIOCore
import NIOPosix
import Synchronization
import WeftRPC
import WeftTLS

/// Where a server listens.
public enum BindTarget: Sendable, CustomStringConvertible {
    /// A TCP host and port (port 0 picks a free one).
    case tcp(host: String, port: Int)
    /// A Unix domain socket path (an existing socket file is replaced).
    case unix(path: String)

    public var description: String {
        switch self {
        case let .tcp(host, port): "\(host):\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }
}

/// Serves an ``RPCServer`` over HTTP/2: h2c with prior knowledge, or TLS with ALPN `h2`.
public final class HTTP2Server: Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// Where to listen.
        public var target: BindTarget
        /// TLS; nil for plaintext h2c.
        public var tls: TLSConfiguration?
        /// Limits, windows and keepalive.
        public var limits: HTTP2ServerLimits
        /// Answers GET and HEAD requests that are not gRPC calls (a dashboard); HTTP 415 when nil.
        public var plainHTTP: PlainHTTPHandler?
        /// Creates a configuration.
        public init(target: BindTarget, tls: TLSConfiguration? = nil, limits: HTTP2ServerLimits = HTTP2ServerLimits(), plainHTTP: PlainHTTPHandler? = nil) {
            self.target = target
            self.tls = tls
            self.limits = limits
            self.plainHTTP = plainHTTP
        }
    }

    private let channel: any Channel
    private let tracker: ConnectionTracker
    let logger: Logger

    /// The address actually bound (with the chosen port for port 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    /// The TCP port actually bound, if any.
    public var port: Int? { channel.localAddress?.port }

    private init(channel: any Channel, tracker: ConnectionTracker, logger: Logger) {
        self.channel = channel
        self.tracker = tracker
        self.logger = logger
    }

    /// Binds and starts serving.
    public static func start(
        serving server: RPCServer,
        configuration: Configuration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "weft.http2.server")
    ) async throws -> HTTP2Server {
        let tracker = ConnectionTracker()
        let tlsContext = try configuration.tls.map { try TLSContext(configuration: $0, isServer: true) }
        let limits = configuration.limits
        let plainHTTP = configuration.plainHTTP
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(OpenSSLHandler(context: tlsContext, isServer: true, serverName: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(
                        server: server, limits: limits, logger: logger, connectionTracker: tracker, eventLoop: channel.eventLoop,
                        plainHTTP: plainHTTP))
                }
            }
        let channel: any Channel
        switch configuration.target {
        case let .tcp(host, port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        case let .unix(path):
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        }
        logger.info("serving", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "tls": "\(configuration.tls != nil)"])
        return HTTP2Server(channel: channel, tracker: tracker, logger: logger)
    }

    /// Stops accepting connections, sends GOAWAY on every connection, lets calls in flight finish,
    /// and closes connections still open after `timeout`.
    public func shutDownGracefully(timeout: Duration = .seconds(10)) async {
        try? await channel.close().get()
        tracker.beginGracefulShutdown()
        let deadline = ContinuousClock.now + timeout
        while tracker.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        tracker.closeAll()
    }

    /// Number of open connections.
    public var connectionCount: Int { tracker.count }
}

/// The open connections of a server, for graceful shutdown.
final class ConnectionTracker: Sendable {
    private let connections = Mutex<[ObjectIdentifier: (NIOLoopBound<ServerConnectionHandler>, any EventLoop)]>([:])

    var count: Int { connections.withLock { $0.count } }

    func add(_ handler: ServerConnectionHandler, loop: any EventLoop) {
        let entry = (NIOLoopBound(handler, eventLoop: loop), loop)
        connections.withLock { $0[ObjectIdentifier(handler)] = entry }
    }

    func remove(_ handler: ServerConnectionHandler) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(handler)) }
    }

    func beginGracefulShutdown() {
        for (handler, loop) in connections.withLock({ Array($0.values) }) {
            loop.execute { handler.value.beginGracefulShutdown() }
        }
    }

    func closeAll() {
        for (handler, loop) in connections.withLock({ Array($0.values) }) {
            loop.execute { handler.value.closeNow() }
        }
    }
}
