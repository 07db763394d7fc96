import CNghttp2
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore

/// One HTTP/2 header field.
public struct HTTP2Header: Sendable, Hashable {
    /// Lower-case name (pseudo-headers start with `:`).
    public var name: String {
        didSet { known = HeaderName(name) }
    }
    /// Value.
    public var value: String
    /// What the name is to gRPC, recognised when the header is made.
    private(set) var known: HeaderName

    /// Creates a header.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
        known = HeaderName(name)
    }

    /// A received header whose name was recognised from its bytes.
    init(name: String, value: String, known: HeaderName) {
        self.name = name
        self.value = value
        self.known = known
    }

    public static func == (a: HTTP2Header, b: HTTP2Header) -> Bool { a.name == b.name && a.value == b.value }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(value)
    }
}

/// What an ``HTTP2Session`` reports while it reads.
protocol HTTP2SessionDelegate: AnyObject {
    /// A complete header block: request headers (server), response headers or trailers (client).
    func sessionReceivedHeaders(_ headers: [HTTP2Header], streamID: Int32, endStream: Bool)
    /// A chunk of a DATA frame's payload (valid only during the call).
    func sessionReceivedData(_ bytes: UnsafeRawBufferPointer, streamID: Int32)
    /// The peer ended its side of the stream (END_STREAM on a DATA frame).
    func sessionReceivedEndStream(streamID: Int32)
    /// The stream is closed; `errorCode` is non-zero after RST_STREAM or a protocol error.
    func sessionClosedStream(_ streamID: Int32, errorCode: UInt32)
    /// A PING frame arrived (`ack` for replies to ours).
    func sessionReceivedPing(ack: Bool)
    /// A frame that opens or continues work arrived (HEADERS, DATA): resets ping strikes.
    func sessionReceivedWorkFrame()
    /// The peer sent GOAWAY.
    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: UInt32)
}

/// A thin, single-threaded owner of an `nghttp2_session` (the non-`2` API of libnghttp2 1.52).
///
/// Bytes go in with ``receive(_:)`` and come out with ``drainOutput(_:)``; events go to the
/// delegate. Every call must happen on the connection's event loop. Outbound DATA for each stream
/// is queued here and handed to nghttp2 through a deferred data provider, so nghttp2 alone
/// decides framing and flow control. Window updates are manual (``consume(streamID:count:)``).
///
/// On a cleartext connection, large DATA payloads are not copied: nghttp2 is asked for them with
/// `NO_COPY`, and they leave as slices of the buffers they were enqueued in, written after the
/// frame header nghttp2 serialised (``zeroCopyThreshold``). Smaller ones are copied into
/// nghttp2's frame, so that a flush of many small frames stays one buffer. Under TLS everything
/// is copied into one buffer per flush: encryption copies the bytes anyway, and one plaintext
/// buffer makes full-sized TLS records instead of a 9-byte record per frame header.
final class HTTP2Session {
    /// Outbound state of one stream.
    final class Outbound {
        /// The first buffer enqueued and not yet framed (it may be partly taken), and those after
        /// it, in order. Most streams (a unary response) never hold more than one: no queue then.
        /// Small messages are gathered into shared buffers as they are enqueued (`coalesce`).
        var head: ByteBuffer?
        var tail: CircularBuffer<ByteBuffer>?
        /// Bytes queued and not yet promised to nghttp2.
        var queued = 0
        var finished = false
        var trailers: HeaderBlock?
        var deferred = false

        func append(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) {
            queued += bytes.readableBytes
            if bytes.readableBytes < HTTP2Session.zeroCopyThreshold, withLast({ Self.coalesce(bytes, onto: &$0, allocator) }) { return }
            if head == nil {
                head = bytes
            } else if tail == nil {
                tail = CircularBuffer(CollectionOfOne(bytes))
            } else {
                tail?.append(bytes)
            }
        }

        /// Runs `body` on the last queued buffer, moved out of the queue while it runs: a
        /// second reference (the ring's subscript has no in-place access) would make a write
        /// copy the buffer. False if nothing is queued.
        private func withLast(_ body: (inout ByteBuffer) -> Bool) -> Bool {
            if var t = tail, !t.isEmpty {
                tail = nil
                var last = t.removeLast()
                defer {
                    t.append(last)
                    tail = t
                }
                return body(&last)
            }
            guard var h = head else { return false }
            head = nil
            defer { head = h }
            return body(&h)
        }

