import CNghttp2
import Logging
import NIOCore
import WeftRPC
import WeftTLS

/// One client connection: an nghttp2 client session multiplexing many calls.
///
/// Every method runs on the channel's event loop; ``HTTP2ClientTransport`` hops there.
final class ClientConnectionHandler: ChannelInboundHandler, HTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A call in flight.
    final class Stream {
        let sink: AsyncThrowingStream<ResponsePart, any Error>.Continuation
        var deframer: GRPCDeframer
        var headersSeen = false
        var encoding: MessageCompression?
        var ended = false
        var credit = ReceiveCredit()
        var drainWaiters: [EventLoopPromise<Void>] = []
        var deadlineTimer: Scheduled<Void>?

        init(sink: AsyncThrowingStream<ResponsePart, any Error>.Continuation, maxMessageSize: Int) {
            self.sink = sink
            self.deframer = GRPCDeframer(maxMessageSize: maxMessageSize)
        }
    }

    let limits: HTTP2ClientLimits
    let logger: Logger
    let authority: String
    let scheme: String
    private var session: HTTP2Session?
    private var streams: [Int32: Stream] = [:]
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    /// Set once the server sent GOAWAY or the connection closed: no new calls here.
    private(set) var isUsable = true
    /// Called (on the loop) when the connection can take no more calls.
    var onUnusable: (() -> Void)?
    /// Why this side closed the connection, reported to the calls it ends.
    private var closeReason: String?

    let eventLoop: any EventLoop

    init(limits: HTTP2ClientLimits, logger: Logger, authority: String, scheme: String, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.limits = limits
        self.logger = logger
        self.authority = authority
        self.scheme = scheme
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            let s = try HTTP2Session(
                server: false, allocator: context.channel.allocator,
                zeroCopyData: (try? context.pipeline.syncOperations.handler(type: OpenSSLHandler.self)) == nil,
                settings: [
                    (Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), 0),
                    (Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), limits.initialWindowSize),
                    (Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), UInt32(limits.maxHeaderListSize)),
                ],
                maxHeaderListSize: limits.maxHeaderListSize,
                connectionWindow: limits.connectionWindowSize)
            s.delegate = self
            s.onOutboundDrained = { [unowned self] id in self.outboundDrained(id) }
            session = s
        } catch {
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try session?.receive(unwrapInboundIn(data))
        } catch {
            logger.debug("HTTP/2 protocol error from server; closing", metadata: ["error": "\(error)"])
            closeReason = closeReason ?? "HTTP/2 protocol error from the server: \(error)"
            flushNow()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
    }

    func channelInactive(context: ChannelHandlerContext) {
        markUnusable()
        let message = closeReason.map { "The connection to \(authority) closed: \($0)" } ?? "The connection to \(authority) closed"
        for (_, s) in streams { end(s, RPCStatus(code: .unavailable, message: message)) }
        streams.removeAll()
        session = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        closeReason = closeReason ?? "\(error)"
        context.close(promise: nil)
    }

    private func markUnusable() {
        guard isUsable else { return }
        isUsable = false
        onUnusable?()
    }

    private func flushNow() {
        flushScheduled = false
        guard let context, let session else { return }
        var wrote = false
        let ok = session.drainOutput { buffer in
            context.write(wrapOutboundOut(buffer), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
        if !ok {
            closeReason = closeReason ?? "HTTP/2 session error"
            context.close(promise: nil)
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { self.flushNow() }
    }

    // MARK: Calls

    /// Opens a stream for a call. Returns nil if the connection cannot take it.
    func open(_ descriptor: MethodDescriptor, options: CallOptions, sink: AsyncThrowingStream<ResponsePart, any Error>.Continuation) -> Int32? {
        guard isUsable, let session, let context else { return nil }
        var headers = [
            HTTP2Header(":method", "POST"), HTTP2Header(":scheme", scheme), HTTP2Header(":path", descriptor.path),
            HTTP2Header(":authority", authority), HTTP2Header("content-type", "application/grpc"),
            HTTP2Header("te", "trailers"), HTTP2Header("user-agent", "weft-swift/0.1"),
        ]
        if let t = options.timeout { headers.append(HTTP2Header("grpc-timeout", GRPCHeaders.encodeTimeout(t))) }
        if let c = options.compression, c != "identity" { headers.append(HTTP2Header("grpc-encoding", c)) }
        headers.append(HTTP2Header("grpc-accept-encoding", MessageCompression.acceptHeader))
        headers += GRPCHeaders.headers(from: options.metadata)
        let id = session.submitRequest(headers)
        guard id > 0 else { return nil }
        let stream = Stream(sink: sink, maxMessageSize: limits.maxReceiveMessageSize)
        streams[id] = stream
        if let t = options.timeout {
            let nanos = Int64(t.components.seconds) * 1_000_000_000 + t.components.attoseconds / 1_000_000_000
            stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(max(0, nanos))) { [weak self] in
                self?.cancel(streamID: id, status: RPCStatus(code: .deadlineExceeded, message: "Deadline exceeded"))
            }
        }
        scheduleFlush()
        return id
    }

    /// Sends one request message; the future completes when the caller may send more.
    func send(_ bytes: [UInt8], streamID: Int32, compression: MessageCompression?) -> EventLoopFuture<Void> {
        guard let context else { return eventLoopFailed(RPCError(code: .unavailable, message: "Connection closed")) }
        guard let stream = streams[streamID], !stream.ended, let session else {
            return context.eventLoop.makeFailedFuture(RPCError(code: .cancelled, message: "The call has ended"))
        }
        do {
            session.enqueue(try frameMessage(bytes, compression: compression, allocator: context.channel.allocator), streamID: streamID)
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        scheduleFlush()
        if session.bufferedBytes(streamID: streamID) > limits.outboundHighWatermark {
            let p = context.eventLoop.makePromise(of: Void.self)
            stream.drainWaiters.append(p)
            return p.futureResult
        }
        return context.eventLoop.makeSucceededVoidFuture()
    }

    private func eventLoopFailed(_ e: RPCError) -> EventLoopFuture<Void> {
        eventLoop.makeFailedFuture(e)
    }

    /// Half-closes the request side.
    func finishRequests(streamID: Int32) {
        session?.finish(streamID: streamID, trailers: nil)
        scheduleFlush()
    }

    /// Cancels a call (RST_STREAM CANCEL) and ends it with `status` for the caller.
    func cancel(streamID: Int32, status: RPCStatus) {
        guard let stream = streams[streamID], !stream.ended else { return }
        end(stream, status)
        session?.reset(streamID: streamID, errorCode: NGHTTP2_CANCEL.rawValue)
        scheduleFlush()
    }

    /// The caller took a response message: credit what `ReceiveCredit` frees.
    func messageTaken(streamID: Int32) {
        guard let stream = streams[streamID] else { return }
        let credit = stream.credit.taken()
        if credit > 0 {
            session?.consume(streamID: streamID, count: credit)
            scheduleFlush()
        }
    }

    private func end(_ stream: Stream, _ status: RPCStatus, trailers: Metadata = [:]) {
        guard !stream.ended else { return }
        stream.ended = true
        stream.deadlineTimer?.cancel()
        stream.sink.yield(.end(status, trailers))
        stream.sink.finish()
        for w in stream.drainWaiters { w.fail(RPCError(code: .cancelled, message: "The call has ended")) }
        stream.drainWaiters.removeAll()
    }

    private func outboundDrained(_ streamID: Int32) {
        guard let stream = streams[streamID], !stream.drainWaiters.isEmpty else { return }
        let waiters = stream.drainWaiters
        stream.drainWaiters.removeAll()
        for w in waiters { w.succeed(()) }
    }

    // MARK: Session events

    func sessionReceivedHeaders(_ headers: [HTTP2Header], streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID], !stream.ended else { return }
        if !stream.headersSeen {
            stream.headersSeen = true
            var httpStatus = 0, contentType = ""
            for h in headers {
                if h.known == .status { httpStatus = Int(h.value) ?? 0 }
                if h.known == .contentType { contentType = h.value }
                if h.known == .grpcEncoding, h.value != "identity" { stream.encoding = MessageCompression(rawValue: h.value) }
            }
            guard httpStatus == 200 else {
                let code = GRPCHeaders.code(forHTTPStatus: httpStatus)
                end(stream, RPCStatus(code: code, message: "HTTP status \(httpStatus) from \(authority)"))
                session?.reset(streamID: streamID, errorCode: NGHTTP2_CANCEL.rawValue)
                return
            }
            if endStream || headers.contains(where: { $0.known == .grpcStatus }) {
                // Trailers-only response.
                endWithTrailers(stream, headers)
                return
            }
            guard contentType.hasPrefix("application/grpc") else {
                end(stream, RPCStatus(code: .unknown, message: "Response content-type \"\(contentType)\" is not gRPC"))
                session?.reset(streamID: streamID, errorCode: NGHTTP2_CANCEL.rawValue)
                return
            }
            stream.sink.yield(.metadata(GRPCHeaders.metadata(from: headers)))
            return
        }
        endWithTrailers(stream, headers)
    }

    private func endWithTrailers(_ stream: Stream, _ headers: [HTTP2Header]) {
        var code: StatusCode = .unknown
        var message = "The server sent no grpc-status"
        for h in headers {
            if h.known == .grpcStatus {
                code = Int(h.value).map(StatusCode.init(wireValue:)) ?? .unknown
                if message == "The server sent no grpc-status" { message = "" }
            }
            if h.known == .grpcMessage { message = GRPCHeaders.percentDecode(h.value) }
        }
        if stream.deframer.bufferedBytes > 0, code == .ok {
            code = .internal
            message = "The response ended in the middle of a message"
        }
        end(stream, RPCStatus(code: code, message: message), trailers: GRPCHeaders.metadata(from: headers))
    }

    func sessionReceivedData(_ bytes: UnsafeRawBufferPointer, streamID: Int32) {
        guard let stream = streams[streamID], !stream.ended else {
            session?.consume(streamID: streamID, count: bytes.count)
            return
        }
        let credit = stream.credit.received(bytes.count)
        if credit > 0 { session?.consume(streamID: streamID, count: credit) }
        do throws(RPCError) {
            try stream.deframer.receive(bytes, encoding: stream.encoding) { m in
                stream.credit.delivered(wireSize: m.wireSize)
                stream.sink.yield(.message(m.bytes, compressed: m.compressed))
            }
        } catch {
            cancel(streamID: streamID, status: error.status)
        }
    }

    func sessionReceivedEndStream(streamID: Int32) {
        guard let stream = streams[streamID], !stream.ended else { return }
        end(stream, RPCStatus(code: .internal, message: "The server ended the stream without trailers"))
    }

    func sessionClosedStream(_ streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        let pending = stream.credit.releaseAll()
        if pending > 0 { session?.consume(streamID: streamID, count: pending) }
        if !stream.ended {
            let status: RPCStatus
            switch errorCode {
            case NGHTTP2_REFUSED_STREAM.rawValue: status = RPCStatus(code: .unavailable, message: "The server refused the stream")
            case NGHTTP2_CANCEL.rawValue: status = RPCStatus(code: .cancelled, message: "The server cancelled the call")
            case NGHTTP2_ENHANCE_YOUR_CALM.rawValue: status = RPCStatus(code: .resourceExhausted, message: "The server asked to slow down")
            default: status = RPCStatus(code: .internal, message: "The stream was reset (HTTP/2 error \(errorCode))")
            }
            end(stream, status)
        }
    }

    func sessionReceivedPing(ack: Bool) {}
    func sessionReceivedWorkFrame() {}

    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: UInt32) {
        markUnusable()
        // Streams above lastStreamID were not processed: the caller may retry them elsewhere.
        for (id, s) in streams where id > lastStreamID {
            end(s, RPCStatus(code: .unavailable, message: "The server is shutting down (GOAWAY)"))
        }
    }
}

/// Limits of a client connection.
public struct HTTP2ClientLimits: Sendable {
    /// Largest response message accepted.
    public var maxReceiveMessageSize = 4 * 1024 * 1024
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    public var maxHeaderListSize = 16 * 1024
    /// Per-stream receive window.
    public var initialWindowSize: UInt32 = 1 << 20
    /// Connection receive window.
    public var connectionWindowSize: Int32 = 8 << 20
    /// Request bytes buffered per stream before a writer waits.
    public var outboundHighWatermark = 256 * 1024
    /// Time allowed to establish a connection.
    public var connectTimeout: Duration = .seconds(20)

    /// Defaults.
    public init() {}
}
