import Foundation
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
    /// order once durably committed. The next batch is decoded and validated while the previous
    /// one commits; acks still go out in batch order.
    public func publishRecords(
        requests: RPCAsyncSequence<Weft_Accounting_V1_PublishRecordsRequest>,
        responses: RPCWriter<Weft_Accounting_V1_PublishRecordsResponse>,
        context: ServerContext
    ) async throws {
        var messages = requests.makeAsyncIterator()
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

        var previous: UInt64?
        var benchmarks = BenchmarkMemo()
        var inFlight: Task<Weft_Accounting_V1_BatchAck, any Error>?
        do {
            while let message = try await messages.next() {
                guard case .batch(let batch)? = message.message else {
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
                let prepared = prepare(batch, start: start, knownDuplicate: batch.sequence <= committed, benchmarks: &benchmarks)
                if let inFlight { try await responses.write(Self.ackResponse(try await inFlight.value)) }
                inFlight = Task { try await self.commit(prepared) }
            }
            if let inFlight { try await responses.write(Self.ackResponse(try await inFlight.value)) }
        } catch {
            // Acknowledge what was committed before the stream fails, so the client need not resend it.
            if let inFlight, let ack = try? await inFlight.value { try? await responses.write(Self.ackResponse(ack)) }
            throw error
        }
    }

    static func ackResponse(_ ack: Weft_Accounting_V1_BatchAck) -> Weft_Accounting_V1_PublishRecordsResponse {
        var r = Weft_Accounting_V1_PublishRecordsResponse()
        r.ack = ack
        return r
    }

    /// Validates every record of `batch` (APEL's rules, and the session's site) and prepares the
    /// valid ones for the store.
    func prepare(_ batch: Weft_Accounting_V1_RecordBatch, start: Weft_Accounting_V1_PublishStart, knownDuplicate: Bool,
                 benchmarks: inout BenchmarkMemo) -> PreparedBatch {
        var prepared = PreparedBatch(
            commit: BatchCommit(publisherID: start.publisherId, site: start.site, sequence: batch.sequence, records: []),
            rejections: [], knownDuplicate: knownDuplicate)
        guard !knownDuplicate else { return prepared }
        let now = Date()
        prepared.commit.records.reserveCapacity(batch.records.count)
        for (index, original) in batch.records.enumerated() {
            var record = original
            let problems = RecordRules.validate(&record, now: now)
            if let problem = problems.first {
                let reason = problems.count == 1 ? problem.reason : problems.map(\.description).joined(separator: "; ")
                prepared.rejections.append(Self.rejection(index, field: problem.field, reason: reason))
                continue
            }
            let site = RecordRules.site(of: record)
            guard site == start.site else {
                prepared.rejections.append(Self.rejection(
                    index, field: "Site", reason: "The record is of site \"\(site)\" but this session publishes records of site \"\(start.site)\""))
                continue
            }
            guard let p = PreparedRecord(validated: record, benchmarks: &benchmarks) else {
                prepared.rejections.append(Self.rejection(index, field: "", reason: "The record is empty (no record kind is set)"))
                continue
            }
            prepared.commit.records.append(p)
        }
        prepared.commit.rejectedCount = prepared.rejections.count
        return prepared
    }

    static func rejection(_ index: Int, field: String, reason: String) -> Weft_Accounting_V1_RecordRejection {
        var r = Weft_Accounting_V1_RecordRejection()
        r.index = Int32(index)
        r.field = field
        r.reason = reason
        return r
    }

    /// Commits a prepared batch and tells watches what changed.
    func commit(_ batch: PreparedBatch) async throws -> Weft_Accounting_V1_BatchAck {
        let outcome = try await store.commit(batch.commit)
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
