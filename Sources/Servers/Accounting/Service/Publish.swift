import Foundation
import GRDB
import Gen
import WeftAPEL
import WeftRPC

extension AccountingService {
    /// A batch checked and prepared, waiting for its commit.
    struct PreparedBatch: Sendable {
        var commit: BatchCommit
        var rejections: [Weft_Accounting_V1_RecordRejection]
        /// Known from the start of the session to be committed already.
        var knownDuplicate: Bool
    }

    /// PublishRecords (see accounting.proto): `start`, `accepted`, then batches acknowledged in
    /// order once durably committed. One task receives and checks batches while another commits
    /// them, so the next batches are decoded and validated while the previous ones commit, and an
    /// ack goes out as soon as its batch is durable, whether or not more batches arrive.
    public func publishRecords(
        requests: RPCAsyncSequence<Weft_Accounting_V1_PublishRecordsRequest>,
        responses: RPCWriter<Weft_Accounting_V1_PublishRecordsResponse>,
        context: ServerContext
    ) async throws {
        let queue = CommitQueue<PreparedBatch>(capacity: Self.maxQueuedBatches)
        /// How a session's task ended: the receiver reports its error instead of throwing it, so
        /// that the committer still commits and acknowledges what was received before it.
        enum Ended: Sendable { case received, receiveFailed(any Error), committed }
        try await withThrowingTaskGroup(of: Ended.self) { group in
            // Decoding and checking records is most of a session's CPU: on the global executor,
            // not the connection's event loop, it runs beside the commits and the socket I/O.
            group.addTask(executorPreference: globalConcurrentExecutor) {
                do {
                    var messages = requests.makeAsyncIterator()
                    let (start, committed) = try await self.openSession(&messages, responses: responses, context: context)
                    try await self.receiveBatches(&messages, start: start, committed: committed, into: queue)
                    queue.finish()
                    return .received
                } catch {
                    queue.finish()
                    return .receiveFailed(error)
                }
            }
            group.addTask {
                do {
                    try await self.commitBatches(from: queue, responses: responses)
                    return .committed
                } catch {
                    queue.fail(error)
                    throw error
                }
            }
            var failure: (any Error)?
            while true {
                do {
                    guard let ended = try await group.next() else { break }
                    if case .receiveFailed(let error) = ended { failure = failure ?? error }
                } catch {
                    // The commit failed: stop receiving; the client resends what was not acknowledged.
                    failure = failure ?? error
                    group.cancelAll()
                }
            }
            if let failure { throw failure }
        }
    }

    /// Reads the `start` message, checks the caller may publish the site, and answers `accepted`
    /// with the publisher's last committed sequence.
    private func openSession(
        _ messages: inout RPCAsyncSequence<Weft_Accounting_V1_PublishRecordsRequest>.AsyncIterator,
        responses: RPCWriter<Weft_Accounting_V1_PublishRecordsResponse>, context: ServerContext
    ) async throws -> (Weft_Accounting_V1_PublishStart, UInt64) {
        guard let first = try await messages.next() else {
            throw RPCError(code: .invalidArgument, message: "PublishRecords must begin with a start message; the stream ended before one")
        }
        guard case .start(let start)? = first.message else {
            throw RPCError(code: .invalidArgument, message: "PublishRecords must begin with a start message (publisher id and site), not a batch")
        }
        guard !start.publisherId.isEmpty else { throw RPCError(code: .invalidArgument, message: "start.publisher_id is empty") }
        guard !start.site.isEmpty else { throw RPCError(code: .invalidArgument, message: "start.site is empty") }
        guard mayPublish(start.site, context) else {
            logger.notice("refused a publishing session", metadata: ["publisher": "\(start.publisherId)", "site": "\(start.site)", "peer": "\(context.peer)"])
            throw RPCError(code: .permissionDenied, message: "The caller may not publish records of site \"\(start.site)\"")
        }
        let committed: UInt64
        do {
            committed = try await store.openPublisher(id: start.publisherId, site: start.site)
        } catch let e as AccountingStore.PublisherSiteMismatch {
            throw RPCError(
                code: .failedPrecondition,
                message: "Publisher \"\(e.publisherID)\" publishes records of site \"\(e.registeredSite)\", not \"\(e.requestedSite)\"; use another publisher id")
        }
        var accepted = Weft_Accounting_V1_PublishAccepted()
        accepted.publisherId = start.publisherId
        accepted.lastCommittedSequence = committed
        var response = Weft_Accounting_V1_PublishRecordsResponse()
        response.accepted = accepted
        try await responses.write(response)
        logger.debug("publishing session open", metadata: ["publisher": "\(start.publisherId)", "site": "\(start.site)", "committed": "\(committed)"])
        return (start, committed)
    }

    /// Batches prepared and waiting for the committer, at most; more wait in HTTP/2 flow control.
    static let maxQueuedBatches = 8

