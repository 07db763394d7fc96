/// Connects generated clients straight to an ``RPCServer`` in the same process, without sockets.
///
/// Messages are still serialized, so a test over this transport exercises the same codecs and
/// routing as one over HTTP/2. Buffers are unbounded (there is no peer to apply backpressure to);
/// deadlines and cancellation behave as over the network: the server sees task cancellation and the
/// client gets `DEADLINE_EXCEEDED` or `CANCELLED`.
public struct InProcessTransport: ClientTransport {
    /// The server calls go to.
    public let server: RPCServer

    /// Creates a transport to `server`.
    public init(server: RPCServer) { self.server = server }

    public func withStream<R>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ body: (ClientStream) async throws -> R
    ) async throws -> R {
        let (requests, requestSink) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let (responses, responseSink) = AsyncThrowingStream<ResponsePart, any Error>.makeStream()
        let deadline = options.timeout.map { ContinuousClock.now.advanced(by: $0) }
        let serverStream = ServerStream(
            path: descriptor.path,
            metadata: options.metadata,
            peer: "in-process",
            deadline: deadline,
            requests: RPCAsyncSequence(requests),
            responses: RPCWriter { part in
                switch part {
                case .message(let bytes, _):
                    responseSink.yield(.message(bytes, compressed: false))  // nothing is compressed in process
                case .end:
                    responseSink.yield(part)
                    responseSink.finish()
                case .metadata:
                    responseSink.yield(part)
                }
            }
        )
        let server = self.server
        let serverTask = Task { await server.handle(serverStream) }
        // The client gives up at the deadline even if the handler ignores cancellation.
        let timer: Task<Void, any Error>? = deadline.map { d in
            Task {
                try await Task.sleep(until: d, clock: .continuous)
                responseSink.yield(.end(RPCStatus(code: .deadlineExceeded, message: "Deadline exceeded"), [:]))
                responseSink.finish()
                serverTask.cancel()
            }
        }
        defer {
            timer?.cancel()
            requestSink.finish()
            serverTask.cancel()
        }
        let stream = ClientStream(
            requests: RPCWriter { bytes in
                if case .terminated = requestSink.yield(bytes) {
                    throw RPCError(code: .cancelled, message: "The call has ended")
                }
            },
            finishRequests: { requestSink.finish() },
            responses: RPCAsyncSequence(responses)
        )
        return try await withTaskCancellationHandler {
            try await body(stream)
        } onCancel: {
            serverTask.cancel()
            responseSink.yield(.end(RPCStatus(code: .cancelled, message: "The call was cancelled"), [:]))
            responseSink.finish()
        }
    }
}
