import Foundation
import Gen
import Logging
import WeftAPEL
import WeftProtobuf
import WeftPodKit
import WeftRPC

/// The accounting service (`weft.accounting.v1.AccountingService`): takes usage records from
/// publishers over a resumable stream, stores them exactly once, keeps APEL's monthly summaries
/// up to date in the same transaction, and answers and streams summary queries.
public final class AccountingService: Weft_Accounting_V1_AccountingService.ServiceProtocol {
    /// The most records one batch may carry (accounting.proto).
    public static let maxBatchSize = 1000

    let store: AccountingStore
    let mayPublish: @Sendable (_ site: String, _ context: ServerContext) -> Bool
    let logger: Logger
    /// Summary groups changed by each commit, for watches.
    let changes = Broadcaster<SummaryChanges>(capacity: 4096)

    /// Creates the service over `store`. `mayPublish` decides whether the caller of a publishing
    /// session (its context carries what authentication found) may publish records of a site.
    public init(
        store: AccountingStore,
        mayPublish: @escaping @Sendable (_ site: String, _ context: ServerContext) -> Bool = { _, _ in true },
        logger: Logger = Logger(label: "weft.accounting")
    ) {
        self.store = store
        self.mayPublish = mayPublish
        self.logger = logger
    }

    /// Ends every watch (server shutdown).
    public func shutdown() { changes.finishAll() }

    /// Returns summaries matching a filter, grouped by the requested keys, one page at a time.
    public func querySummaries(request: Weft_Accounting_V1_QuerySummariesRequest, context: ServerContext) async throws
        -> Weft_Accounting_V1_QuerySummariesResponse
    {
        try await store.querySummaries(request)
    }

    /// Returns the publishing state of a publisher; NOT_FOUND if it never published.
    public func getPublisher(request: Weft_Accounting_V1_GetPublisherRequest, context: ServerContext) async throws
        -> Weft_Accounting_V1_GetPublisherResponse
    {
        guard !request.publisherId.isEmpty else { throw RPCError(code: .invalidArgument, message: "publisher_id is empty") }
        guard let p = try await store.publisher(id: request.publisherId) else {
            throw RPCError(code: .notFound, message: "No publisher \"\(request.publisherId)\" has opened a publishing session")
        }
        var r = Weft_Accounting_V1_GetPublisherResponse()
        r.publisherId = p.id
        r.site = p.site
        r.lastCommittedSequence = p.lastCommittedSequence
        if p.lastPublishTime > 0 { r.lastPublishTime = .ofNanos(p.lastPublishTime) }
        r.acceptedRecords = p.acceptedRecords
        r.rejectedRecords = p.rejectedRecords
        return r
    }

    /// Streams the job summaries of a range of months as APEL normalised summary records, 1000 a
    /// message (see ``AccountingStore/summaryRecords(from:to:)``).
    public func exportSummaries(
        request: Weft_Accounting_V1_ExportSummariesRequest, responses: RPCWriter<Weft_Accounting_V1_ExportSummariesResponse>, context: ServerContext
    ) async throws {
        guard request.hasStartMonth, request.hasEndMonth else {
            throw RPCError(code: .invalidArgument, message: "start_month and end_month are required")
        }
        for m in [request.startMonth, request.endMonth] where !(1...12).contains(m.month) {
            throw RPCError(code: .invalidArgument, message: "a month must be 1–12, not \(m.month)")
        }
        let from = YearMonth(year: Int(request.startMonth.year), month: Int(request.startMonth.month))
        let to = YearMonth(year: Int(request.endMonth.year), month: Int(request.endMonth.month))
        guard from <= to else { throw RPCError(code: .invalidArgument, message: "start_month \(from) is after end_month \(to)") }
        let sites = Set(request.sites)
        let records = try store.summaryRecords(from: from, to: to).filter { r in
            guard !sites.isEmpty, case .normalisedSummary(let s)? = r.record else { return true }
            return sites.contains(s.site)
        }
        var start = 0
        repeat {
            let end = min(records.count, start + 1000)
            try await responses.write(.with { $0.records = Array(records[start..<end]) })
            start = end
        } while start < records.count
    }

    /// The job summaries of months `from` through `to` as APEL normalised summary records, for
    /// export (see ``AccountingStore/summaryRecords(from:to:)``).
    public func summaryRecords(from: YearMonth, to: YearMonth) throws -> [Weft_Accounting_V1_UsageRecord] {
        try store.summaryRecords(from: from, to: to)
    }
}
