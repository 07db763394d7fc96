import Foundation

/// What `state.json` keeps: who the outbox publishes as, and how far the server acknowledged.
/// Written atomically (temporary file, fsync, rename, directory fsync).
struct PersistedState: Codable, Sendable, Hashable {
    var version = 1
    /// Publisher id the batches are sent as; sequences are per publisher on the server.
    var publisherID: String
    /// Site of every record in the outbox.
    var site: String
    /// Added to an outbox sequence to give the sequence on the wire. It is fixed before the first
    /// batch is sent for this publisher (see `synced`) and never changes afterwards, so a batch
    /// keeps its wire sequence across crashes and reconnects.
    var sequenceOffset: Int64 = 0
    /// Whether a session of this publisher has been accepted since the outbox took its identity;
    /// until then, the offset may still move up so that the first batch follows the server's
    /// committed sequence (a new outbox for a publisher id that published before).
    var synced = false
    /// Highest outbox sequence acknowledged (0 if none). Batches up to it are never sent again,
    /// and new batches are numbered above it even when every segment has been deleted.
    var acknowledged: UInt64 = 0

    static let fileName = "state.json"

    static func load(directory: String) throws(OutboxError) -> PersistedState? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw OutboxError("cannot read \(path)") }
        do {
            return try JSONDecoder().decode(PersistedState.self, from: data)
        } catch {
            throw OutboxError("\(path) is not an outbox state file: \(error)")
        }
    }

    func save(directory: String) throws(OutboxError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw OutboxError("cannot encode the outbox state: \(error)") }
        try OutboxFiles.replace(directory + "/" + Self.fileName, with: Array(data), directory: directory)
    }
}

/// One segment file, open for appending (the last one) or only for reading.
struct Segment: Sendable {
    var id: Int
    var path: String
    var fd: Int32
    var size: Int

    static func name(_ id: Int) -> String {
        let digits = String(id)
        return "segment-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".log"
    }

    /// The id of a segment file name, nil for other files.
    static func id(ofName name: String) -> Int? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".log") else { return nil }
        return Int(name.dropFirst(8).dropLast(4))
    }
}

/// A sealed batch not yet acknowledged: where its record frames lie.
struct SealedBatch: Sendable, Hashable {
    /// Outbox sequence (the wire sequence is this plus the offset).
    var sequence: UInt64
    var segment: Int
    /// Byte range of the record frames in the segment.
    var start: Int
    var end: Int
    var recordCount: Int
}

/// Everything the outbox's lock protects.
struct OutboxMemory: Sendable {
    var persisted: PersistedState
    /// Ascending ids; the last one is where appends go.
    var segments: [Segment] = []
    /// Sealed, unacknowledged batches in sequence order, from `head` on (a consumed prefix is
    /// dropped now and then rather than shifting the array on every acknowledgement).
    var batches: [SealedBatch] = []
    var head = 0
    /// The open (unsealed) batch at the end of the last segment.
    var openStart = 0
    var openCount = 0
    var openBytes = 0
    /// Next outbox sequence to seal.
    var nextSequence: UInt64 = 1
    var nextSegmentID = 1
    var pendingRecords = 0
    /// Acknowledgements not yet written to `state.json`.
    var dirty = false
    var lastSave = ContinuousClock.now
    /// A publisher is draining the outbox (one at a time: two would send the same batches).
    var publishing = false

    var pendingBatches: ArraySlice<SealedBatch> { batches[head...] }

    func wire(_ sequence: UInt64) -> UInt64 { UInt64(Int64(sequence) + persisted.sequenceOffset) }
}
