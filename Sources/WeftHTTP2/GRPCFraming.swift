import CZlib
import NIOCore
import WeftRPC

/// Splits a stream's DATA payload into gRPC length-prefixed messages (flag byte, 4-byte big-endian
/// length, body), however the payload was cut into frames.
///
/// Small messages are gathered in a buffer and taken out as slices. A message of at least
/// ``directSize`` bytes whose body has not fully arrived with its prefix is collected straight
/// into the array handed to the caller, so its bytes are copied once here, not twice.
struct GRPCDeframer {
    private var buffer = ByteBuffer()
    /// The large message being collected: its flag, its body so far, and its declared length.
    private var direct: (compressed: Bool, body: [UInt8], length: Int)?
    /// Largest message accepted, in bytes.
    let maxMessageSize: Int
    /// Bodies at least this long (more than one default-sized DATA frame) are collected directly.
    static let directSize = 16 * 1024

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    /// A complete message: its body, whether it arrived compressed, and its size on the wire.
    struct Message {
        var bytes: [UInt8]
        var compressed: Bool
        var wireSize: Int
    }

    /// Bytes received but not yet part of a complete message (a prefix counts).
    var bufferedBytes: Int { buffer.readableBytes + (direct.map { 5 + $0.body.count } ?? 0) }

    /// Feeds a DATA chunk and passes each message it completes to `body`, decompressed by
    /// `encoding` (the stream's `grpc-encoding`). A chunk that is exactly one whole message (a
    /// unary request or response in one frame, the usual case) becomes it without the buffer.
    mutating func receive(_ bytes: UnsafeRawBufferPointer, encoding: MessageCompression?,
                          _ body: (Message) throws(RPCError) -> Void) throws(RPCError) {
        if let m = whole(bytes) { return try body(m) }
        append(bytes)
        while let m = try nextDecompressed(encoding: encoding) { try body(m) }
    }

    /// The message `bytes` holds when they are exactly one whole uncompressed message and nothing
    /// is buffered; nil otherwise, with nothing consumed.
    func whole(_ bytes: UnsafeRawBufferPointer) -> Message? {
        guard bytes.count >= 5, direct == nil, buffer.readableBytes == 0, bytes[0] == 0 else { return nil }
        let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
        guard bytes.count == 5 + length, length <= maxMessageSize else { return nil }
        return Message(bytes: Array(UnsafeRawBufferPointer(rebasing: bytes[5...])), compressed: false, wireSize: bytes.count)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        // Not `if let`: a second reference to the body would make the append copy it.
        let missing = direct.map { $0.length - $0.body.count } ?? 0
        if missing > 0 {
            let n = min(missing, rest.count)
            direct?.body.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        if !rest.isEmpty { buffer.writeBytes(rest) }
    }

    /// The next complete message with its body decompressed by `encoding` (the stream's
    /// `grpc-encoding`); a compressed message on a stream without one is INTERNAL.
    mutating func nextDecompressed(encoding: MessageCompression?) throws(RPCError) -> Message? {
        guard let m = try next() else { return nil }
        guard m.compressed else { return m }
        guard let encoding else { throw RPCError(code: .internal, message: "Compressed message without grpc-encoding") }
        var body = try encoding.decompress(ByteBuffer(bytes: m.bytes), limit: maxMessageSize)
        return Message(bytes: body.readBytes(length: body.readableBytes) ?? [], compressed: true, wireSize: m.wireSize)
    }

    /// The next complete message, nil if more bytes are needed; throws RESOURCE_EXHAUSTED when a
    /// declared length exceeds the limit (before buffering the body).
    mutating func next() throws(RPCError) -> Message? {
        if let d = direct {
            guard d.body.count == d.length else { return nil }
            direct = nil
            return Message(bytes: d.body, compressed: d.compressed, wireSize: 5 + d.length)
        }
        guard buffer.readableBytes >= 5,
              let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self).map(Int.init) else { return nil }
        guard length <= maxMessageSize else {
            throw RPCError(code: .resourceExhausted, message: "Received message larger than max (\(length) vs. \(maxMessageSize))")
        }
        let compressed = flag & 1 != 0
        guard buffer.readableBytes >= 5 + length else {
            if length >= Self.directSize {
                // Move what has arrived into the message's own array; the rest goes there as it comes.
                buffer.moveReaderIndex(forwardBy: 5)
                // Reserved up to 128 KiB (one allocation for common large messages); beyond, the
                // array grows with what arrives, so memory follows received bytes, not the
                // length a peer declares.
                var body: [UInt8] = []
                body.reserveCapacity(min(length, 128 * 1024))
                buffer.withUnsafeReadableBytes { body.append(contentsOf: $0) }
                buffer.clear()
                direct = (compressed, body, length)
            }
            return nil
        }
        buffer.moveReaderIndex(forwardBy: 5)
        let body = buffer.readBytes(length: length) ?? []
        if buffer.readableBytes == 0 { buffer.clear() }
        return Message(bytes: body, compressed: compressed, wireSize: 5 + length)
    }
}

