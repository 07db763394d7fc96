import Foundation
import Gen
import Synchronization

/// A durable queue of usage records waiting to be published: records are written here first
/// (fsync'd before `append` returns) and removed only once the accounting service has
/// acknowledged their batch, so neither a crash of this process nor of the server loses or
/// duplicates one.
///
/// On disk, a directory holds append-only segment files of record frames (see `SegmentFormat`),
/// `state.json` (publisher, site, acknowledged sequence; replaced atomically) and a lock file
/// that keeps a second process out. Records are grouped in batches of at most
/// ``maxBatchRecords``; a batch gets its sequence number when it is sealed, and the seal is
/// written to the segment, so a batch keeps its number across crashes and reconnects (the
/// server acknowledges a resent batch as a duplicate). A segment file is deleted once every
/// batch in it is acknowledged.
public final class AccountingOutbox: Sendable {
    /// The most records in one batch (accounting.proto).
    public static let maxBatchRecords = 1000
    /// A batch is sealed early when its records reach this many bytes, keeping each request
    /// well under the 4 MiB gRPC message limit.
    public static let maxBatchBytes = 2 << 20

    /// The outbox directory.
    public let directory: String
    /// Publisher id the records are published as.
    public let publisherID: String
    /// Site of the records.
    public let site: String

    let segmentSizeLimit: Int
    let lockFD: Int32
    let memory: Mutex<OutboxMemory>

    /// Opens (creating if needed) the outbox in `directory` for `publisherID` and `site`.
    ///
    /// An outbox created for another publisher or site takes the new identity when it is empty;
    /// while it still holds records, opening it for another identity fails (sequences are per
    /// publisher, and a session publishes one site). `segmentSizeLimit` is the size after which
    /// appends start a new segment file.
    public init(directory: String, publisherID: String, site: String, segmentSizeLimit: Int = 64 << 20) throws {
        guard !publisherID.isEmpty else { throw OutboxError("the publisher id is empty") }
        guard !site.isEmpty else { throw OutboxError("the site is empty") }
        try OutboxFiles.makeDirectory(directory)
        let lockFD = try OutboxFiles.lock(directory + "/lock")
        var opened = false
        do {
            let loaded = try PersistedState.load(directory: directory)
            var memory = try Self.recover(directory: directory, state: loaded ?? PersistedState(publisherID: publisherID, site: site))
            defer { if !opened { for s in memory.segments { close(s.fd) } } }
            if memory.persisted.publisherID != publisherID || memory.persisted.site != site {
                guard memory.pendingRecords == 0 else {
                    throw OutboxError(
                        "the outbox \(directory) holds \(memory.pendingRecords) records of site \"\(memory.persisted.site)\" for publisher "
                            + "\"\(memory.persisted.publisherID)\" that are not published yet; publish them first or use another outbox directory")
                }
                memory.persisted.publisherID = publisherID
                memory.persisted.site = site
                memory.persisted.synced = false
                try memory.persisted.save(directory: directory)
            } else if loaded == nil {
                try memory.persisted.save(directory: directory)
            }
            self.memory = Mutex(memory)
            opened = true
        } catch {
            close(lockFD)
            throw error
        }
        self.directory = directory
        self.publisherID = publisherID
        self.site = site
        self.segmentSizeLimit = segmentSizeLimit
        self.lockFD = lockFD
    }

    /// Opens an outbox created before, with the publisher id and site it was created for.
    public convenience init(directory: String) throws {
        guard let state = try PersistedState.load(directory: directory) else {
            throw OutboxError("\(directory) is not an outbox (no \(PersistedState.fileName)); import records first")
        }
        try self.init(directory: directory, publisherID: state.publisherID, site: state.site)
    }

    deinit {
        memory.withLock { m in for s in m.segments { close(s.fd) } }
        close(lockFD)
    }

    /// Records not yet acknowledged (sealed or not).
    public var pendingRecordCount: Int { memory.withLock { $0.pendingRecords } }

    /// Sealed batches not yet acknowledged.
    public var pendingBatchCount: Int { memory.withLock { $0.batches.count - $0.head } }

    /// The sealed, unacknowledged batches: wire sequence and record count, in order. Sequences
    /// of an outbox that never had a session accepted may still move up once, at the first one.
    public var pendingBatches: [(sequence: UInt64, recordCount: Int)] {
        memory.withLock { m in m.pendingBatches.map { (m.wire($0.sequence), $0.recordCount) } }
    }

    /// Records appended but not yet in a sealed batch.
    public var openRecordCount: Int { memory.withLock { $0.openCount } }

    /// Highest wire sequence the server acknowledged (0 if none).
    public var acknowledgedSequence: UInt64 { memory.withLock { $0.persisted.acknowledged == 0 ? 0 : $0.wire($0.persisted.acknowledged) } }

