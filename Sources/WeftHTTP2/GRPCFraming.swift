import CZlib
import NIOCore
import WeftRPC

/// Splits a stream's DATA payload into gRPC length-prefixed messages (flag byte, 4-byte big-endian
/// length, body), however the payload was cut into frames.
struct GRPCDeframer {
    private var buffer = ByteBuffer()
    /// Largest message accepted, in bytes.
    let maxMessageSize: Int

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    /// A complete message: whether it is compressed, its body, and its size on the wire.
    struct Message {
        var compressed: Bool
        var body: ByteBuffer
        var wireSize: Int
    }

    /// Bytes received but not yet part of a complete message.
    var bufferedBytes: Int { buffer.readableBytes }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.writeBytes(bytes) }

    /// The next complete message with its body decompressed by `encoding` (the stream's
    /// `grpc-encoding`); a compressed message on a stream without one is INTERNAL.
    mutating func nextDecompressed(encoding: MessageCompression?) throws(RPCError) -> (bytes: [UInt8], compressed: Bool, wireSize: Int)? {
        guard let m = try next() else { return nil }
        var body = m.body
        if m.compressed {
            guard let encoding else { throw RPCError(code: .internal, message: "Compressed message without grpc-encoding") }
            body = try encoding.decompress(body, limit: maxMessageSize)
        }
        return (body.readBytes(length: body.readableBytes) ?? [], m.compressed, m.wireSize)
    }

    /// The next complete message, nil if more bytes are needed; throws RESOURCE_EXHAUSTED when a
    /// declared length exceeds the limit (before buffering the body).
    mutating func next() throws(RPCError) -> Message? {
        guard buffer.readableBytes >= 5,
              let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) else { return nil }
        guard Int(length) <= maxMessageSize else {
            throw RPCError(code: .resourceExhausted, message: "Received message larger than max (\(length) vs. \(maxMessageSize))")
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let body = buffer.readSlice(length: Int(length)) else { return nil }
        if buffer.readableBytes == 0 { buffer.clear() }
        return Message(compressed: flag & 1 != 0, body: body, wireSize: 5 + Int(length))
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
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
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
