/// A sealed batch as a session sends it.
struct OutgoingBatch: Sendable {
    var batch: SealedBatch
    /// The sequence on the wire.
    var sequence: UInt64
}

extension AccountingOutbox {
    /// At most this long between saves of `state.json` while acknowledgements arrive; losing
    /// unsaved ones in a crash only makes the next session drop those batches as committed.
    static let saveInterval: Duration = .milliseconds(500)

    /// Claims the outbox for one publish run; fails if another run holds it.
    func claimPublishing() throws(OutboxError) {
        try memory.withLock { (m) throws(OutboxError) in
            guard !m.publishing else { throw OutboxError("the outbox \(directory) is already being published") }
            m.publishing = true
        }
    }

    /// Ends a publish run's claim.
    func releasePublishing() { memory.withLock { $0.publishing = false } }

    /// Starts a session the server accepted with `committed` as its last committed sequence:
    /// seals the open batch, fixes the sequence numbering on the first session of this identity,
    /// drops the batches the server already has, and returns the rest in order, with how many
    /// batches and records were dropped.
    func resume(serverCommitted committed: UInt64) throws(OutboxError) -> (batches: [OutgoingBatch], dropped: (batches: Int, records: Int)) {
        try memory.withLock { (m) throws(OutboxError) in
            try sealOpen(&m)
            if !m.persisted.synced {
                // A new outbox for a publisher id that published before: number after the server.
                let first = m.pendingBatches.first?.sequence ?? m.nextSequence
                m.persisted.sequenceOffset = max(m.persisted.sequenceOffset, Int64(committed) + 1 - Int64(first))
                m.persisted.synced = true
                try save(&m)
            } else if committed > m.wire(m.nextSequence - 1) {
                throw OutboxError(
                    "the server has committed batch \(committed) of publisher \"\(publisherID)\", but this outbox has sealed only up to "
                        + "\(m.wire(m.nextSequence - 1)): another outbox publishes as \"\(publisherID)\", or this one is an old copy; "
                        + "publish with another publisher id")
            }
            var dropped = (batches: 0, records: 0)
            var through: UInt64?
            for b in m.pendingBatches where m.wire(b.sequence) <= committed {
                dropped.batches += 1
                dropped.records += b.recordCount
                through = m.wire(b.sequence)
            }
            if let through { try acknowledge(&m, through: through, saveNow: true) }
            return (m.pendingBatches.map { OutgoingBatch(batch: $0, sequence: m.wire($0.sequence)) }, dropped)
        }
    }

    /// Marks every batch up to wire sequence `sequence` acknowledged; deletes segments that no
    /// longer hold anything (after saving the state that frees them).
    func acknowledge(through sequence: UInt64) throws(OutboxError) {
        try memory.withLock { (m) throws(OutboxError) in try acknowledge(&m, through: sequence, saveNow: false) }
    }

    /// Saves acknowledgements not yet on disk.
    func flush() throws(OutboxError) {
        try memory.withLock { (m) throws(OutboxError) in if m.dirty { try save(&m) } }
    }

    /// The request bytes of a batch: a `PublishRecordsRequest` whose `batch` holds the wire
    /// sequence and the record frames exactly as the segment stores them.
    func requestBytes(_ outgoing: OutgoingBatch) throws(OutboxError) -> [UInt8] {
        let b = outgoing.batch
        let recordsLength = b.end - b.start
        let batchLength = 1 + varintSize(outgoing.sequence) + recordsLength
        let prefix = 1 + varintSize(UInt64(batchLength)) + 1 + varintSize(outgoing.sequence)
        return try memory.withLock { (m) throws(OutboxError) in
            try read(m, segment: b.segment, start: b.start, end: b.end, prefix: prefix) { header in
                var p = 0
                func put(_ byte: UInt8) {
                    header[p] = byte
                    p += 1
                }
                func putVarint(_ value: UInt64) {
                    var v = value
                    while v >= 0x80 {
                        put(UInt8(truncatingIfNeeded: v) | 0x80)
                        v >>= 7
                    }
                    put(UInt8(truncatingIfNeeded: v))
                }
                put(0x12)  // PublishRecordsRequest.batch
                putVarint(UInt64(batchLength))
                put(0x08)  // RecordBatch.sequence
                putVarint(outgoing.sequence)
            }
        }
    }

    private func acknowledge(_ m: inout OutboxMemory, through wire: UInt64, saveNow: Bool) throws(OutboxError) {
        let local = UInt64(max(0, Int64(wire) - m.persisted.sequenceOffset))
        while m.head < m.batches.count && m.batches[m.head].sequence <= local {
            m.pendingRecords -= m.batches[m.head].recordCount
            m.head += 1
        }
        if m.head > 1024 && m.head * 2 > m.batches.count {
            m.batches.removeFirst(m.head)
            m.head = 0
        }
        if local > m.persisted.acknowledged {
            m.persisted.acknowledged = local
            m.dirty = true
        }
        let removable = m.removableSegments()
        if saveNow || !removable.isEmpty || (m.dirty && ContinuousClock.now - m.lastSave >= Self.saveInterval) {
            try save(&m)
            try m.removeSegments(removable, directory: directory)
        }
    }

    private func save(_ m: inout OutboxMemory) throws(OutboxError) {
        try m.persisted.save(directory: directory)
        m.dirty = false
        m.lastSave = .now
    }

    private func varintSize(_ v: UInt64) -> Int { (64 - (v | 1).leadingZeroBitCount + 6) / 7 }
}
