import Gen
import Synchronization
import WeftRPC

/// What the response side tells the request side of a session.
enum SessionEvent: Sendable {
    /// The session is accepted; send these batches.
    case begin([OutgoingBatch])
    /// One batch is acknowledged; one more may be sent.
    case acknowledged
}

/// An outbox failure of the request side, for the response side to report.
final class FailureBox: Sendable {
    let value = Mutex<OutboxError?>(nil)
}

extension AccountingPublisher {
    /// One PublishRecords session: returns once every batch it sends is acknowledged, throws when
    /// the stream fails (the caller decides whether to retry).
    func session(_ run: PublishRun, progress: @Sendable (PublishProgress) -> Void) async throws {
        let (events, sink) = AsyncStream<SessionEvent>.makeStream()
        defer { sink.finish() }
        let producerFailure = FailureBox()
        let outbox = self.outbox
        let window = maxInFlightBatches
        var start = Weft_Accounting_V1_PublishRecordsRequest()
        start.start = .with {
            $0.publisherId = outbox.publisherID
            $0.site = outbox.site
        }
        let startRequest = EncodedPublishRequest(start)
        try await client.rpc.bidirectionalStreaming(
            Weft_Accounting_V1_AccountingService.Method.publishRecords, options: callOptions,
            requests: { (writer: RPCWriter<EncodedPublishRequest>) in
                try await writer.write(startRequest)
                var it = events.makeAsyncIterator()
                guard case .begin(let batches)? = await it.next() else { return }
                var credits = window
                for batch in batches {
                    while credits == 0 {
                        guard let event = await it.next() else { return }
                        if case .acknowledged = event { credits += 1 }
                    }
                    let bytes: [UInt8]
                    do throws(OutboxError) { bytes = try outbox.requestBytes(batch) } catch {
                        // Half-close instead of failing: the server acknowledges what it has,
                        // the response side then reports this error.
                        producerFailure.value.withLock { $0 = error }
                        return
                    }
                    try await writer.write(EncodedPublishRequest(bytes: bytes))
                    credits -= 1
                }
            },
            responses: { (stream: ClientResponseStream<Weft_Accounting_V1_PublishRecordsResponse>) in
                var outgoing: [OutgoingBatch]?
                var next = 0
                for try await response in stream {
                    switch response.message {
                    case .accepted(let accepted)?:
                        guard outgoing == nil else {
                            throw PublishError(kind: .protocolViolation, message: "the server accepted the session twice")
                        }
                        let resumed = try outbox.resume(serverCommitted: accepted.lastCommittedSequence)
                        // Batches committed before this session are done; records sealed since the run began join it.
                        run.progress.acknowledgedBatches += resumed.dropped.batches
                        run.progress.acknowledgedRecords += resumed.dropped.records
                        run.progress.totalBatches = run.progress.acknowledgedBatches + resumed.batches.count
                        run.progress.totalRecords = run.progress.acknowledgedRecords + resumed.batches.reduce(0) { $0 + $1.batch.recordCount }
                        run.summary.batches += resumed.dropped.batches
                        run.summary.duplicateBatches += resumed.dropped.batches
                        run.summary.duplicateRecords += resumed.dropped.records
                        outgoing = resumed.batches
                        sink.yield(.begin(resumed.batches))
                        if resumed.dropped.batches > 0 { progress(run.progress) }
                    case .ack(let ack)?:
                        guard let batches = outgoing, next < batches.count, ack.sequence == batches[next].sequence else {
                            throw PublishError(
                                kind: .protocolViolation,
                                message: "the server acknowledged batch \(ack.sequence), expected \(outgoing.flatMap { next < $0.count ? "\($0[next].sequence)" : nil } ?? "none")")
                        }
                        try outbox.acknowledge(through: ack.sequence)
                        record(ack, records: batches[next].batch.recordCount, run)
                        next += 1
                        sink.yield(.acknowledged)
                        progress(run.progress)
                    case nil:
                        continue
                    }
                }
                if let failure = producerFailure.value.withLock({ $0 }) { throw failure }
                guard let batches = outgoing else {
                    throw RPCError(code: .unavailable, message: "the server ended the session without accepting it")
                }
                guard next == batches.count else {
                    throw RPCError(code: .unavailable, message: "the server ended the session after \(next) of \(batches.count) acknowledgements")
                }
            })
    }

    /// Counts an acknowledgement and reports its rejections.
    func record(_ ack: Weft_Accounting_V1_BatchAck, records: Int, _ run: PublishRun) {
        run.progress.acknowledgedBatches += 1
        run.progress.acknowledgedRecords += records
        run.summary.batches += 1
        if ack.duplicate {
            run.summary.duplicateBatches += 1
            run.summary.duplicateRecords += records
            return
        }
        run.summary.acceptedRecords += Int(ack.acceptedCount)
        guard !ack.rejections.isEmpty else { return }
        run.progress.rejectedRecords += ack.rejections.count
        for r in ack.rejections { run.summary.rejections.append(RejectedRecord(sequence: ack.sequence, rejection: r)) }
        logger.warning("the server rejected records", metadata: [
            "publisher": "\(outbox.publisherID)", "batch": "\(ack.sequence)", "rejected": "\(ack.rejections.count)",
            "first": "\(RejectedRecord(sequence: ack.sequence, rejection: ack.rejections[0]))",
        ])
    }
}
