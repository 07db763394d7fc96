import Logging
import Synchronization
import WeftProtobuf

/// A service that can add its methods to a router; generated server protocols conform.
public protocol RegistrableRPCService: Sendable {
    /// Adds every method of the service to `router`.
    func registerMethods(with router: inout RPCRouter)
}

/// Runs before a server handler: may read or add to the context, refuse the call by throwing an
/// ``RPCError`` (e.g. `UNAUTHENTICATED`), or observe its outcome.
public protocol ServerInterceptor: Sendable {
    /// Intercepts one call; call `next` to continue to the handler.
    func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws
}

/// Maps method paths to handlers working on serialized messages.
public struct RPCRouter: Sendable {
    /// A handler: serialized requests in, serialized responses out.
    public typealias Handler = @Sendable (RPCAsyncSequence<[UInt8]>, RPCWriter<[UInt8]>, ServerContext) async throws -> Void

    struct Route: Sendable {
        let descriptor: MethodDescriptor
        let handler: Handler
    }

    private(set) var routes: [String: Route] = [:]

    /// Creates an empty router.
    public init() {}

    /// The methods registered, by path.
    public var methods: [MethodDescriptor] { routes.values.map(\.descriptor).sorted { $0.path < $1.path } }

    /// The streaming shape of the method at `path`, or nil if none is registered.
    public func kind(ofPath path: String) -> MethodKind? { routes[path]?.descriptor.kind }

    /// The distinct service names registered.
    public var serviceNames: [String] { Array(Set(routes.values.map(\.descriptor.service))).sorted() }

    /// Registers a handler on serialized messages (used by the typed helpers below).
    public mutating func register(_ descriptor: MethodDescriptor, handler: @escaping Handler) {
        routes[descriptor.path] = Route(descriptor: descriptor, handler: handler)
    }

    /// Decodes a request, mapping a decoding failure to `INVALID_ARGUMENT` naming the field.
    static func decode<M: ProtoMessage>(_ bytes: [UInt8], as: M.Type) throws -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: "Could not decode \(M.protoMessageName): \(error)")
        }
    }

    /// Reads exactly one request message.
    static func single<M: ProtoMessage>(_ requests: RPCAsyncSequence<[UInt8]>, as: M.Type) async throws -> M {
        if let elements = requests.elements, elements.count == 1 { return try decode(elements[0], as: M.self) }
        var it = requests.makeAsyncIterator()
        guard let first = try await it.next() else {
            throw RPCError(code: .internal, message: "Protocol error: no request message for a unary call")
        }
        guard try await it.next() == nil else {
            throw RPCError(code: .internal, message: "Protocol error: more than one request message for a unary call")
        }
        return try decode(first, as: M.self)
    }

    /// Registers a unary method.
    public mutating func registerUnary<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor, _: Req.Type, _: Resp.Type,
        _ handler: @escaping @Sendable (Req, ServerContext) async throws -> Resp
    ) {
        register(descriptor) { requests, writer, context in
            let request = try await Self.single(requests, as: Req.self)
            try await writer.write(try await handler(request, context).serializedBytes())
        }
    }

    /// Registers a server-streaming method.
    public mutating func registerServerStreaming<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor, _: Req.Type, _: Resp.Type,
        _ handler: @escaping @Sendable (Req, RPCWriter<Resp>, ServerContext) async throws -> Void
    ) {
        register(descriptor) { requests, writer, context in
            let request = try await Self.single(requests, as: Req.self)
            try await handler(request, writer.map { $0.serializedBytes() }, context)
        }
    }

    /// Registers a client-streaming method.
    public mutating func registerClientStreaming<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor, _: Req.Type, _: Resp.Type,
        _ handler: @escaping @Sendable (RPCAsyncSequence<Req>, ServerContext) async throws -> Resp
    ) {
        register(descriptor) { requests, writer, context in
            let typed = requests.mapElements { try Self.decode($0, as: Req.self) }
            try await writer.write(try await handler(typed, context).serializedBytes())
        }
    }

    /// Registers a bidirectional-streaming method.
    public mutating func registerBidirectionalStreaming<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor, _: Req.Type, _: Resp.Type,
        _ handler: @escaping @Sendable (RPCAsyncSequence<Req>, RPCWriter<Resp>, ServerContext) async throws -> Void
    ) {
        register(descriptor) { requests, writer, context in
            let typed = requests.mapElements { try Self.decode($0, as: Req.self) }
            try await handler(typed, writer.map { $0.serializedBytes() }, context)
        }
    }
}