        /// Size of the buffers small messages are gathered in: frames of small messages then take
        /// one piece from the queue, not one per message. A full one is never grown; the next
        /// message starts another.
        static let coalescingCapacity = 16384

        /// Adds a small message onto `last` if that is small too: into its room when it is a
        /// gathering buffer, else into a new gathering buffer holding both. False if `last` is large.
        private static func coalesce(_ bytes: ByteBuffer, onto last: inout ByteBuffer, _ allocator: ByteBufferAllocator) -> Bool {
            guard last.readableBytes < HTTP2Session.zeroCopyThreshold else { return false }
            if last.capacity >= coalescingCapacity, last.writableBytes >= bytes.readableBytes {
                last.writeImmutableBuffer(bytes)
            } else {
                var gathered = allocator.buffer(capacity: coalescingCapacity)
                gathered.writeImmutableBuffer(last)
                gathered.writeImmutableBuffer(bytes)
                last = gathered
            }
            return true
        }

        /// Removes the first `count` bytes of the queue, passing each piece to `body` (slices of
        /// the enqueued buffers: no copy). False if fewer bytes are queued.
        func take(_ count: Int, _ body: (ByteBuffer) -> Void) -> Bool {
            var remaining = count
            while remaining > 0 {
                guard var front = head else { return false }
                if front.readableBytes <= remaining {
                    remaining -= front.readableBytes
                    head = tail?.popFirst()
                    body(front)
                } else {
                    guard let piece = front.readSlice(length: remaining) else { return false }
                    head = front
                    remaining = 0
                    body(piece)
                }
            }
            return true
        }
    }

    /// DATA payloads of at least this many bytes leave as slices of their buffers (`NO_COPY`);
    /// smaller ones are copied into the coalesced output, which saves a buffer and an iovec per
    /// frame. The value is a judgement, not a measured crossover.
    static let zeroCopyThreshold = 8192

    private(set) var session: OpaquePointer?
    /// The connection handler, which owns this session and so outlives it. Unowned, not weak: a
    /// weak reference would give the handler a side table and send its refcounting to the slow path.
    unowned var delegate: (any HTTP2SessionDelegate)?
    /// The header block being received. HTTP/2 forbids interleaving a block (HEADERS and its
    /// CONTINUATIONs) with other frames, so one block is in progress at a time.
    private var pendingStreamID: Int32 = 0
    private var pendingHeaders: [HTTP2Header] = []
    private var pendingHeaderSize = 0
    /// Whether the block in progress exceeded ``maxHeaderListSize``.
    private var pendingOversized = false
    /// The stream whose last header block was dropped as too large (until read).
    private var oversizedStream: Int32?
    /// The last value received for each protocol header (see `recentValue`).
    private var recentValues = [String](repeating: "", count: HeaderName.count)
    /// Frames received so far (any type); a connection that never sends one is dropped.
    private(set) var framesReceived = 0
    private var outbound: [Int32: Outbound] = [:]
    /// Called when a stream's buffered outbound bytes fall to zero (the writer may continue).
    var onOutboundDrained: ((Int32) -> Void)?
    let allocator: ByteBufferAllocator
    /// Whether large DATA payloads leave uncopied (see the type's documentation).
    let zeroCopyData: Bool
    /// Limit on a header block's decoded size; beyond it the stream is reset.
    let maxHeaderListSize: Int

    /// Total bytes buffered for `streamID` and not yet handed to nghttp2.
    func bufferedBytes(streamID: Int32) -> Int { outbound[streamID]?.queued ?? 0 }
    /// While ``drainOutput(_:)`` runs: the output being coalesced, and where finished output goes
    /// (the `NO_COPY` callback adds frames to both).
    private var drainTarget: UnsafeMutablePointer<ByteBuffer>?
    private var drainEmit: ((ByteBuffer) -> Void)?

