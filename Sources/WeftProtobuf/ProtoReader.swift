#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A protobuf decoder over borrowed bytes.
///
/// It reads straight from the caller's buffer: no intermediate copies. Every length is checked against
/// the bytes that remain before anything is allocated, and nesting is limited, so hostile input can
/// only make decoding throw.
public struct ProtoReader: ~Copyable {
    @usableFromInline var p: UnsafeRawPointer
    @usableFromInline var end: UnsafeRawPointer
    /// Remaining levels of message nesting allowed.
    @usableFromInline var depthBudget: Int

    /// The default limit on message nesting.
    public static let defaultDepthLimit = 100

    /// Creates a reader over `buffer`, which must outlive the reader.
    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer, depthLimit: Int = ProtoReader.defaultDepthLimit) {
        // An empty buffer may have a nil base address; any non-nil pointer works for an empty range.
        let base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!
        p = base
        end = base + buffer.count
        depthBudget = depthLimit
    }

    /// Whether unread bytes remain.
    @inlinable @inline(__always)
    public var hasMore: Bool { p < end }

    /// Number of unread bytes.
    @inlinable @inline(__always)
    public var remaining: Int { end - p }

    /// Reads a varint.
    @inlinable @inline(__always)
    public mutating func readVarint() throws(ProtoDecodingError) -> UInt64 {
        if _fastPath(p < end) {
            let b = p.load(as: UInt8.self)
            if b < 0x80 { p += 1; return UInt64(b) }
        }
        return try readVarintSlow()
    }

    @usableFromInline
    mutating func readVarintSlow() throws(ProtoDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard p < end else { throw ProtoDecodingError(.truncated) }
            let b = p.load(as: UInt8.self)
            p += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift >= 70 { throw ProtoDecodingError(.malformedVarint) }
        }
    }

    /// Reads a tag (field number << 3 | wire type); validates it.
    @inlinable @inline(__always)
    public mutating func readTag() throws(ProtoDecodingError) -> UInt32 {
        let v = try readVarint()
        // Field numbers are 1 ... 2^29-1; wire types 0...5.
        guard v >> 3 != 0, v <= UInt64(UInt32.max), v & 7 <= 5 else { throw ProtoDecodingError(.invalidTag(v)) }
        return UInt32(truncatingIfNeeded: v)
    }

    /// Reads a little-endian 32-bit value.
    @inlinable @inline(__always)
    public mutating func readFixed32() throws(ProtoDecodingError) -> UInt32 {
        guard end - p >= 4 else { throw ProtoDecodingError(.truncated) }
        let v = p.loadUnaligned(as: UInt32.self)
        p += 4
        return UInt32(littleEndian: v)
    }

    /// Reads a little-endian 64-bit value.
    @inlinable @inline(__always)
    public mutating func readFixed64() throws(ProtoDecodingError) -> UInt64 {
        guard end - p >= 8 else { throw ProtoDecodingError(.truncated) }
        let v = p.loadUnaligned(as: UInt64.self)
        p += 8
        return UInt64(littleEndian: v)
    }

    /// Reads a varint as int32 (truncating, as protobuf does).
    @inlinable @inline(__always)
    public mutating func readInt32() throws(ProtoDecodingError) -> Int32 { Int32(truncatingIfNeeded: try readVarint()) }
    /// Reads a varint as int64.
    @inlinable @inline(__always)
    public mutating func readInt64() throws(ProtoDecodingError) -> Int64 { Int64(bitPattern: try readVarint()) }
    /// Reads a varint as uint32 (truncating).
    @inlinable @inline(__always)
    public mutating func readUInt32() throws(ProtoDecodingError) -> UInt32 { UInt32(truncatingIfNeeded: try readVarint()) }
    /// Reads a varint as uint64.
    @inlinable @inline(__always)
    public mutating func readUInt64() throws(ProtoDecodingError) -> UInt64 { try readVarint() }
    /// Reads a varint as bool.
    @inlinable @inline(__always)
    public mutating func readBool() throws(ProtoDecodingError) -> Bool { try readVarint() != 0 }
    /// Reads a zigzag sint32.
    @inlinable @inline(__always)
    public mutating func readSInt32() throws(ProtoDecodingError) -> Int32 {
        let n = UInt32(truncatingIfNeeded: try readVarint())
        return Int32(bitPattern: (n >> 1) ^ (0 &- (n & 1)))
    }
    /// Reads a zigzag sint64.
    @inlinable @inline(__always)
    public mutating func readSInt64() throws(ProtoDecodingError) -> Int64 {
        let n = try readVarint()
        return Int64(bitPattern: (n >> 1) ^ (0 &- (n & 1)))
    }
    /// Reads a fixed32 as sfixed32.
    @inlinable @inline(__always)
    public mutating func readSFixed32() throws(ProtoDecodingError) -> Int32 { Int32(bitPattern: try readFixed32()) }
    /// Reads a fixed64 as sfixed64.
    @inlinable @inline(__always)
    public mutating func readSFixed64() throws(ProtoDecodingError) -> Int64 { Int64(bitPattern: try readFixed64()) }
    /// Reads a float.
    @inlinable @inline(__always)
    public mutating func readFloat() throws(ProtoDecodingError) -> Float { Float(bitPattern: try readFixed32()) }
    /// Reads a double.
    @inlinable @inline(__always)
    public mutating func readDouble() throws(ProtoDecodingError) -> Double { Double(bitPattern: try readFixed64()) }

    /// Reads a length prefix and checks it against the remaining bytes.
    @inlinable @inline(__always)
    public mutating func readLength() throws(ProtoDecodingError) -> Int {
        let n = try readVarint()
        let rem = end - p
        guard n <= UInt64(rem) else { throw ProtoDecodingError(.lengthBeyondBuffer(declared: n, remaining: rem)) }
        return Int(truncatingIfNeeded: n)
    }

    /// Reads a length-delimited region and returns it (borrowed).
    @inlinable @inline(__always)
    public mutating func readLengthDelimited() throws(ProtoDecodingError) -> UnsafeRawBufferPointer {
        let n = try readLength()
        let r = UnsafeRawBufferPointer(start: p, count: n)
        p += n
        return r
    }

    /// Reads a UTF-8 string, validating it.
    ///
    /// ASCII, the common case, is checked eight bytes at a time and then decoded without a second
    /// validation pass; only other text goes through the full UTF-8 validator (the generic
    /// `String(validating:)` costs far more than the check itself).
    @inlinable
    public mutating func readString() throws(ProtoDecodingError) -> String {
        let raw = try readLengthDelimited()
        if raw.isEmpty { return "" }
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        if Self.isASCII(raw) { return String(decoding: bytes, as: UTF8.self) }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ProtoDecodingError(.invalidUTF8)
        }
        return s
    }

    /// Whether every byte is below 0x80.
    @inlinable @inline(__always)
    static func isASCII(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = raw.count
        var acc: UInt64 = 0
        while i + 8 <= n {
            acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            acc |= UInt64(raw[i])
            i += 1
        }
        return acc & 0x8080_8080_8080_8080 == 0
    }

    /// Reads a bytes field.
    @inlinable
    public mutating func readBytes() throws(ProtoDecodingError) -> Data {
        let raw = try readLengthDelimited()
        if raw.isEmpty { return Data() }
        return Data(raw)
    }

    /// Reads an embedded message into `message`, merging as protobuf specifies.
    @inlinable
    public mutating func readMessage<M: ProtoMessage>(into message: inout M) throws(ProtoDecodingError) {
        let n = try readLength()
        guard depthBudget > 0 else { throw ProtoDecodingError(.nestingTooDeep(limit: Self.defaultDepthLimit)) }
        let savedEnd = end
        end = p + n
        depthBudget -= 1
        try message._decode(from: &self)
        depthBudget += 1
        end = savedEnd
    }

    /// Reads an embedded message into an optional field, merging into the value already there. The
    /// value is moved out and back, so decoding never copies it.
    @inlinable
    public mutating func readMessage<M: ProtoMessage>(into field: inout M?) throws(ProtoDecodingError) {
        var m = field.take() ?? M()
        try readMessage(into: &m)
        field = m
    }

    /// Reads an embedded message.
    @inlinable
    public mutating func readMessage<M: ProtoMessage>(_: M.Type = M.self) throws(ProtoDecodingError) -> M {
        var m = M()
        try readMessage(into: &m)
        return m
    }

    /// Counts the length-delimited values of `tag` that follow one another from here (the reader is
    /// positioned after the first one's tag), so that a map or array can reserve its capacity once
    /// instead of growing 1, 2, 4, 8…. Reads nothing: malformed bytes just end the count.
    @inlinable
    public func countConsecutive(tag: UInt32) -> Int {
        var q = p
        var n = 0
        while true {
            // The length of this value.
            var len: UInt64 = 0
            var shift: UInt64 = 0
            while q < end, shift < 64 {
                let b = q.load(as: UInt8.self)
                q += 1
                len |= UInt64(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            guard len <= UInt64(end - q) else { return n }
            q += Int(len)
            n += 1
            // The next tag must be the same (tags below 2^14 take one or two bytes).
            guard q < end else { return n }
            let b0 = q.load(as: UInt8.self)
            if tag < 0x80 {
                guard UInt32(b0) == tag else { return n }
                q += 1
            } else {
                guard q + 1 < end, UInt32(b0 & 0x7F) | UInt32(q.load(fromByteOffset: 1, as: UInt8.self)) << 7 == tag, b0 >= 0x80 else { return n }
                q += 2
            }
        }
    }

    /// Reads a length prefix and limits reading to that many bytes; returns the previous limit for
    /// ``popLimit(_:)``. Used for packed fields and map entries.
    @inlinable @inline(__always)
    public mutating func pushLimit() throws(ProtoDecodingError) -> UnsafeRawPointer {
        let n = try readLength()
        let saved = end
        end = p + n
        return saved
    }

    /// Restores the limit saved by ``pushLimit()``.
    @inlinable @inline(__always)
    public mutating func popLimit(_ saved: UnsafeRawPointer) {
        end = saved
    }

    /// Reads a packed run of elements, calling `element` until the region is consumed.
    @inlinable
    public mutating func readPacked(_ element: (inout ProtoReader) throws(ProtoDecodingError) -> Void) throws(ProtoDecodingError) {
        let n = try readLength()
        let savedEnd = end
        end = p + n
        while p < end { try element(&self) }
        end = savedEnd
    }

    /// Skips the value of a field with `tag`, appending the tag and value bytes to `unknown`.
    public mutating func skipField(tag: UInt32, into unknown: inout UnknownFields) throws(ProtoDecodingError) {
        let startOfValue = p
        try skipValue(tag: tag, depth: 0)
        var w = ProtoWriter(capacity: 16)
        w.writeRawTag(tag)
        w.withBytes { unknown.bytes.append(contentsOf: $0) }
        unknown.bytes.append(contentsOf: UnsafeRawBufferPointer(start: startOfValue, count: p - startOfValue))
    }

    mutating func skipValue(tag: UInt32, depth: Int) throws(ProtoDecodingError) {
        switch tag & 7 {
        case 0: _ = try readVarint()
        case 1: _ = try readFixed64()
        case 2: _ = try readLengthDelimited()
        case 5: _ = try readFixed32()
        case 3:
            guard depth < Self.defaultDepthLimit else { throw ProtoDecodingError(.nestingTooDeep(limit: Self.defaultDepthLimit)) }
            while true {
                guard p < end else { throw ProtoDecodingError(.unbalancedGroup) }
                let inner = try readTag()
                if inner & 7 == 4 {
                    guard inner >> 3 == tag >> 3 else { throw ProtoDecodingError(.unbalancedGroup) }
                    return
                }
                try skipValue(tag: inner, depth: depth + 1)
            }
        default:
            throw ProtoDecodingError(.unbalancedGroup)
        }
    }
}

/// Fields a decoder did not recognise, kept byte for byte (tags included) and written back after the
/// known fields on encode.
public struct UnknownFields: Sendable, Hashable {
    /// The raw bytes, in the order they were read.
    public var bytes: [UInt8] = []

    /// Creates an empty set.
    @inlinable
    public init() {}

    /// Whether nothing was kept.
    @inlinable
    public var isEmpty: Bool { bytes.isEmpty }
}