/// Message compression for `grpc-encoding: gzip` (and `deflate`), by zlib.
enum MessageCompression: String, Sendable {
    case gzip, deflate

    /// The algorithms Weft accepts, for `grpc-accept-encoding`.
    static let acceptHeader = "identity,gzip,deflate"

    private var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }

    func compress(_ input: ByteBuffer) throws(RPCError) -> ByteBuffer {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RPCError(code: .internal, message: "zlib deflateInit failed")
        }
        defer { deflateEnd(&stream) }
        var out = ByteBuffer()
        let bound = Int(deflateBound(&stream, UInt(input.readableBytes))) + 16
        out.reserveCapacity(bound)
        var status: Int32 = Z_OK
        input.withUnsafeReadableBytes { src in
            _ = out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(dst.count)
                status = CZlib.deflate(&stream, Z_FINISH)
                return dst.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else { throw RPCError(code: .internal, message: "zlib deflate failed (\(status))") }
        return out
    }

    /// Decompresses, refusing output larger than `limit` (a decompression bomb is RESOURCE_EXHAUSTED).
    func decompress(_ input: ByteBuffer, limit: Int) throws(RPCError) -> ByteBuffer {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RPCError(code: .internal, message: "zlib inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var out = ByteBuffer()
        var status: Int32 = Z_OK
        var failure: RPCError?
        input.withUnsafeReadableBytes { src in
            stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(src.count)
            while status != Z_STREAM_END {
                if out.readableBytes > limit {
                    failure = RPCError(code: .resourceExhausted, message: "Decompressed message larger than max (\(limit))")
                    return
                }
                let chunk = max(4096, min(limit + 1 - out.readableBytes, src.count * 4))
                out.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { dst in
                    stream.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(min(dst.count, chunk))
                    status = inflate(&stream, Z_NO_FLUSH)
                    return min(dst.count, chunk) - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END {
                    failure = RPCError(code: .internal, message: "Could not decompress message (\(status))")
                    return
                }
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    failure = RPCError(code: .internal, message: "Could not decompress message: truncated")
                    return
                }
            }
        }
        if let failure { throw failure }
        if out.readableBytes > limit {
            throw RPCError(code: .resourceExhausted, message: "Decompressed message larger than max (\(limit))")
        }
        return out
    }
}

/// Frames one message: flag byte, big-endian length, body (compressed when `compression` is set).
func frameMessage(_ bytes: [UInt8], compression: MessageCompression?, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
    if let compression {
        var body = allocator.buffer(capacity: bytes.count)
        body.writeBytes(bytes)
        let compressed = try compression.compress(body)
        var out = allocator.buffer(capacity: 5 + compressed.readableBytes)
        out.writeInteger(UInt8(1))
        out.writeInteger(UInt32(compressed.readableBytes))
        var c = compressed
        out.writeBuffer(&c)
        return out
    }
    var out = allocator.buffer(capacity: 5 + bytes.count)
    out.writeInteger(UInt8(0))
    out.writeInteger(UInt32(bytes.count))
    out.writeBytes(bytes)
    return out
}