/// Hosts any set of services and runs calls that transports hand to it.
///
/// It is transport-independent: the in-process transport and the HTTP/2 server both call
/// ``handle(_:)`` once per incoming stream.
public struct RPCServer: Sendable {
    /// The routes of every hosted service.
    public let router: RPCRouter
    /// Interceptors, outermost first.
    public let interceptors: [any ServerInterceptor]
    let logger: Logger

    /// Creates a server hosting `services`.
    public init(services: [any RegistrableRPCService], interceptors: [any ServerInterceptor] = [], logger: Logger = Logger(label: "weft.rpc.server")) {
        var router = RPCRouter()
        for s in services { s.registerMethods(with: &router) }
        self.router = router
        self.interceptors = interceptors
        self.logger = logger
    }

    /// Runs one call to completion: routes it, applies interceptors and the deadline, and writes
    /// exactly one `.end` with the outcome. Never throws; handler errors become statuses.
    public func handle(_ stream: ServerStream) async {
        guard let route = router.routes[stream.path] else {
            let service = stream.path.split(separator: "/").first.map(String.init) ?? ""
            let known = router.routes.values.contains { $0.descriptor.service == service }
            let message = known ? "Method not found: \(stream.path)" : "Service not found: \(service)"
            try? await stream.responses.write(.end(RPCStatus(code: .unimplemented, message: message), [:]))
            return
        }
        let context = ServerContext(
            descriptor: route.descriptor, requestMetadata: stream.metadata, peer: stream.peer, deadline: stream.deadline,
            response: stream.responseMetadata, peerCertificateSubject: stream.peerCertificateSubject)
        let responses = stream.responses
        let out = MessageWriter(responses: responses, context: context)
        let messageWriter = RPCWriter<[UInt8]> { (bytes: [UInt8], options: WriteOptions) in try await out.write(bytes, options) }
        let chain = interceptors
        let handler = route.handler
        let requests = stream.requests
        let status: RPCStatus
        var trailers: Metadata = [:]
        do {
            if chain.isEmpty, stream.deadline == nil {
                try await handler(requests, messageWriter, context)
            } else {
                try await withDeadline(stream.deadline) {
                    try await Self.run(chain[...], context: context) { ctx in
                        try await handler(requests, messageWriter, ctx)
                    }
                }
            }
            status = .ok
        } catch {
            let e = RPCError(wrapping: error)
            status = e.status
            trailers = e.metadata
            if e.code == .unknown || e.code == .internal {
                logger.warning("call failed", metadata: ["path": "\(stream.path)", "status": "\(e)"])
            } else {
                logger.debug("call failed", metadata: ["path": "\(stream.path)", "status": "\(e)"])
            }
        }
        let sent = out.headersSent.withLock { $0 }
        if !sent, !context.response.initial.isEmpty { try? await responses.write(.metadata(context.response.initial)) }
        var allTrailers = context.response.trailing
        allTrailers.append(contentsOf: trailers)
        try? await responses.write(.end(status, allTrailers))
    }

    /// Writes a call's response messages, its initial metadata before the first. One object, so
    /// that the writer's closure captures a single reference and needs no context of its own.
    private final class MessageWriter: Sendable {
        let responses: RPCWriter<ResponsePart>
        let context: ServerContext
        let headersSent = Mutex(false)

        init(responses: RPCWriter<ResponsePart>, context: ServerContext) {
            self.responses = responses
            self.context = context
        }

        func write(_ bytes: [UInt8], _ options: WriteOptions) async throws {
            let first = headersSent.withLock { sent in
                defer { sent = true }
                return !sent
            }
            if first { try await responses.write(.metadata(context.response.initial)) }
            try await responses.write(.message(bytes, compressed: options.compress))
        }
    }

    static func run(
        _ interceptors: ArraySlice<any ServerInterceptor>,
        context: ServerContext,
        _ handler: @escaping @Sendable (ServerContext) async throws -> Void
    ) async throws {
        guard let first = interceptors.first else { return try await handler(context) }
        let rest = interceptors.dropFirst()
        try await first.intercept(context: context) { ctx in try await run(rest, context: ctx, handler) }
    }
}
