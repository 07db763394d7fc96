import Synchronization

/// How many messages each side of a method sends.
public enum MethodKind: Sendable, Hashable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// Streams both ways.
    case bidirectionalStreaming
}

/// Identifies a method: `/package.Service/Method` on the wire.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Fully qualified service name, e.g. `grpc.health.v1.Health`.
    public var service: String
    /// Method name, e.g. `Check`.
    public var method: String
    /// Streaming shape.
    public var kind: MethodKind

    /// Creates a descriptor.
    public init(service: String, method: String, kind: MethodKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path`.
    public var path: String { "/\(service)/\(method)" }

    public var description: String { path }
}

/// Per-call settings on the client.
public struct CallOptions: Sendable {
    /// Time allowed for the whole call; nil for none. Sent to the server (`grpc-timeout`) and enforced
    /// locally with `DEADLINE_EXCEEDED`.
    public var timeout: Duration?
    /// Custom request metadata.
    public var metadata: Metadata
    /// Message compression to request (`gzip`), when the transport supports it.
    public var compression: String?

    /// Creates options.
    public init(timeout: Duration? = nil, metadata: Metadata = [:], compression: String? = nil) {
        self.timeout = timeout
        self.metadata = metadata
        self.compression = compression
    }

    /// No timeout, no metadata.
    public static let defaults = CallOptions()
}

/// What a server handler knows about its call, and how it sets response metadata.
///
/// A value type with copy-on-write storage: it is passed through interceptors, closures and
/// tasks, and a copy costs one retain until someone changes it.
public struct ServerContext: Sendable {
    private final class Storage: @unchecked Sendable {
        // Mutated only through a uniquely referenced copy (see `mutable`), so never shared while written.
        var descriptor: MethodDescriptor
        var requestMetadata: Metadata
        var peer: String
        var deadline: ContinuousClock.Instant?
        var peerCertificateSubject: String?
        var attributes: [String: String]
        let response: ResponseMetadata

        init(descriptor: MethodDescriptor, requestMetadata: Metadata, peer: String, deadline: ContinuousClock.Instant?,
             peerCertificateSubject: String?, attributes: [String: String], response: ResponseMetadata) {
            self.descriptor = descriptor
            self.requestMetadata = requestMetadata
            self.peer = peer
            self.deadline = deadline
            self.peerCertificateSubject = peerCertificateSubject
            self.attributes = attributes
            self.response = response
        }

        func copy() -> Storage {
            Storage(descriptor: descriptor, requestMetadata: requestMetadata, peer: peer, deadline: deadline,
                    peerCertificateSubject: peerCertificateSubject, attributes: attributes, response: response)
        }
    }

    private var storage: Storage

    private var mutable: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    /// The method being called.
    public var descriptor: MethodDescriptor {
        get { storage.descriptor }
        set { mutable.descriptor = newValue }
    }
    /// Request metadata (custom headers; `authorization` included).
    public var requestMetadata: Metadata {
        get { storage.requestMetadata }
        set { mutable.requestMetadata = newValue }
        _modify { yield &mutable.requestMetadata }
    }
    /// The peer, e.g. `ipv4:127.0.0.1:53412` or `in-process`.
    public var peer: String {
        get { storage.peer }
        set { mutable.peer = newValue }
    }
    /// The instant after which the client no longer waits, if it set a timeout.
    public var deadline: ContinuousClock.Instant? {
        get { storage.deadline }
        set { mutable.deadline = newValue }
    }
    /// The subject (RFC 2253) of the client certificate verified by mutual TLS, if any.
    public var peerCertificateSubject: String? {
        get { storage.peerCertificateSubject }
        set { mutable.peerCertificateSubject = newValue }
    }
    /// Values that interceptors attach for handlers (e.g. the authenticated identity).
    public var attributes: [String: String] {
        get { storage.attributes }
        set { mutable.attributes = newValue }
        _modify { yield &mutable.attributes }
    }
    /// Response metadata; shared with the transport, which sends it.
    public var response: ResponseMetadata { storage.response }

    /// Creates a context.
    public init(
        descriptor: MethodDescriptor,
        requestMetadata: Metadata,
        peer: String,
        deadline: ContinuousClock.Instant? = nil,
        attributes: [String: String] = [:],
        response: ResponseMetadata = ResponseMetadata(),
        peerCertificateSubject: String? = nil
    ) {
        storage = Storage(descriptor: descriptor, requestMetadata: requestMetadata, peer: peer, deadline: deadline,
                          peerCertificateSubject: peerCertificateSubject, attributes: attributes, response: response)
    }
}

/// Initial and trailing metadata a handler sets on its response.
public final class ResponseMetadata: Sendable {
    private let state = Mutex<(initial: Metadata, trailing: Metadata, compression: String?, requestCompressed: Bool)>(([:], [:], nil, false))

    /// Creates empty response metadata.
    public init() {}

    /// Metadata sent with the response headers (set before the first message).
    public var initial: Metadata {
        get { state.withLock { $0.initial } }
        set { state.withLock { $0.initial = newValue } }
    }

    /// Metadata sent with the status in the trailers.
    public var trailing: Metadata {
        get { state.withLock { $0.trailing } }
        set { state.withLock { $0.trailing = newValue } }
    }

    /// Compression for response messages written from now on (`"gzip"`), used when the client
    /// accepts it; nil for none. Transports without compression ignore it.
    public var compression: String? {
        get { state.withLock { $0.compression } }
        set { state.withLock { $0.compression = newValue } }
    }

    /// Whether the request message the handler took last arrived compressed (set by transports).
    public var requestCompressed: Bool {
        get { state.withLock { $0.requestCompressed } }
        set { state.withLock { $0.requestCompressed = newValue } }
    }
}

/// Per-message write options.
public struct WriteOptions: Sendable, Hashable {
    /// Whether this message may be compressed (when the call uses compression). gRPC's
    /// `WriteOptions::set_no_compression` is `compress = false`.
    public var compress: Bool

    /// Creates options.
    public init(compress: Bool = true) { self.compress = compress }

    /// Compress when the call does.
    public static let defaults = WriteOptions()
}

/// Writes messages of one stream. A transport applies backpressure by suspending `write`.
public struct RPCWriter<Element: Sendable>: Sendable {
    private let writeBody: @Sendable (Element, WriteOptions) async throws -> Void

    /// Creates a writer from a closure that honours per-message options.
    public init(_ write: @escaping @Sendable (Element, WriteOptions) async throws -> Void) {
        writeBody = write
    }

    /// Creates a writer from a closure without per-message options.
    public init(_ write: @escaping @Sendable (Element) async throws -> Void) {
        writeBody = { e, _ in try await write(e) }
    }

    /// Writes one message; suspends while the peer is not reading.
    public func write(_ element: Element, options: WriteOptions = .defaults) async throws {
        try await writeBody(element, options)
    }

    /// Writes every element of a sequence.
    public func write(contentsOf elements: some Sequence<Element>) async throws {
        for e in elements { try await writeBody(e, .defaults) }
    }

    /// A writer that converts elements with `transform` before writing them here.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (T) throws -> Element) -> RPCWriter<T> {
        RPCWriter<T> { (e: T, o: WriteOptions) in try await self.write(try transform(e), options: o) }
    }
}

/// A type-erased async sequence of messages (requests on a server, responses on a client).
public struct RPCAsyncSequence<Element: Sendable>: AsyncSequence, Sendable {
    /// The type-erased iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var erased: (any AsyncIteratorProtocol<Element, any Error>)?
        var elements: [Element]
        var index = 0
        /// Returns the next element, or nil at the end.
        public mutating func next() async throws -> Element? { try await next(isolation: nil) }
        /// Returns the next element, or nil at the end.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if erased != nil { return try await erased?.next(isolation: actor) }
            guard index < elements.count else { return nil }
            defer { index += 1 }
            return elements[index]
        }
    }

    private let makeIterator: (@Sendable () -> any AsyncIteratorProtocol<Element, any Error>)?
    /// The elements of a sequence made from an array (no type erasure, no allocation per element).
    let elements: [Element]?

    /// Wraps a sendable async sequence.
    public init<S: AsyncSequence & Sendable>(_ base: S) where S.Element == Element {
        makeIterator = { AsyncErasedIterator(base.makeAsyncIterator()) }
        elements = nil
    }

    /// A sequence of elements that are all already at hand (a single-request call's request).
    public init(elements: [Element]) {
        makeIterator = nil
        self.elements = elements
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(erased: makeIterator?(), elements: elements ?? [])
    }

    /// A sequence that converts each element with `transform`.
    public func mapElements<T: Sendable>(_ transform: @escaping @Sendable (Element) throws -> T) -> RPCAsyncSequence<T> {
        RPCAsyncSequence<T>(MappedSequence(base: self, transform: transform))
    }

    /// Collects every element.
    public func collect() async throws -> [Element] {
        var out: [Element] = []
        for try await e in self { out.append(e) }
        return out
    }
}

/// Adapts any iterator to `AsyncIteratorProtocol<Element, any Error>`.
struct AsyncErasedIterator<Base: AsyncIteratorProtocol>: AsyncIteratorProtocol {
    var base: Base
    init(_ base: Base) { self.base = base }
    mutating func next() async throws -> Base.Element? { try await base.next() }
}

/// A sendable mapping sequence (the standard library's map sequences are not `Sendable`).
struct MappedSequence<Base: AsyncSequence & Sendable, T: Sendable>: AsyncSequence, Sendable {
    let base: Base
    let transform: @Sendable (Base.Element) throws -> T

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let transform: @Sendable (Base.Element) throws -> T
        mutating func next() async throws -> T? {
            guard let e = try await base.next() else { return nil }
            return try transform(e)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), transform: transform) }
}
