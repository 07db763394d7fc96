import Gen
import WeftProtobuf

/// The bytes of a segment file. A segment is a run of frames that are, byte for byte, fields of
/// `RecordBatch`:
///
/// - a record: tag `0x12` (field 2, length-delimited), varint length, the serialized `UsageRecord`;
/// - a seal: tag `0x08` (field 1, varint), the batch's sequence number in the outbox.
///
/// A seal closes the batch of the records before it (since the previous seal). The records of a
/// batch are therefore one contiguous byte range that is already the `records` field of the
/// batch on the wire, so publishing never decodes or re-encodes a record.
enum SegmentFormat {
    static let recordTag: UInt8 = 0x12
    static let sealTag: UInt8 = 0x08

    /// One frame found by `scan`.
    enum Frame {
        /// A record frame from `start` to `end` (frame bytes, tag included).
        case record(start: Int, end: Int)
        /// A seal frame at `start` carrying `sequence`, ending at `end`.
        case seal(start: Int, end: Int, sequence: UInt64)
    }

    /// The frames of `bytes` in order, and where the last complete one ends (a torn tail after
    /// it, from a write that a crash interrupted, is to be cut off).
    static func scan(_ bytes: [UInt8]) -> (frames: [Frame], validEnd: Int) {
        var frames: [Frame] = []
        var p = 0
        let n = bytes.count
        while p < n {
            let start = p
            let tag = bytes[p]
            guard tag == recordTag || tag == sealTag, let (value, after) = varint(bytes, at: p + 1) else { break }
            if tag == sealTag {
                frames.append(.seal(start: start, end: after, sequence: value))
                p = after
            } else {
                guard value <= UInt64(n - after) else { break }
                p = after + Int(value)
                frames.append(.record(start: start, end: p))
            }
        }
        return (frames, p)
    }

    /// A varint at `offset`: its value and the offset after it; nil if incomplete or overlong.
    static func varint(_ bytes: [UInt8], at offset: Int) -> (UInt64, Int)? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var p = offset
        while p < bytes.count && shift < 64 {
            let b = bytes[p]
            value |= UInt64(b & 0x7F) << shift
            p += 1
            if b < 0x80 { return (value, p) }
            shift += 7
        }
        return nil
    }

    /// Appends a varint to `out`.
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    /// A seal frame for `sequence`.
    static func seal(_ sequence: UInt64) -> [UInt8] {
        var out: [UInt8] = [sealTag]
        appendVarint(sequence, to: &out)
        return out
    }

    /// Record frames of `records` in one buffer (each record encoded exactly once, back to front
    /// by `ProtoWriter`), and the byte size of each frame in order.
    static func encode(_ records: [Weft_Accounting_V1_UsageRecord]) -> (bytes: [UInt8], frameSizes: [Int]) {
        var w = ProtoWriter(capacity: max(256, records.count * 320))
        var sizes = [Int](repeating: 0, count: records.count)
        for i in stride(from: records.count - 1, through: 0, by: -1) {
            let mark = w.count
            records[i]._encode(to: &w)
            w.writeLength(since: mark)
            w.writeByte(recordTag)
            sizes[i] = w.count - mark
        }
        return (w.bytes(), sizes)
    }
}
