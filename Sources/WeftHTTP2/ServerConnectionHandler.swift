import CNghttp2
import Logging
import NIOCore
import WeftRPC
import WeftTLS

/// Limits and timers of a server connection.
public struct HTTP2ServerLimits: Sendable {
    /// Largest request message accepted (RESOURCE_EXHAUSTED beyond it). gRPC's default: 4 MiB.
    public var maxReceiveMessageSize = 4 * 1024 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    public var maxConcurrentStreams: UInt32 = 256
    /// SETTINGS_MAX_HEADER_LIST_SIZE, enforced on every request header block.
    public var maxHeaderListSize = 16 * 1024
    /// Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE).
    public var initialWindowSize: UInt32 = 1 << 20
    /// Connection receive window.
    public var connectionWindowSize: Int32 = 8 << 20
    /// Outbound bytes buffered per stream before a writer waits for the peer to read.
    public var outboundHighWatermark = 256 * 1024
    /// Idle time after which the server PINGs the client; nil for never.
    public var keepaliveInterval: Duration? = .seconds(7200)
    /// How long to wait for a PING ack before closing the connection.
    public var keepaliveTimeout: Duration = .seconds(20)
    /// Client PINGs closer together than this, while no call is active, earn a strike.
    public var minPingIntervalWithoutCalls: Duration = .seconds(300)
    /// Strikes after which the connection gets GOAWAY ENHANCE_YOUR_CALM.
    public var maxPingStrikes = 2
    /// Time a new connection has to send the HTTP/2 preface.
    public var handshakeTimeout: Duration = .seconds(20)

    /// gRPC's defaults.
    public init() {}
}