    /// Reads, checks and prepares the session's batches and queues them for the committer.
    private func receiveBatches(
        _ messages: inout RPCAsyncSequence<Weft_Accounting_V1_PublishRecordsRequest>.AsyncIterator,
        start: Weft_Accounting_V1_PublishStart, committed: UInt64, into queue: CommitQueue<PreparedBatch>
    ) async throws {
        var previous: UInt64?
        var benchmarks = BenchmarkMemo()
        while var message = try await messages.next() {
            // Taken out of the message, so the batch's records are validated in place, not copied.
            guard case .batch(var batch)? = message.message.take() else {
                throw RPCError(code: .invalidArgument, message: "start may be sent only once, as the first message")
            }
            if let previous, batch.sequence <= previous {
                throw RPCError(code: .invalidArgument, message: "Batch sequence \(batch.sequence) is not above the previous batch's \(previous)")
            }
            previous = batch.sequence
            guard batch.records.count <= Self.maxBatchSize else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "Batch \(batch.sequence) has \(batch.records.count) records; a batch may have at most \(Self.maxBatchSize)")
            }
            try await queue.push(prepare(&batch, start: start, knownDuplicate: batch.sequence <= committed, benchmarks: &benchmarks))
        }
    }

    /// Commits what is queued, everything that piled up during the previous commit in one
    /// transaction, and acknowledges each batch in order as soon as its commit is durable.
    private func commitBatches(from queue: CommitQueue<PreparedBatch>, responses: RPCWriter<Weft_Accounting_V1_PublishRecordsResponse>) async throws {
        while true {
            let batches = await queue.takeAll()
            if batches.isEmpty { return }
            let acks: [Weft_Accounting_V1_BatchAck]
            do {
                acks = try await commit(batches)
            } catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED {
                // Another process holds the store (a second server on the same data directory?).
                throw RPCError(code: .unavailable, message: "The accounting store is busy: \(e.message ?? "\(e.resultCode)"); retry later")
            }
            for ack in acks { try await responses.write(Self.ackResponse(ack)) }
        }
    }

    static func ackResponse(_ ack: Weft_Accounting_V1_BatchAck) -> Weft_Accounting_V1_PublishRecordsResponse {
        var r = Weft_Accounting_V1_PublishRecordsResponse()
        r.ack = ack
        return r
    }

    /// Validates every record of `batch` (APEL's rules, and the session's site) and prepares the
    /// valid ones for the store. The records are validated in place (APEL's derived values are
    /// filled in), so `batch` is changed.
    func prepare(_ batch: inout Weft_Accounting_V1_RecordBatch, start: Weft_Accounting_V1_PublishStart, knownDuplicate: Bool,
                 benchmarks: inout BenchmarkMemo) -> PreparedBatch {
        var records: [PreparedRecord] = []
        var rejections: [Weft_Accounting_V1_RecordRejection] = []
        if !knownDuplicate {
            let now = Date()
            records.reserveCapacity(batch.records.count)
            for index in batch.records.indices {
                // Nearly every record is a job: taken out of the batch (dropped after this) and
                // checked and prepared in place. Moved, never copied: other kinds go back.
                switch batch.records[index].record.take() {
                case .job(var job)?:
                    let problems = RecordRules.validate(job: &job, now: now)
                    if !problems.isEmpty {
                        rejections.append(Self.rejection(index, problems))
                    } else if job.site != start.site {
                        rejections.append(Self.rejection(index, site: job.site, session: start.site))
                    } else {
                        records.append(PreparedRecord(validatedJob: job, benchmarks: &benchmarks))
                    }
                    continue
                case let other:
                    batch.records[index].record = other
                }
                let problems = RecordRules.validate(&batch.records[index], now: now)
                if !problems.isEmpty {
                    rejections.append(Self.rejection(index, problems))
                    continue
                }
                let site = RecordRules.site(of: batch.records[index])
                guard site == start.site else {
                    rejections.append(Self.rejection(index, site: site, session: start.site))
                    continue
                }
                guard let p = PreparedRecord(validated: batch.records[index], benchmarks: &benchmarks) else {
                    rejections.append(Self.rejection(index, field: "", reason: "The record is empty (no record kind is set)"))
                    continue
                }
                records.append(p)
            }
        }
        let commit = BatchCommit(
            publisherID: start.publisherId, site: start.site, sequence: batch.sequence, records: records, rejectedCount: rejections.count)
        return PreparedBatch(commit: commit, rejections: rejections, knownDuplicate: knownDuplicate)
    }

    /// The rejection of record `index` for `problems` (not empty): the first one's field, and
    /// every reason when there are several.
    static func rejection(_ index: Int, _ problems: [RecordProblem]) -> Weft_Accounting_V1_RecordRejection {
        let first = problems[0]
        return rejection(index, field: first.field, reason: problems.count == 1 ? first.reason : problems.map(\.description).joined(separator: "; "))
    }

    static func rejection(_ index: Int, site: String, session: String) -> Weft_Accounting_V1_RecordRejection {
        rejection(index, field: "Site", reason: "The record is of site \"\(site)\" but this session publishes records of site \"\(session)\"")
    }

    static func rejection(_ index: Int, field: String, reason: String) -> Weft_Accounting_V1_RecordRejection {
        var r = Weft_Accounting_V1_RecordRejection()
        r.index = Int32(index)
        r.field = field
        r.reason = reason
        return r
    }

    /// Commits prepared batches in one transaction and tells watches what changed.
    func commit(_ batches: [PreparedBatch]) async throws -> [Weft_Accounting_V1_BatchAck] {
        let outcomes = try await store.commit(batches.map(\.commit))
        return zip(batches, outcomes).map { batch, outcome in
            if !outcome.changes.isEmpty { changes.publish(outcome.changes) }
            var ack = Weft_Accounting_V1_BatchAck()
            ack.sequence = batch.commit.sequence
            ack.duplicate = outcome.duplicate
            ack.commitTime = .ofNanos(outcome.commitTime)
            if !outcome.duplicate {
                ack.acceptedCount = Int32(outcome.acceptedCount)
                ack.rejections = batch.rejections
            }
            return ack
        }
    }
}