    /// Creates a server or client session.
    init(server: Bool, allocator: ByteBufferAllocator, zeroCopyData: Bool, settings: [(Int32, UInt32)], maxHeaderListSize: Int,
         connectionWindow: Int32) throws {
        self.allocator = allocator
        self.zeroCopyData = zeroCopyData
        self.maxHeaderListSize = maxHeaderListSize
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else { throw HTTP2Error.nghttp2("callbacks_new failed") }
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_send_data_callback(callbacks, sendDataCallback)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { throw HTTP2Error.nghttp2("option_new failed") }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_send_header_block_length(option, 256 * 1024)
        // Hostile peers: bound outbound ACKs (PING/SETTINGS floods), SETTINGS entries, CONTINUATIONs
        // and the rate of stream resets (CVE-2023-44487).
        nghttp2_option_set_max_outbound_ack(option, 1000)
        nghttp2_option_set_max_settings(option, 32)
        nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33)
        nghttp2_option_set_max_continuations(option, 8)

        let user = Unmanaged.passUnretained(self).toOpaque()
        var s: OpaquePointer?
        let rc = server ? nghttp2_session_server_new2(&s, callbacks, user, option) : nghttp2_session_client_new2(&s, callbacks, user, option)
        guard rc == 0, let s else { throw HTTP2Error.nghttp2("session_new failed: \(rc)") }
        session = s

        var iv = settings.map { nghttp2_settings_entry(settings_id: $0.0, value: $0.1) }
        guard nghttp2_submit_settings(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count) == 0 else {
            throw HTTP2Error.nghttp2("submit_settings failed")
        }
        if connectionWindow > 65535 {
            nghttp2_session_set_local_window_size(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow)
        }
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    /// Feeds bytes read from the peer. Throws on a connection-level protocol error (the session
    /// then has a GOAWAY queued; drain the output and close).
    func receive(_ buffer: ByteBuffer) throws {
        guard let session else { return }
        let rc = buffer.withUnsafeReadableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        if rc < 0 { throw HTTP2Error.nghttp2(String(cString: nghttp2_strerror(Int32(rc)))) }
    }

    /// Passes every byte nghttp2 wants to send to `write`, in order: usually one buffer; with
    /// large DATA frames, also the uncopied slices of their payloads in between. Returns false on
    /// a fatal session error (what was serialised before it is still passed on).
    @discardableResult
    func drainOutput(_ write: (ByteBuffer) -> Void) -> Bool {
        guard let session else { return false }
        var out = allocator.buffer(capacity: 0)
        let ok = withoutActuallyEscaping(write) { write in
            withUnsafeMutablePointer(to: &out) { target in
                drainTarget = target
                drainEmit = write
                defer {
                    drainTarget = nil
                    drainEmit = nil
                }
                while true {
                    var ptr: UnsafePointer<UInt8>?
                    let n = nghttp2_session_mem_send(session, &ptr)
                    if n < 0 { return false }
                    if n == 0 { return true }
                    if let ptr { target.pointee.writeBytes(UnsafeRawBufferPointer(start: ptr, count: n)) }
                }
            }
        }
        if out.readableBytes > 0 { write(out) }
        return ok
    }