/// One server connection: an nghttp2 session driven by the channel, one ``RPCServer`` call per stream.
final class ServerConnectionHandler: ChannelDuplexHandler, HTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request being served.
    final class Call {
        let streamID: Int32
        var deframer: GRPCDeframer
        /// A streaming call's requests, as the handler reads them and as they are fed; nil for a
        /// single-request call (unary, server-streaming), whose request is collected in `buffered`.
        let requestStream: AsyncThrowingStream<InboundMessage, any Error>?
        let sink: AsyncThrowingStream<InboundMessage, any Error>.Continuation?
        let requestEncoding: MessageCompression?
        /// The client's `grpc-accept-encoding`, parsed only when a handler asks for compression.
        let acceptEncoding: String
        var task: Task<Void, Never>?
        var responseStarted = false
        var ended = false
        var requestsFinished = false
        /// When received bytes go back to the peer as window (messages queued for the handler).
        var credit = ReceiveCredit()
        var drainWaiters: [EventLoopPromise<Void>] = []
        let context: ResponseMetadata
        var responseCompression: MessageCompression?
        /// Set until the call starts.
        var start: StartInfo?
        /// The request of a single-request call, collected before it starts (empty for streaming calls).
        var buffered: [[UInt8]] = []
        /// Whether the collected request arrived compressed.
        var bufferedCompressed = false

        init(streamID: Int32, maxMessageSize: Int, singleRequest: Bool,
             requestEncoding: MessageCompression?, acceptEncoding: String, context: ResponseMetadata) {
            self.streamID = streamID
            self.deframer = GRPCDeframer(maxMessageSize: maxMessageSize)
            if singleRequest {
                (requestStream, sink) = (nil, nil)
            } else {
                (requestStream, sink) = AsyncThrowingStream<InboundMessage, any Error>.makeStream()
            }
            self.requestEncoding = requestEncoding
            self.acceptEncoding = acceptEncoding
            self.context = context
        }

        /// Whether the client accepts `encoding` for response messages.
        func accepts(_ encoding: String) -> Bool {
            acceptEncoding.split(separator: ",").contains { $0.trimmingSpaces == encoding }
        }
    }

    let server: RPCServer
    let limits: HTTP2ServerLimits
    let logger: Logger
    let connectionTracker: ConnectionTracker?
    private var session: HTTP2Session?
    private var calls: [Int32: Call] = [:]
    private var context: ChannelHandlerContext?
    private var executor: EventLoopExecutor?
    private var flushScheduled = false
    /// Between `channelRead` and `channelReadComplete`, which flushes: writes need no flush of their own.
    private var inReadCycle = false
    private var peer = "unknown"
    /// Answers non-gRPC GET/HEAD requests, if configured.
    private let plainHTTP: PlainHTTPHandler?
    /// The client certificate's subject, once TLS reports it.
    private var peerCertificateSubject: String?
    private var pingStrikes = 0
    private var lastClientPing: NIODeadline?
    private var keepaliveTask: Scheduled<Void>?
    private var readSinceKeepalive = false
    private var awaitingPingAck: Scheduled<Void>?
    private var draining = false
    /// A read the pipeline asked for while the socket could not take our output.
    private var readHeld = false
    private var lastWrite: EventLoopFuture<Void>?
    private var handshakeTimer: Scheduled<Void>?
    /// Calls to start once the current `mem_recv` has returned (never from inside nghttp2).
    private var readyToStart: [Call] = []

    let eventLoop: any EventLoop

    init(server: RPCServer, limits: HTTP2ServerLimits, logger: Logger, connectionTracker: ConnectionTracker?, eventLoop: any EventLoop,
         plainHTTP: PlainHTTPHandler? = nil) {
        self.eventLoop = eventLoop
        self.plainHTTP = plainHTTP
        self.server = server
        self.limits = limits
        self.logger = logger
        self.connectionTracker = connectionTracker
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        executor = EventLoopExecutor(context.eventLoop)
        peer = context.channel.remoteAddress.map { Self.describe($0) } ?? "unix"
        do {
            let s = try HTTP2Session(
                server: true, allocator: context.channel.allocator,
                zeroCopyData: (try? context.pipeline.syncOperations.handler(type: OpenSSLHandler.self)) == nil,
                settings: [
                    (Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), limits.maxConcurrentStreams),
                    (Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), limits.initialWindowSize),
                    (Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), UInt32(limits.maxHeaderListSize)),
                ],
                maxHeaderListSize: limits.maxHeaderListSize,
                connectionWindow: limits.connectionWindowSize)
            s.delegate = self
            s.onOutboundDrained = { [unowned self] id in self.outboundDrained(id) }
            session = s
        } catch {
            logger.error("cannot create HTTP/2 session", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        connectionTracker?.add(self, loop: context.eventLoop)
        if context.channel.isActive { flushNow() }
        scheduleKeepalive()
        // A peer that never completes the HTTP/2 preface is dropped.
        let handshake = TimeAmount.nanoseconds(Int64(limits.handshakeTimeout.components.seconds) * 1_000_000_000)
        // The timers hold the handler strongly, and channelInactive cancels them: a weak reference
        // would give the handler a side table, and every retain and release of it the slow path.
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: handshake) { [self] in
            guard (session?.framesReceived ?? 0) == 0 else { return }
            self.logger.debug("no HTTP/2 preface in time; closing", metadata: ["peer": "\(self.peer)"])
            self.context?.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSEstablished { peerCertificateSubject = tls.peerSubject }
        context.fireUserInboundEventTriggered(event)
    }

    func channelActive(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        inReadCycle = true
        do {
            try session?.receive(bytes)
        } catch {
            logger.debug("HTTP/2 protocol error; closing", metadata: ["peer": "\(peer)", "error": "\(error)"])
            session?.goAway(errorCode: NGHTTP2_PROTOCOL_ERROR.rawValue, debug: "protocol error")
            flushNow(force: true)
            closeAfterWrites()
            return
        }
        startReadyCalls()
        readSinceKeepalive = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadCycle = false
        flushNow()
        closeIfDone()
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepaliveTask?.cancel()
        handshakeTimer?.cancel()
        awaitingPingAck?.cancel()
        for call in calls.values { abort(call) }
        calls.removeAll()
        session = nil
        connectionTracker?.remove(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Output

    /// Writes what nghttp2 has queued. While the socket cannot take more, output stays in nghttp2
    /// (and reads are held, see ``read(context:)``), so a peer that does not read cannot make the
    /// server buffer without bound.
    private func flushNow(force: Bool = false) {
        flushScheduled = false
        guard let context, let session else { return }
        guard force || context.channel.isWritable else { return }
        // Only the last buffer of a drain gets a future (for `closeAfterWrites`).
        var last: ByteBuffer?
        let ok = session.drainOutput { buffer in
            if let previous = last { context.write(wrapOutboundOut(previous), promise: nil) }
            last = buffer
        }
        if let last { lastWrite = context.writeAndFlush(wrapOutboundOut(last)) }
        if !ok { closeAfterWrites() }
    }

    /// Closes once everything written so far has reached the socket.
    private func closeAfterWrites() {
        guard let context else { return }
        if let lastWrite {
            lastWrite.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable { context.read() } else { readHeld = true }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            flushNow()
            if readHeld {
                readHeld = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    private func scheduleFlush() {
        guard !flushScheduled, !inReadCycle, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { self.flushNow(); self.closeIfDone() }
    }

    private func closeIfDone() {
        guard let session else { return }
        if !session.isActive || (draining && calls.isEmpty && session.openStreams == 0) {
            closeAfterWrites()
        }
    }

    // MARK: Keepalive and ping strikes

    /// Arms the keepalive timer: each period, PING a connection that read nothing in it, and close
    /// it if the ack does not come in time. Reads only set a flag (no timer churn per read).
    private func scheduleKeepalive() {
        guard let context, let interval = limits.keepaliveInterval else { return }
        let period = TimeAmount.nanoseconds(Int64(interval.components.seconds) * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000)
        keepaliveTask = context.eventLoop.assumeIsolated().scheduleTask(in: period) { [self] in
            guard let context = self.context else { return }
            defer { self.scheduleKeepalive() }
            if self.readSinceKeepalive || self.awaitingPingAck != nil {
                self.readSinceKeepalive = false
                return
            }
            self.session?.ping()
            self.flushNow()
            let timeout = TimeAmount.nanoseconds(Int64(self.limits.keepaliveTimeout.components.seconds) * 1_000_000_000)
            self.awaitingPingAck = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                logger.debug("keepalive PING not acknowledged; closing", metadata: ["peer": "\(peer)"])
                self.context?.close(promise: nil)
            }
        }
    }

    func sessionReceivedPing(ack: Bool) {
        if ack {
            awaitingPingAck?.cancel()
            awaitingPingAck = nil
            return
        }
        let now = NIODeadline.now()
        let minInterval = TimeAmount.nanoseconds(Int64(limits.minPingIntervalWithoutCalls.components.seconds) * 1_000_000_000)
        if calls.isEmpty, let last = lastClientPing, now - last < minInterval {
            pingStrikes += 1
            if pingStrikes > limits.maxPingStrikes {
                logger.info("too many pings; sending GOAWAY", metadata: ["peer": "\(peer)"])
                session?.goAway(errorCode: NGHTTP2_ENHANCE_YOUR_CALM.rawValue, debug: "too_many_pings")
                flushNow()
                context?.close(promise: nil)
            }
        }
        lastClientPing = now
    }

    func sessionReceivedWorkFrame() {
        pingStrikes = 0
        lastClientPing = nil
    }

    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: UInt32) {}

    // MARK: Graceful shutdown

    /// Closes the connection at once (after a graceful shutdown timed out).
    func closeNow() {
        context?.close(promise: nil)
    }

    /// Stops accepting streams; calls in flight finish; the connection closes when they have.
    func beginGracefulShutdown() {
        guard !draining else { return }
        draining = true
        session?.shutdownNotice()
        flushNow()
        // After a round trip's grace, the final GOAWAY with the last stream actually processed.
        // (This timer is not cancelled on close: it holds the handler for at most 100 ms.)
        context?.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
            self.session?.goAway(errorCode: NGHTTP2_NO_ERROR.rawValue)
            self.flushNow()
            self.closeIfDone()
        }
    }

    // MARK: Streams

    func sessionReceivedHeaders(_ headers: [HTTP2Header], streamID: Int32, endStream: Bool) {
        if let call = calls[streamID] {
            // Trailers from a client end its requests.
            if endStream { finishRequests(call) }
            return
        }
        guard !draining else {
            session?.reset(streamID: streamID, errorCode: NGHTTP2_REFUSED_STREAM.rawValue)
            return
        }
        if session?.takeHeaderListTooLarge(streamID) == true {
            sendTrailersOnly(streamID: streamID, status: RPCStatus(
                code: .resourceExhausted, message: "Request header list larger than \(limits.maxHeaderListSize) bytes"), trailers: [:])
            return
        }
        var method = "", path = "", contentType = "", timeout: String?, encoding: String?, accept = ""
        for i in headers.indices {
            switch headers[i].known {
            case .method: method = headers[i].value
            case .path: path = headers[i].value
            case .contentType: contentType = headers[i].value
            case .grpcTimeout: timeout = headers[i].value
            case .grpcEncoding: encoding = headers[i].value
            case .grpcAcceptEncoding: accept = headers[i].value
            default: break
            }
        }
        if let plainHTTP, method == "GET" || method == "HEAD", !contentType.hasPrefix("application/grpc") {
            servePlainHTTP(plainHTTP, PlainHTTPRequest(method: method, path: path, headers: headers.filter { !$0.name.hasPrefix(":") }), streamID: streamID)
            return
        }
        guard contentType.hasPrefix("application/grpc") else {
            session?.submitHeadersOnly(streamID: streamID, .list([HTTP2Header(":status", "415"), HTTP2Header("content-type", "text/plain")]))
            scheduleFlush()
            return
        }
        var earlyError: RPCStatus?
        if method != "POST" {
            earlyError = RPCStatus(code: .internal, message: "gRPC requires POST, got \(method.prefix(16))")
        }
        var requestEncoding: MessageCompression?
        if let encoding, encoding != "identity" {
            if let e = MessageCompression(rawValue: encoding) {
                requestEncoding = e
            } else {
                earlyError = RPCStatus(code: .unimplemented, message: "Message compression \"\(encoding.prefix(32))\" is not supported; use one of \(MessageCompression.acceptHeader)")
            }
        }
        var deadline: ContinuousClock.Instant?
        if let timeout {
            if let d = GRPCHeaders.decodeTimeout(timeout) {
                deadline = .now.advanced(by: d)
            } else {
                earlyError = RPCStatus(code: .internal, message: "Malformed grpc-timeout \"\(timeout.prefix(32))\"")
            }
        }
        if let earlyError {
            sendTrailersOnly(streamID: streamID, status: earlyError, trailers: [:])
            return
        }
        // Unary and server-streaming calls take exactly one request: it is collected before the
        // handler starts, which then reads it from an array instead of a stream.
        let kind = server.router.kind(ofPath: path)
        let call = Call(streamID: streamID, maxMessageSize: limits.maxReceiveMessageSize,
                        singleRequest: kind == .unary || kind == .serverStreaming,
                        requestEncoding: requestEncoding, acceptEncoding: accept, context: ResponseMetadata())
        call.start = StartInfo(path: path, metadata: GRPCHeaders.metadata(from: headers), deadline: deadline)
        calls[streamID] = call
        if call.sink != nil { readyToStart.append(call) }
        if endStream { finishRequests(call) }
    }

    /// Runs the plain HTTP handler off the loop and writes its response back on it.
    private func servePlainHTTP(_ handler: @escaping PlainHTTPHandler, _ request: PlainHTTPRequest, streamID: Int32) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        Task {
            let response = await handler(request)
            loop.execute {
                let this = bound.value
                guard let session = this.session else { return }
                var headers = [HTTP2Header(":status", String(response.status))] + response.headers
                headers.append(HTTP2Header("content-length", String(response.body.count)))
                if request.method == "HEAD" || response.body.isEmpty {
                    session.submitHeadersOnly(streamID: streamID, .list(headers))
                } else {
                    session.submitResponse(streamID: streamID, .list(headers))
                    var buffer = this.context?.channel.allocator.buffer(capacity: response.body.count) ?? ByteBuffer()
                    buffer.writeBytes(response.body)
                    session.enqueue(buffer, streamID: streamID)
                    session.finish(streamID: streamID, trailers: nil)
                }
                this.scheduleFlush()
            }
        }
    }

    /// What a call needs to start once its request (or, when streaming, its headers) arrived.
    struct StartInfo {
        var path: String
        var metadata: Metadata
        var deadline: ContinuousClock.Instant?
    }

    /// Starts the calls that became ready during the last `mem_recv`. Each runs with
    /// `Task.immediate` on this loop's executor: the handler runs right here until it first
    /// suspends, so a unary call can be answered within the read cycle that brought it.
    private func startReadyCalls() {
        guard !readyToStart.isEmpty, let context else { return }
        let ready = readyToStart
        readyToStart.removeAll()
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        for call in ready {
            guard !call.ended, let start = call.start.take() else { continue }
            let streamID = call.streamID
            let boundCall = NIOLoopBound(call, eventLoop: loop)
            let responseContext = call.context
            let requests: RPCAsyncSequence<[UInt8]>
            if let base = call.requestStream {
                let credit: @Sendable () -> Void = {
                    if loop.inEventLoop { bound.value.messageTaken(streamID: streamID) } else {
                        loop.execute { bound.value.messageTaken(streamID: streamID) }
                    }
                }
                requests = RPCAsyncSequence(CreditingSequence(base: base, call: responseContext, credit: credit))
            } else {
                responseContext.requestCompressed = call.bufferedCompressed
                requests = RPCAsyncSequence(elements: call.buffered)
                call.buffered = []
            }
            let stream = ServerStream(
                path: start.path, metadata: start.metadata, peer: peer, deadline: start.deadline,
                requests: requests,
                responses: RPCWriter { part in
                    if loop.inEventLoop {
                        // On the loop (the usual case): write now; wait only when the peer is slow.
                        if let wait = try bound.value.write(part, call: boundCall.value) { try await wait.get() }
                    } else {
                        try await loop.flatSubmit {
                            do { return try bound.value.write(part, call: boundCall.value) ?? loop.makeSucceededVoidFuture() } catch {
                                return loop.makeFailedFuture(error)
                            }
                        }.get()
                    }
                },
                responseMetadata: responseContext,
                peerCertificateSubject: peerCertificateSubject
            )
            let server = self.server
            call.task = Task.immediate(executorPreference: executor) { await server.handle(stream) }
        }
    }

    func sessionReceivedData(_ bytes: UnsafeRawBufferPointer, streamID: Int32) {
        guard let call = calls[streamID], !call.ended, !call.requestsFinished else {
            session?.consume(streamID: streamID, count: bytes.count)
            return
        }
        // A single-request call takes its message before it starts: nothing to hold back.
        let single = call.sink == nil
        let credit = single ? bytes.count : call.credit.received(bytes.count)
        if credit > 0 { session?.consume(streamID: streamID, count: credit) }
        do throws(RPCError) {
            try call.deframer.receive(bytes, encoding: call.requestEncoding) { (m) throws(RPCError) in
                if single {
                    guard call.buffered.isEmpty else {
                        throw RPCError(code: .internal, message: "Protocol error: more than one request message for a call that takes one")
                    }
                    call.buffered = [m.bytes]
                    call.bufferedCompressed = m.compressed
                } else {
                    call.credit.delivered(wireSize: m.wireSize)
                    call.sink?.yield(InboundMessage(bytes: m.bytes, compressed: m.compressed))
                }
            }
        } catch {
            // Fail the call: the handler's request sequence throws, and the status goes out now;
            // the rest of the request is consumed and dropped (a reset here would make nghttp2
            // drop the queued trailers).
            call.sink?.finish(throwing: error)
            call.task?.cancel()
            sendEnd(call, status: error.status, trailers: [:])
        }
    }

    func sessionReceivedEndStream(streamID: Int32) {
        if let call = calls[streamID] { finishRequests(call) }
    }

    private func finishRequests(_ call: Call) {
        guard !call.requestsFinished else { return }
        call.requestsFinished = true
        let truncated = call.deframer.bufferedBytes > 0
        let error = RPCError(code: .internal, message: "Request stream ended in the middle of a message")
        guard let sink = call.sink else {
            if truncated {
                sendEnd(call, status: error.status, trailers: [:])
            } else if call.start != nil, !call.ended {
                readyToStart.append(call)
            }
            return
        }
        if truncated { sink.finish(throwing: error) } else { sink.finish() }
    }

    func sessionClosedStream(_ streamID: Int32, errorCode: UInt32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        let pending = call.credit.releaseAll()
        if pending > 0 { session?.consume(streamID: streamID, count: pending) }
        if !call.ended { abort(call) }
        for w in call.drainWaiters { w.fail(RPCError(code: .cancelled, message: "The stream was closed")) }
        call.drainWaiters.removeAll()
        // Not inline: this runs inside drainOutput, before the stream's last frames are written.
        if draining { scheduleFlush() }
    }

    /// The client went away (RST_STREAM or connection loss): the handler sees cancellation.
    private func abort(_ call: Call) {
        call.ended = true
        call.sink?.finish(throwing: CancellationError())
        call.task?.cancel()
        for w in call.drainWaiters { w.fail(RPCError(code: .cancelled, message: "The call was cancelled")) }
        call.drainWaiters.removeAll()
    }

    /// The handler took a message: credit what `ReceiveCredit` frees.
    fileprivate func messageTaken(streamID: Int32) {
        guard let call = calls[streamID] else { return }
        let credit = call.credit.taken()
        if credit > 0 {
            session?.consume(streamID: streamID, count: credit)
            scheduleFlush()
        }
    }

    // MARK: Responses

    /// The response headers of a call without metadata or compression, and the trailers of a
    /// call that ended OK without trailing metadata: what almost every response sends.
    private static let plainResponseHeaders = ConstantHeaderBlock([
        HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc"),
        HTTP2Header("grpc-accept-encoding", MessageCompression.acceptHeader),
    ])
    private static let okTrailers = ConstantHeaderBlock([HTTP2Header("grpc-status", "0")])

    private func responseHeaders(_ call: Call, metadata: Metadata) -> HeaderBlock {
        // The encoding is fixed by the headers: chosen when the response starts.
        call.responseCompression = call.context.compression.flatMap {
            call.accepts($0) ? MessageCompression(rawValue: $0) : nil
        }
        if call.responseCompression == nil, metadata.isEmpty { return .constant(Self.plainResponseHeaders) }
        var h = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")]
        if let c = call.responseCompression { h.append(HTTP2Header("grpc-encoding", c.rawValue)) }
        h.append(HTTP2Header("grpc-accept-encoding", MessageCompression.acceptHeader))
        h += GRPCHeaders.headers(from: metadata)
        return .list(h)
    }

    private func statusHeaders(_ status: RPCStatus, trailers: Metadata) -> HeaderBlock {
        if status.code == .ok, status.message.isEmpty, trailers.isEmpty { return .constant(Self.okTrailers) }
        return .list(statusHeaderList(status, trailers: trailers))
    }

    private func statusHeaderList(_ status: RPCStatus, trailers: Metadata) -> [HTTP2Header] {
        var h = [HTTP2Header("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { h.append(HTTP2Header("grpc-message", GRPCHeaders.percentEncode(status.message))) }
        h += GRPCHeaders.headers(from: trailers)
        return h
    }

    private func startResponse(_ call: Call, metadata: Metadata) {
        guard !call.responseStarted else { return }
        call.responseStarted = true
        session?.submitResponse(streamID: call.streamID, responseHeaders(call, metadata: metadata))
    }

    private func sendTrailersOnly(streamID: Int32, status: RPCStatus, trailers: Metadata) {
        let h = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")] + statusHeaderList(status, trailers: trailers)
        session?.submitHeadersOnly(streamID: streamID, .list(h))
        scheduleFlush()
    }

    private func sendEnd(_ call: Call, status: RPCStatus, trailers: Metadata) {
        guard !call.ended else { return }
        call.ended = true
        if call.responseStarted {
            session?.finish(streamID: call.streamID, trailers: statusHeaders(status, trailers: trailers))
        } else {
            sendTrailersOnly(streamID: call.streamID, status: status, trailers: trailers)
        }
        scheduleFlush()
    }

    /// Writes one response part for the handler. Returns a future to wait for when the peer is
    /// behind (outbound bytes above the watermark), nil when the handler may go on at once.
    fileprivate func write(_ part: ResponsePart, call: Call) throws -> EventLoopFuture<Void>? {
        guard let context else { throw RPCError(code: .unavailable, message: "Connection closed") }
        // A call that ended (its status sent, or aborted by the peer) takes no more parts.
        guard !call.ended else { throw RPCError(code: .cancelled, message: "The call has ended") }
        let streamID = call.streamID
        switch part {
        case .metadata(let m):
            startResponse(call, metadata: m)
        case let .message(bytes, compressible):
            startResponse(call, metadata: [:])
            let compression = compressible ? call.responseCompression : nil
            session?.enqueue(try frameMessage(bytes, compression: compression, allocator: context.channel.allocator), streamID: streamID)
        case let .end(status, trailers):
            sendEnd(call, status: status, trailers: trailers)
            return nil
        }
        scheduleFlush()
        if let session, session.bufferedBytes(streamID: streamID) > limits.outboundHighWatermark {
            let p = context.eventLoop.makePromise(of: Void.self)
            call.drainWaiters.append(p)
            return p.futureResult
        }
        return nil
    }

    private func outboundDrained(_ streamID: Int32) {
        guard let call = calls[streamID], !call.drainWaiters.isEmpty else { return }
        let waiters = call.drainWaiters
        call.drainWaiters.removeAll()
        for w in waiters { w.succeed(()) }
    }

    static func describe(_ a: SocketAddress) -> String {
        switch a {
        case .v4: "ipv4:\(a.ipAddress ?? "?"):\(a.port ?? 0)"
        case .v6: "ipv6:[\(a.ipAddress ?? "?")]:\(a.port ?? 0)"
        case .unixDomainSocket: "unix:\(a.pathname ?? "")"
        }
    }
}

/// A request message as received.
struct InboundMessage: Sendable {
    var bytes: [UInt8]
    var compressed: Bool
}

/// Requests as the handler sees them; taking one gives its flow-control window back and records
/// whether it arrived compressed.
struct CreditingSequence: AsyncSequence, Sendable {
    let base: AsyncThrowingStream<InboundMessage, any Error>
    let call: ResponseMetadata
    let credit: @Sendable () -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<InboundMessage, any Error>.AsyncIterator
        let call: ResponseMetadata
        let credit: @Sendable () -> Void
        mutating func next() async throws -> [UInt8]? {
            guard let m = try await base.next() else { return nil }
            call.requestCompressed = m.compressed
            credit()
            return m.bytes
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), call: call, credit: credit) }
}
