import Synchronization
import WeftProtobuf

/// Runs around a client call: may change its options (add metadata such as a bearer token), or
/// observe its outcome.
public protocol ClientInterceptor: Sendable {
    /// Intercepts one call; call `next` with the options to use.
    func intercept<R>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        next: (CallOptions) async throws -> R
    ) async throws -> R
}

/// A unary response with its metadata.
public struct ClientResponse<Message: Sendable>: Sendable {
    /// The response message.
    public var message: Message
    /// Initial response metadata.
    public var initialMetadata: Metadata
    /// Trailing metadata.
    public var trailingMetadata: Metadata
    /// Whether the response message arrived compressed.
    public var messageCompressed: Bool = false
}

/// Response messages of a streaming call; throws ``RPCError`` if the call ends with an error status.
public struct ClientResponseStream<Message: ProtoMessage>: AsyncSequence, Sendable {
    let parts: RPCAsyncSequence<ResponsePart>
    let state: ResponseState

    /// Initial response metadata (available once the first message or the end has been read).
    public var initialMetadata: Metadata { state.value.initial }
    /// Trailing metadata (available once iteration has ended).
    public var trailingMetadata: Metadata { state.value.trailing }
    /// Whether the message returned last arrived compressed.
    public var lastMessageCompressed: Bool { state.value.lastCompressed }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var parts: RPCAsyncSequence<ResponsePart>.AsyncIterator
        let state: ResponseState
        var done = false

        /// The next message; nil after an OK status; throws for an error status.
        public mutating func next() async throws -> Message? {
            guard !done else { return nil }
            while true {
                guard let part = try await parts.next() else {
                    done = true
                    if Task.isCancelled { throw RPCError(code: .cancelled, message: "The call was cancelled") }
                    throw RPCError(code: .unavailable, message: "The call ended without a status")
                }
                switch part {
                case .metadata(let m):
                    state.withLock { $0.initial = m }
                case let .message(bytes, compressed):
                    state.withLock { $0.lastCompressed = compressed }
                    do {
                        return try Message(serializedBytes: bytes)
                    } catch {
                        done = true
                        throw RPCError(code: .internal, message: "Could not decode \(Message.protoMessageName): \(error)")
                    }
                case let .end(status, trailers):
                    done = true
                    state.withLock { $0.trailing = trailers }
                    if status.code == .ok { return nil }
                    throw RPCError(code: status.code, message: status.message, metadata: trailers)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(parts: parts.makeAsyncIterator(), state: state)
    }
}

/// Shared mutable record of metadata seen while iterating.
final class ResponseState: Sendable {
    typealias Value = (initial: Metadata, trailing: Metadata, lastCompressed: Bool)
    let storage = Mutex<Value>(([:], [:], false))
    var value: Value { storage.withLock { $0 } }
    func withLock(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}

/// What generated clients call: typed calls of the four kinds over any ``ClientTransport``.
public struct RPCClient: Sendable {
    /// The transport calls go through.
    public let transport: any ClientTransport
    /// Interceptors, outermost first.
    public let interceptors: [any ClientInterceptor]
    /// Options merged under each call's own (its metadata is added first, its timeout used when the
    /// call sets none).
    public let defaultOptions: CallOptions

    /// Creates a client.
    public init(transport: any ClientTransport, interceptors: [any ClientInterceptor] = [], defaultOptions: CallOptions = .defaults) {
        self.transport = transport
        self.interceptors = interceptors
        self.defaultOptions = defaultOptions
    }

    func merged(_ options: CallOptions) -> CallOptions {
        var o = options
        var md = defaultOptions.metadata
        md.append(contentsOf: options.metadata)
        o.metadata = md
        if o.timeout == nil { o.timeout = defaultOptions.timeout }
        if o.compression == nil { o.compression = defaultOptions.compression }
        return o
    }

    func intercepted<R>(
        _ descriptor: MethodDescriptor, _ options: CallOptions,
        _ index: Int = 0, _ body: (CallOptions) async throws -> R
    ) async throws -> R {
        guard index < interceptors.count else { return try await body(options) }
        return try await interceptors[index].intercept(descriptor: descriptor, options: options) { o in
            try await intercepted(descriptor, o, index + 1, body)
        }
    }

    /// Opens a call, runs `requests` to produce requests (then half-closes) and `responses` to
    /// consume the response stream. Requests and responses run concurrently for bidirectional calls.
    public func bidirectionalStreaming<Req: ProtoMessage, Resp: ProtoMessage, R: Sendable>(
        _ descriptor: MethodDescriptor,
        options: CallOptions = .defaults,
        requests: @escaping @Sendable (RPCWriter<Req>) async throws -> Void,
        responses: (ClientResponseStream<Resp>) async throws -> R
    ) async throws -> R {
        try await intercepted(descriptor, merged(options)) { options in
            do {
                return try await transport.withStream(descriptor: descriptor, options: options) { stream in
                    let writer = stream.requests.map { (m: Req) in m.serializedBytes() }
                    let producer = Task {
                        try await requests(writer)
                        await stream.finishRequests()
                    }
                    let result: R
                    do {
                        result = try await responses(ClientResponseStream(parts: stream.responses, state: ResponseState()))
                    } catch {
                        producer.cancel()
                        throw error
                    }
                    // A producer that failed on its own (not because the call ended) fails the call.
                    if case .failure(let e) = await producer.result, !(e is CancellationError), !(e is RPCError) { throw e }
                    return result
                }
            } catch let e as RPCError {
                throw e
            } catch is CancellationError {
                throw RPCError(code: .cancelled, message: "The call was cancelled")
            }
        }
    }

    /// A server-streaming call: one request, `body` consumes the responses.
    public func serverStreaming<Req: ProtoMessage, Resp: ProtoMessage, R: Sendable>(
        _ descriptor: MethodDescriptor,
        request: Req,
        options: CallOptions = .defaults,
        _ body: (ClientResponseStream<Resp>) async throws -> R
    ) async throws -> R {
        try await bidirectionalStreaming(descriptor, options: options, requests: { try await $0.write(request) }, responses: body)
    }

    /// A client-streaming call: `requests` writes the requests; returns the single response.
    public func clientStreaming<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        options: CallOptions = .defaults,
        requests: @escaping @Sendable (RPCWriter<Req>) async throws -> Void
    ) async throws -> ClientResponse<Resp> {
        try await bidirectionalStreaming(descriptor, options: options, requests: requests) { (stream: ClientResponseStream<Resp>) in
            try await Self.single(stream)
        }
    }

    /// A unary call returning the response and its metadata.
    public func unary<Req: ProtoMessage, Resp: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        request: Req,
        options: CallOptions = .defaults
    ) async throws -> ClientResponse<Resp> {
        try await bidirectionalStreaming(descriptor, options: options, requests: { try await $0.write(request) }) {
            (stream: ClientResponseStream<Resp>) in try await Self.single(stream)
        }
    }

    static func single<Resp: ProtoMessage>(_ stream: ClientResponseStream<Resp>) async throws -> ClientResponse<Resp> {
        var it = stream.makeAsyncIterator()
        guard let message = try await it.next() else {
            throw RPCError(code: .internal, message: "Protocol error: the server sent no response message")
        }
        let compressed = stream.lastMessageCompressed
        guard try await it.next() == nil else {
            throw RPCError(code: .internal, message: "Protocol error: the server sent more than one response message")
        }
        return ClientResponse(message: message, initialMetadata: stream.initialMetadata, trailingMetadata: stream.trailingMetadata,
                              messageCompressed: compressed)
    }
}