    /// Whether the session still has work (open streams, frames to send or read).
    var isActive: Bool {
        guard let session else { return false }
        return nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    // MARK: - Submitting

    /// Runs `body` with `headers` laid out as nghttp2 name/value pairs. nghttp2 copies them during
    /// the submit call, so the layout lives on the stack; a constant block is handed over as is.
    private func withNV<R>(_ headers: HeaderBlock, _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        let list: [HTTP2Header]
        switch headers {
        case .constant(let block): return body(block.nva, block.count)
        case .list(let l): list = l
        }
        var total = 0
        for h in list { total += h.name.utf8.count + h.value.utf8.count }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { bytes in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(list.count, 1)) { nva in
                var at = 0
                func place(_ s: String) -> (UnsafeMutablePointer<UInt8>, Int) {
                    let start = bytes.baseAddress! + at
                    let n = UnsafeMutableBufferPointer(rebasing: bytes[at...]).initialize(fromContentsOf: s.utf8)
                    at += n
                    return (start, n)
                }
                for (i, h) in list.enumerated() {
                    let (name, nameLength) = place(h.name)
                    let (value, valueLength) = place(h.value)
                    nva.initializeElement(at: i, to: nghttp2_nv(name: name, value: value, namelen: nameLength, valuelen: valueLength,
                                                                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
                }
                return body(UnsafePointer(nva.baseAddress!), list.count)
            }
        }
    }

    private func dataProvider() -> nghttp2_data_provider {
        var p = nghttp2_data_provider()
        p.read_callback = readData
        return p
    }

    /// Client: opens a stream with request headers and a body to be supplied later.
    func submitRequest(_ headers: [HTTP2Header]) -> Int32 {
        guard let session else { return -1 }
        var provider = dataProvider()
        let id = withNV(.list(headers)) { nva, n in nghttp2_submit_request(session, nil, nva, n, &provider, nil) }
        if id > 0 { outbound[id] = Outbound() }
        return id
    }

    /// Server: sends response headers; DATA and trailers follow through ``enqueue(_:streamID:)`` and ``finish(streamID:trailers:)``.
    func submitResponse(streamID: Int32, _ headers: HeaderBlock) {
        guard let session else { return }
        var provider = dataProvider()
        if outbound[streamID] == nil { outbound[streamID] = Outbound() }
        _ = withNV(headers) { nva, n in nghttp2_submit_response(session, streamID, nva, n, &provider) }
    }

    /// Server: a single HEADERS frame with END_STREAM (a trailers-only response).
    func submitHeadersOnly(streamID: Int32, _ headers: HeaderBlock) {
        guard let session else { return }
        outbound[streamID] = nil
        _ = withNV(headers) { nva, n in nghttp2_submit_response(session, streamID, nva, n, nil) }
    }

    /// Appends bytes to a stream's outbound DATA (queued as they are, not copied).
    func enqueue(_ bytes: ByteBuffer, streamID: Int32) {
        guard let o = outbound[streamID], bytes.readableBytes > 0 else { return }
        o.append(bytes, allocator: allocator)
        resume(o, streamID)
    }

    /// Ends a stream's outbound side, with trailers (server) or END_STREAM on the last DATA (client).
    func finish(streamID: Int32, trailers: HeaderBlock?) {
        guard let o = outbound[streamID] else { return }
        o.finished = true
        o.trailers = trailers
        resume(o, streamID)
    }

    private func resume(_ o: Outbound, _ streamID: Int32) {
        if o.deferred, let session {
            o.deferred = false
            nghttp2_session_resume_data(session, streamID)
        }
    }

    /// Resets a stream.
    func reset(streamID: Int32, errorCode: UInt32) {
        guard let session else { return }
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// Returns `count` bytes of flow-control window to the peer for `streamID` (and the connection).
    func consume(streamID: Int32, count: Int) {
        guard let session, count > 0 else { return }
        if nghttp2_session_consume(session, streamID, count) != 0 {
            nghttp2_session_consume_connection(session, count)
        }
    }

    /// Sends a PING.
    func ping() {
        guard let session else { return }
        nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    /// Sends GOAWAY with `lastStreamID` (or the last stream processed) and an error code.
    func goAway(errorCode: UInt32, debug: String = "", lastStreamID: Int32? = nil) {
        guard let session else { return }
        let last = lastStreamID ?? nghttp2_session_get_last_proc_stream_id(session)
        var d = Array(debug.utf8)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, &d, d.count)
    }

    /// Sends the first GOAWAY of a graceful shutdown (last stream id 2^31-1).
    func shutdownNotice() {
        guard let session else { return }
        nghttp2_submit_shutdown_notice(session)
    }

    /// Number of streams open on the session.
    var openStreams: Int { outbound.count }

    // MARK: - Callback entry points (called by the C trampolines below)

    fileprivate func beginHeaders(_ streamID: Int32) -> Int32 {
        pendingStreamID = streamID
        // The list is handed to the delegate by value and emptied after; delegates read it and
        // keep nothing, so its storage serves the connection's next block without an allocation.
        pendingHeaders.removeAll(keepingCapacity: true)
        if pendingHeaders.capacity < 12 { pendingHeaders.reserveCapacity(12) }
        pendingHeaderSize = 0
        pendingOversized = false
        return 0
    }

    fileprivate func header(_ streamID: Int32, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Int32 {
        guard streamID == pendingStreamID, !pendingOversized else { return 0 }
        // RFC 7541 size: name + value + 32 per field. Past the limit the block is dropped (the
        // delegate gets an empty list and `headerListTooLarge`), decoding continues so HPACK stays in sync.
        pendingHeaderSize += name.count + value.count + 32
        if pendingHeaderSize > maxHeaderListSize {
            pendingHeaders.removeAll(keepingCapacity: true)
            pendingOversized = true
            return 0
        }
        let known = HeaderName(name)
        let nameString = known.literal ?? String(decoding: name, as: UTF8.self)
        pendingHeaders.append(HTTP2Header(name: nameString, value: recentValue(known, value), known: known))
        return 0
    }

    /// A header value as a String. A protocol header's value is usually the one the previous
    /// request on this connection sent (path, content type, user agent, authority), so that
    /// String is reused instead of a new one allocated.
    private func recentValue(_ known: HeaderName, _ bytes: UnsafeRawBufferPointer) -> String {
        // Only names with one meaning: the other pseudo-headers (:authority, :scheme) would share
        // a slot and replace each other's value on every request.
        guard known.literal != nil else { return String(decoding: bytes, as: UTF8.self) }
        let i = Int(known.rawValue)
        let same = recentValues[i].utf8.withContiguousStorageIfAvailable {
            guard $0.count == bytes.count, let a = $0.baseAddress, let b = bytes.baseAddress else { return $0.count == bytes.count }
            return memcmp(a, b, $0.count) == 0
        }
        if same == true { return recentValues[i] }
        let value = String(decoding: bytes, as: UTF8.self)
        recentValues[i] = value
        return value
    }

    /// Whether the header block just received for `streamID` exceeded the limit (cleared when read).
    func takeHeaderListTooLarge(_ streamID: Int32) -> Bool {
        guard oversizedStream == streamID else { return false }
        oversizedStream = nil
        return true
    }

    fileprivate func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let hd = frame.pointee.hd
        framesReceived += 1
        let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            delegate?.sessionReceivedWorkFrame()
            if hd.stream_id == pendingStreamID {
                if pendingOversized { oversizedStream = hd.stream_id }
                pendingStreamID = 0
                delegate?.sessionReceivedHeaders(pendingHeaders, streamID: hd.stream_id, endStream: endStream)
                pendingHeaders.removeAll(keepingCapacity: true)
            } else {
                delegate?.sessionReceivedHeaders([], streamID: hd.stream_id, endStream: endStream)
            }
        case NGHTTP2_DATA.rawValue:
            delegate?.sessionReceivedWorkFrame()
            if endStream { delegate?.sessionReceivedEndStream(streamID: hd.stream_id) }
        case NGHTTP2_PING.rawValue:
            delegate?.sessionReceivedPing(ack: hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0)
        case NGHTTP2_GOAWAY.rawValue:
            delegate?.sessionReceivedGoAway(lastStreamID: frame.pointee.goaway.last_stream_id, errorCode: frame.pointee.goaway.error_code)
        default:
            break
        }
        return 0
    }

    /// A `NO_COPY` DATA frame goes out: its header (serialised by nghttp2) into the coalesced
    /// output, which is then passed on, followed by the payload's slices. No padding is ever set
    /// (no padding callback), so the header is the 9-byte frame header and nothing follows.
    fileprivate func sendData(_ streamID: Int32, header: UnsafePointer<UInt8>, length: Int) -> Int32 {
        guard let target = drainTarget, let emit = drainEmit else { return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        // A stream whose outbound state is gone is reset by nghttp2; nothing was written for it.
        guard let o = outbound[streamID] else { return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        target.pointee.writeBytes(UnsafeRawBufferPointer(start: header, count: 9))
        emit(target.pointee)
        target.pointee = allocator.buffer(capacity: 0)
        return o.take(length, emit) ? 0 : Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
    }

    fileprivate func dataChunk(_ streamID: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        delegate?.sessionReceivedData(bytes, streamID: streamID)
        return 0
    }

    fileprivate func streamClosed(_ streamID: Int32, _ errorCode: UInt32) -> Int32 {
        outbound[streamID] = nil
        if pendingStreamID == streamID { pendingStreamID = 0 }
        if oversizedStream == streamID { oversizedStream = nil }
        delegate?.sessionClosedStream(streamID, errorCode: errorCode)
        return 0
    }

    fileprivate func read(_ streamID: Int32, _ buf: UnsafeMutablePointer<UInt8>, _ length: Int, _ flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let o = outbound[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let n = min(length, o.queued)
        if zeroCopyData, n >= Self.zeroCopyThreshold {
            // The payload stays queued until nghttp2 asks for it in `sendData`, within this drain.
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
        } else if n > 0 {
            var at = buf
            let complete = o.take(n) { piece in
                piece.withUnsafeReadableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    at.update(from: base.assumingMemoryBound(to: UInt8.self), count: raw.count)
                    at += raw.count
                }
            }
            guard complete else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        }
        o.queued -= n
        if o.queued == 0 {
            if o.finished {
                if let trailers = o.trailers, let session {
                    flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                    _ = withNV(trailers) { nva, count in nghttp2_submit_trailer(session, streamID, nva, count) }
                } else {
                    flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                }
            } else if n == 0 {
                o.deferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
            onOutboundDrained?(streamID)
        }
        return n
    }
}

/// A header list to submit: built for one use, or a constant block laid out once.
enum HeaderBlock {
    /// Headers built for this use (copied by nghttp2 when submitted).
    case list([HTTP2Header])
    /// A block laid out once for the life of the process.
    case constant(ConstantHeaderBlock)
}

/// A header list laid out once as nghttp2 name/value pairs and never freed, for the blocks that
/// almost every gRPC response sends unchanged. nghttp2 references its bytes without copying them.
final class ConstantHeaderBlock: @unchecked Sendable {
    // Immutable after init; the memory is never freed (the blocks are static constants).
    let nva: UnsafePointer<nghttp2_nv>
    let count: Int
    /// The headers, for logging and tests.
    let headers: [HTTP2Header]

    /// Lays out `headers` (names must be lower case, as HTTP/2 requires).
    init(_ headers: [HTTP2Header]) {
        self.headers = headers
        let nva = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: max(headers.count, 1))
        for (i, h) in headers.enumerated() {
            let name = Array(h.name.utf8), value = Array(h.value.utf8)
            let n = UnsafeMutablePointer<UInt8>.allocate(capacity: max(name.count, 1))
            n.initialize(from: name, count: name.count)
            let v = UnsafeMutablePointer<UInt8>.allocate(capacity: max(value.count, 1))
            v.initialize(from: value, count: value.count)
            let flags = NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue
            (nva + i).initialize(to: nghttp2_nv(name: n, value: v, namelen: name.count, valuelen: value.count, flags: UInt8(flags)))
        }
        self.nva = UnsafePointer(nva)
        count = headers.count
    }
}

/// Failures of the HTTP/2 layer.
public enum HTTP2Error: Error, CustomStringConvertible {
    /// libnghttp2 reported an error.
    case nghttp2(String)
    /// The connection closed.
    case connectionClosed

    public var description: String {
        switch self {
        case .nghttp2(let s): "HTTP/2 error: \(s)"
        case .connectionClosed: "connection closed"
        }
    }
}

// MARK: - C trampolines (no captures: the session comes back through user_data)

private func owner(_ user: UnsafeMutableRawPointer?) -> HTTP2Session? {
    user.map { Unmanaged<HTTP2Session>.fromOpaque($0).takeUnretainedValue() }
}

private let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, user in
    guard let frame, let s = owner(user) else { return 0 }
    return s.beginHeaders(frame.pointee.hd.stream_id)
}

private let onHeader: nghttp2_on_header_callback = { _, frame, name, namelen, value, valuelen, _, user in
    guard let frame, let name, let value, let s = owner(user) else { return 0 }
    return s.header(frame.pointee.hd.stream_id, UnsafeRawBufferPointer(start: name, count: namelen), UnsafeRawBufferPointer(start: value, count: valuelen))
}

private let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, user in
    guard let frame, let s = owner(user) else { return 0 }
    return s.frameReceived(frame)
}

private let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, len, user in
    guard let s = owner(user) else { return 0 }
    return s.dataChunk(streamID, UnsafeRawBufferPointer(start: data, count: len))
}

private let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, user in
    guard let s = owner(user) else { return 0 }
    return s.streamClosed(streamID, errorCode)
}

private let sendDataCallback: nghttp2_send_data_callback = { _, frame, header, length, _, user in
    guard let frame, let header, let s = owner(user) else { return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
    return s.sendData(frame.pointee.hd.stream_id, header: header, length: length)
}

private let readData: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, user in
    guard let buf, let flags, let s = owner(user) else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
    return s.read(streamID, buf, length, flags)
}
