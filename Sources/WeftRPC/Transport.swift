/// One part of a response, in the order a call produces them: optional initial metadata, messages,
/// then exactly one `end`.
public enum ResponsePart: Sendable {
    /// Initial response metadata (HTTP/2 response headers).
    case metadata(Metadata)
    /// One serialized message; `compressed` says whether it was sent compressed (server side: whether
    /// it may be compressed, from ``WriteOptions``).
    case message([UInt8], compressed: Bool)
    /// The status and trailing metadata; always last.
    case end(RPCStatus, Metadata)
}

/// The client's side of one open call, as a transport provides it.
public struct ClientStream: Sendable {
    /// Writes serialized request messages.
    public var requests: RPCWriter<[UInt8]>
    /// Half-closes the request side (no more messages).
    public var finishRequests: @Sendable () async -> Void
    /// Response parts; ends after `.end`. Ending without `.end` means the call broke off.
    public var responses: RPCAsyncSequence<ResponsePart>

    /// Creates a client stream.
    public init(
        requests: RPCWriter<[UInt8]>,
        finishRequests: @escaping @Sendable () async -> Void,
        responses: RPCAsyncSequence<ResponsePart>
    ) {
        self.requests = requests
        self.finishRequests = finishRequests
        self.responses = responses
    }
}

/// Carries calls from generated clients to a server: in-process, or HTTP/2 in the HTTP/2 module.
///
/// Generated code never sees a transport directly; it calls ``RPCClient``, which calls this.
public protocol ClientTransport: Sendable {
    /// Opens a stream for one call and runs `body` with it. When `body` returns or throws, the stream
    /// is closed; if the call has not ended by then, it is cancelled (HTTP/2: RST_STREAM CANCEL).
    ///
    /// Transport failures are thrown as ``RPCError`` (`UNAVAILABLE` when the peer cannot be reached).
    func withStream<R>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ body: (ClientStream) async throws -> R
    ) async throws -> R
}

/// The server's side of one incoming call, as a transport hands it to ``RPCServer/handle(_:)``.
///
/// A class: it is handed through tasks and closures, and copying a reference is one retain where
/// copying its nine fields would be nine.
public final class ServerStream: Sendable {
    /// The `:path`, e.g. `/grpc.health.v1.Health/Check`.
    public let path: String
    /// Request metadata.
    public let metadata: Metadata
    /// The peer's address.
    public let peer: String
    /// The client's deadline, if it sent one.
    public let deadline: ContinuousClock.Instant?
    /// The subject of the client certificate the peer proved over mutual TLS, if any.
    public let peerCertificateSubject: String?
    /// Serialized request messages; ends when the client half-closes.
    public let requests: RPCAsyncSequence<[UInt8]>
    /// Where response parts go; `.end` is written exactly once, last.
    public let responses: RPCWriter<ResponsePart>
    /// Response metadata and compression the handler sets; shared with the transport.
    public let responseMetadata: ResponseMetadata

    /// Creates a server stream.
    public init(
        path: String,
        metadata: Metadata,
        peer: String,
        deadline: ContinuousClock.Instant?,
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<ResponsePart>,
        responseMetadata: ResponseMetadata = ResponseMetadata(),
        peerCertificateSubject: String? = nil
    ) {
        self.responseMetadata = responseMetadata
        self.peerCertificateSubject = peerCertificateSubject
        self.path = path
        self.metadata = metadata
        self.peer = peer
        self.deadline = deadline
        self.requests = requests
        self.responses = responses
    }
}

/// Runs `body`, failing with `DEADLINE_EXCEEDED` and cancelling it if `deadline` passes first.
public func withDeadline<R: Sendable>(
    _ deadline: ContinuousClock.Instant?,
    _ body: @escaping @Sendable () async throws -> R
) async throws -> R {
    guard let deadline else { return try await body() }
    if deadline <= .now { throw RPCError(code: .deadlineExceeded, message: "Deadline exceeded before the call started") }
    return try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let value = next { return value }
            if !Task.isCancelled { throw RPCError(code: .deadlineExceeded, message: "Deadline exceeded") }
        }
        throw RPCError(code: .cancelled, message: "The call was cancelled")
    }
}
