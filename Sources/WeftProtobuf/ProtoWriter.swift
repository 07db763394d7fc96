#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Protobuf wire types (the low three bits of a tag).
public enum WireType: UInt32, Sendable {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields.
    case lengthDelimited = 2
    /// proto2 groups (start).
    case startGroup = 3
    /// proto2 groups (end).
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5
}

/// A protobuf encoder that writes back to front.
///
/// Generated code writes fields in reverse order: a nested message is written first and its length is
/// known afterwards, so it is prefixed in O(1) without computing sizes up front (and without the
/// quadratic size recomputation of nested messages). The bytes end up in forward field order.
public struct ProtoWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    /// Index of the first written byte; the written bytes are `base[start ..< capacity]`.
    @usableFromInline var start: Int

    /// Creates a writer with an initial capacity (it grows as needed).
    @inlinable
    public init(capacity: Int = 256) {
        let cap = max(capacity, 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 8)
        self.capacity = cap
        start = cap
    }

    deinit { base.deallocate() }

    /// Number of bytes written so far.
    @inlinable
    public var count: Int { capacity - start }

    @usableFromInline
    mutating func grow(toFit n: Int) {
        let used = capacity - start
        // Room for the tags and lengths that usually follow a large write (its field's key, the
        // enclosing messages' prefixes), so that they do not copy it all into a buffer twice as big.
        let needed = n &+ 64
        var newCap = capacity &* 2
        while newCap - used < needed { newCap &*= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 8)
        (newBase + (newCap - used)).copyMemory(from: base + start, byteCount: used)
        base.deallocate()
        base = newBase
        capacity = newCap
        start = newCap - used
    }

    /// Ensures `n` more bytes can be written without growing.
    @inlinable @inline(__always)
    public mutating func reserve(_ n: Int) {
        if _slowPath(start < n) { grow(toFit: n) }
    }

    /// Writes one byte.
    @inlinable @inline(__always)
    public mutating func writeByte(_ b: UInt8) {
        reserve(1)
        start &-= 1
        base.storeBytes(of: b, toByteOffset: start, as: UInt8.self)
    }

    /// Number of bytes of `v` as a varint.
    @inlinable @inline(__always)
    public static func varintSize(_ v: UInt64) -> Int {
        // 1 + floor(bits / 7), where bits is the index of the highest set bit.
        let bits = 64 &- (v | 1).leadingZeroBitCount
        return (bits &+ 6) / 7
    }

    /// Writes an unsigned varint.
    @inlinable @inline(__always)
    public mutating func writeVarint(_ value: UInt64) {
        if value < 0x80 { writeByte(UInt8(truncatingIfNeeded: value)); return }
        let n = Self.varintSize(value)
        reserve(n)
        start &-= n
        var p = base + start
        var v = value
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            p += 1
            v >>= 7
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
    }

    /// Writes a varint of a 32-bit value (negative int32 values take ten bytes, as protobuf requires).
    @inlinable @inline(__always)
    public mutating func writeVarint(_ value: Int32) {
        writeVarint(UInt64(bitPattern: Int64(value)))
    }

    /// Writes a tag.
    @inlinable @inline(__always)
    public mutating func writeTag(_ number: Int, _ wireType: WireType) {
        writeVarint(UInt64(UInt32(truncatingIfNeeded: number) << 3 | wireType.rawValue))
    }

    /// Writes a precomputed tag value.
    @inlinable @inline(__always)
    public mutating func writeRawTag(_ tag: UInt32) {
        writeVarint(UInt64(tag))
    }

    /// Writes a little-endian 32-bit value.
    @inlinable @inline(__always)
    public mutating func writeFixed32(_ v: UInt32) {
        reserve(4)
        start &-= 4
        (base + start).storeBytes(of: v.littleEndian, as: UInt32.self)
    }

    /// Writes a little-endian 64-bit value.
    @inlinable @inline(__always)
    public mutating func writeFixed64(_ v: UInt64) {
        reserve(8)
        start &-= 8
        (base + start).storeBytes(of: v.littleEndian, as: UInt64.self)
    }

    /// Writes raw bytes.
    @inlinable @inline(__always)
    public mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress else { return }
        reserve(n)
        start &-= n
        (base + start).copyMemory(from: src, byteCount: n)
    }

    /// Writes raw bytes from an array.
    @inlinable
    public mutating func writeRaw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeRaw($0) }
    }

    /// Writes a string's UTF-8 bytes followed (in wire order: preceded) by its length.
    @inlinable
    public mutating func writeLengthDelimited(_ s: String) {
        let mark = count
        var s = s
        s.withUTF8 { writeRaw(UnsafeRawBufferPointer($0)) }
        writeVarint(UInt64(count &- mark))
    }

    /// Writes bytes preceded by their length.
    @inlinable
    public mutating func writeLengthDelimited(_ d: some ContiguousBytes) {
        let mark = count
        d.withUnsafeBytes { writeRaw($0) }
        writeVarint(UInt64(count &- mark))
    }

    /// Writes an embedded message preceded by its length (call after the message's fields).
    @inlinable @inline(__always)
    public mutating func writeLength(since mark: Int) {
        writeVarint(UInt64(count &- mark))
    }

    /// Writes a zigzag-encoded signed 32-bit value.
    @inlinable @inline(__always)
    public mutating func writeZigZag(_ v: Int32) {
        writeVarint(UInt64(UInt32(bitPattern: (v << 1) ^ (v >> 31))))
    }

    /// Writes a zigzag-encoded signed 64-bit value.
    @inlinable @inline(__always)
    public mutating func writeZigZag(_ v: Int64) {
        writeVarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// Calls `body` with the written bytes, in wire order.
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base + start, count: count))
    }

    /// Hands the written bytes over as `Data` without copying them: the `Data` takes ownership of
    /// the writer's buffer.
    public consuming func takeData() -> Data {
        let base = self.base
        let start = self.start
        let count = self.capacity - start
        discard self
        if count == 0 {
            base.deallocate()
            return Data()
        }
        return Data(bytesNoCopy: base + start, count: count, deallocator: .custom { _, _ in base.deallocate() })
    }

    /// The written bytes as an array.
    @inlinable
    public func bytes() -> [UInt8] {
        let n = count
        return [UInt8](unsafeUninitializedCapacity: n) { buf, initialized in
            if n > 0, let dst = buf.baseAddress { UnsafeMutableRawPointer(dst).copyMemory(from: base + start, byteCount: n) }
            initialized = n
        }
    }
}

