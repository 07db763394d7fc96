import Foundation
import Gen

extension AccountingOutbox {
    /// Rebuilds the in-memory index from the segment files: sealed batches from their seal
    /// frames, the open batch from the records after the last seal. A torn tail (a write a crash
    /// interrupted; `append` had not returned) is cut off; so are open records that do not decode.
    static func recover(directory: String, state: PersistedState) throws(OutboxError) -> OutboxMemory {
        var m = OutboxMemory(persisted: state)
        let ids = try OutboxFiles.list(directory).compactMap(Segment.id(ofName:)).sorted()
        var highestSeal: UInt64 = 0
        /// Open records left at the end of a segment that is not the last (not written by this
        /// code, which rotates only after a seal; sealed below so that nothing is lost).
        var strays: [(segment: Int, start: Int, end: Int, count: Int)] = []
        for (index, id) in ids.enumerated() {
            let path = directory + "/" + Segment.name(id)
            let fd = try OutboxFiles.open(path, create: false)
            m.segments.append(Segment(id: id, path: path, fd: fd, size: 0))
            let bytes = try OutboxFiles.readAll(fd, path: path)
            let frames = SegmentFormat.scan(bytes).frames
            var batchStart = 0
            var count = 0
            for frame in frames {
                switch frame {
                case .record:
                    count += 1
                case .seal(let start, let end, let sequence):
                    if sequence > state.acknowledged {
                        m.batches.append(SealedBatch(sequence: sequence, segment: id, start: batchStart, end: start, recordCount: count))
                    }
                    highestSeal = max(highestSeal, sequence)
                    batchStart = end
                    count = 0
                }
            }
            // The open tail: keep the records that decode, up to the first that does not.
            var validEnd = batchStart
            var open = 0
            var openBytes = 0
            for case .record(let start, let end) in frames where start >= batchStart {
                guard let (_, body) = SegmentFormat.varint(bytes, at: start + 1),
                      (try? Weft_Accounting_V1_UsageRecord(serializedBytes: bytes[body..<end])) != nil else { break }
                validEnd = end
                open += 1
                openBytes += end - start
            }
            if validEnd < bytes.count {
                try OutboxFiles.truncate(fd, to: validEnd, path: path)
                try OutboxFiles.sync(fd, path: path)
            }
            m.segments[m.segments.count - 1].size = validEnd
            if index == ids.count - 1 {
                m.openStart = batchStart
                m.openCount = open
                m.openBytes = openBytes
            } else if open > 0 {
                strays.append((id, batchStart, validEnd, open))
            }
        }
        m.nextSequence = max(highestSeal, state.acknowledged) + 1
        m.nextSegmentID = (ids.last ?? 0) + 1
        for stray in strays {
            guard let i = m.segments.firstIndex(where: { $0.id == stray.segment }) else { continue }
            let frame = SegmentFormat.seal(m.nextSequence)
            try OutboxFiles.write(m.segments[i].fd, frame, at: stray.end, path: m.segments[i].path)
            try OutboxFiles.sync(m.segments[i].fd, path: m.segments[i].path)
            m.segments[i].size = stray.end + frame.count
            m.batches.append(SealedBatch(sequence: m.nextSequence, segment: stray.segment, start: stray.start, end: stray.end, recordCount: stray.count))
            m.nextSequence += 1
        }
        m.batches.sort { $0.sequence < $1.sequence }
        m.pendingRecords = m.batches.reduce(m.openCount) { $0 + $1.recordCount }
        // Segments whose batches were all acknowledged before a crash kept them from being deleted.
        try m.removeSegments(m.removableSegments(), directory: directory)
        return m
    }
}

extension OutboxMemory {
    /// Segments holding no unacknowledged batch and not the open one.
    func removableSegments() -> [Int] {
        guard let first = segments.first else { return [] }
        // Batches are in segment order, so usually only the first segments can become free.
        if let head = pendingBatches.first, head.segment == first.id { return [] }
        let referenced = Set(pendingBatches.map(\.segment))
        let last = segments[segments.count - 1].id
        return segments.map(\.id).filter { !referenced.contains($0) && !($0 == last && openCount > 0) }
    }

    /// Closes and deletes segment files (only after the acknowledgements that free them are saved).
    mutating func removeSegments(_ ids: [Int], directory: String) throws(OutboxError) {
        guard !ids.isEmpty else { return }
        for id in ids {
            guard let i = segments.firstIndex(where: { $0.id == id }) else { continue }
            close(segments[i].fd)
            if unlink(segments[i].path) != 0 && errno != ENOENT { throw .posix("cannot delete", segments[i].path) }
            segments.remove(at: i)
        }
        if segments.isEmpty {
            openStart = 0
            openCount = 0
            openBytes = 0
        }
        try OutboxFiles.syncDirectory(directory)
    }
}