    /// Appends records durably: every record is encoded once, all frames go to the current
    /// segment in one write, and the segment is fsync'd before this returns. Full batches are
    /// sealed on the way; the last, partial one stays open for later appends (``seal()``
    /// closes it, and publishing seals it first).
    ///
    /// If this throws, nothing of `records` is in the outbox. A crash during the call may keep
    /// a prefix of them; records are idempotent on the server (unique by their APEL key), so
    /// appending them again is harmless.
    public func append(_ records: [Weft_Accounting_V1_UsageRecord]) throws {
        guard !records.isEmpty else { return }
        let (bytes, sizes) = SegmentFormat.encode(records)
        if let (index, size) = sizes.enumerated().first(where: { $0.element > Self.maxBatchBytes }) {
            throw OutboxError("record \(index + 1) is \(size) bytes; a record may have at most \(Self.maxBatchBytes)")
        }
        try memory.withLock { (m) throws(OutboxError) in
            try ensureSegment(&m)
            let segment = m.segments[m.segments.count - 1]
            let base = segment.size
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 11 * (records.count / Self.maxBatchRecords + 2))
            var sealed: [SealedBatch] = []
            var count = m.openCount, batchBytes = m.openBytes, batchStart = m.openStart, sequence = m.nextSequence
            var source = 0
            for size in sizes {
                out.append(contentsOf: bytes[source..<source + size])
                source += size
                count += 1
                batchBytes += size
                if count == Self.maxBatchRecords || batchBytes >= Self.maxBatchBytes {
                    sealed.append(SealedBatch(sequence: sequence, segment: segment.id, start: batchStart, end: base + out.count, recordCount: count))
                    out.append(SegmentFormat.sealTag)
                    SegmentFormat.appendVarint(sequence, to: &out)
                    sequence += 1
                    count = 0
                    batchBytes = 0
                    batchStart = base + out.count
                }
            }
            try write(out, to: segment, at: base)
            m.segments[m.segments.count - 1].size = base + out.count
            m.batches.append(contentsOf: sealed)
            m.nextSequence = sequence
            m.openCount = count
            m.openBytes = batchBytes
            m.openStart = batchStart
            m.pendingRecords += records.count
        }
    }

    /// Seals the open batch, if any, giving it the next sequence number (durably).
    public func seal() throws {
        try memory.withLock { (m) throws(OutboxError) in try sealOpen(&m) }
    }

    /// Every record not yet acknowledged, in order (decoded from the segments; for inspection
    /// and tests, not for publishing).
    public func pendingRecords() throws -> [Weft_Accounting_V1_UsageRecord] {
        try memory.withLock { (m) throws(OutboxError) in
            var ranges = m.pendingBatches.map { (segment: $0.segment, start: $0.start, end: $0.end) }
            if m.openCount > 0, let last = m.segments.last { ranges.append((last.id, m.openStart, last.size)) }
            var out: [Weft_Accounting_V1_UsageRecord] = []
            for r in ranges {
                let bytes = try read(m, segment: r.segment, start: r.start, end: r.end, prefix: 0) { _ in }
                for frame in SegmentFormat.scan(bytes).frames {
                    guard case .record(let start, let end) = frame, let (_, body) = SegmentFormat.varint(bytes, at: start + 1) else { continue }
                    do {
                        out.append(try Weft_Accounting_V1_UsageRecord(serializedBytes: bytes[body..<end]))
                    } catch {
                        throw OutboxError("a record in \(Segment.name(r.segment)) does not decode: \(error)")
                    }
                }
            }
            return out
        }
    }

    // MARK: - Internals shared with the publisher's files

    /// Starts a new segment when there is none, or when the last one is full and no batch is open in it.
    func ensureSegment(_ m: inout OutboxMemory) throws(OutboxError) {
        if let last = m.segments.last, m.openCount > 0 || last.size < segmentSizeLimit { return }
        let id = m.nextSegmentID
        let path = directory + "/" + Segment.name(id)
        let fd = try OutboxFiles.open(path, create: true)
        try OutboxFiles.truncate(fd, to: 0, path: path)
        do throws(OutboxError) { try OutboxFiles.syncDirectory(directory) } catch {
            close(fd)
            throw error
        }
        m.segments.append(Segment(id: id, path: path, fd: fd, size: 0))
        m.nextSegmentID = id + 1
        m.openStart = 0
    }

    /// Writes and syncs `bytes` at `offset`; on failure the segment is cut back to `offset`.
    func write(_ bytes: [UInt8], to segment: Segment, at offset: Int) throws(OutboxError) {
        do throws(OutboxError) {
            try OutboxFiles.write(segment.fd, bytes, at: offset, path: segment.path)
            try OutboxFiles.sync(segment.fd, path: segment.path)
        } catch {
            try? OutboxFiles.truncate(segment.fd, to: offset, path: segment.path)
            throw error
        }
    }

    func sealOpen(_ m: inout OutboxMemory) throws(OutboxError) {
        guard m.openCount > 0, let segment = m.segments.last else { return }
        let frame = SegmentFormat.seal(m.nextSequence)
        try write(frame, to: segment, at: segment.size)
        m.batches.append(SealedBatch(sequence: m.nextSequence, segment: segment.id, start: m.openStart, end: segment.size, recordCount: m.openCount))
        m.segments[m.segments.count - 1].size = segment.size + frame.count
        m.nextSequence += 1
        m.openStart = segment.size + frame.count
        m.openCount = 0
        m.openBytes = 0
    }

    /// Reads `start..<end` of a segment into a new array after `prefix` bytes that `header` fills.
    func read(_ m: OutboxMemory, segment id: Int, start: Int, end: Int, prefix: Int,
              header: (UnsafeMutableRawBufferPointer) -> Void) throws(OutboxError) -> [UInt8] {
        guard let segment = m.segments.first(where: { $0.id == id }) else { throw OutboxError("segment \(id) of \(directory) is gone") }
        var failure: OutboxError?
        let bytes = [UInt8](unsafeUninitializedCapacity: prefix + end - start) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            header(UnsafeMutableRawBufferPointer(rebasing: raw[0..<prefix]))
            do throws(OutboxError) {
                if end > start { try OutboxFiles.read(segment.fd, into: raw.baseAddress! + prefix, count: end - start, at: start, path: segment.path) }
                initialized = prefix + end - start
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
