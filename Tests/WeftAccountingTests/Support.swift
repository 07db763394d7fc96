import Foundation
import Gen
import Testing
import WeftAccounting
import WeftRPC

/// An accounting service on a fresh store in a temporary directory, with a client over the
/// in-process transport (real codecs and routing, no sockets).
struct Stack {
    let dir: String
    let store: AccountingStore
    let service: AccountingService
    let client: Weft_Accounting_V1_AccountingService.Client

    init(dir: String = NSTemporaryDirectory() + "weft-accounting-\(UUID().uuidString)",
         mayPublish: @escaping @Sendable (String, ServerContext) -> Bool = { _, _ in true }) throws {
        self.dir = dir
        store = try AccountingStore(path: dir + "/accounting.sqlite")
        service = AccountingService(store: store, mayPublish: mayPublish)
        client = .init(transport: InProcessTransport(server: RPCServer(services: [service])))
    }

    /// Publishes `batches` in one session; returns the responses and the error the stream ended with.
    func publish(publisher: String = "pub-1", site: String = "SITE-A", _ batches: [Weft_Accounting_V1_RecordBatch],
                 sendStart: Bool = true) async throws -> (responses: [Weft_Accounting_V1_PublishRecordsResponse], error: RPCError?) {
        try await client.publishRecords(requests: { w in
            if sendStart { try await w.write(Records.start(publisher, site)) }
            for b in batches {
                var m = Weft_Accounting_V1_PublishRecordsRequest()
                m.batch = b
                try await w.write(m)
            }
        }, responses: { stream in
            var out: [Weft_Accounting_V1_PublishRecordsResponse] = []
            do {
                for try await r in stream { out.append(r) }
                return (out, nil)
            } catch let e as RPCError {
                return (out, e)
            }
        })
    }

    /// The acks of a session that must succeed.
    func acks(publisher: String = "pub-1", site: String = "SITE-A", _ batches: [Weft_Accounting_V1_RecordBatch]) async throws -> [Weft_Accounting_V1_BatchAck] {
        let (responses, error) = try await publish(publisher: publisher, site: site, batches)
        #expect(error == nil, "\(String(describing: error))")
        return responses.compactMap { if case .ack(let a)? = $0.message { a } else { nil } }
    }

    func query(_ kind: Weft_Accounting_V1_SummaryKind = .job, groupBy: [Weft_Accounting_V1_GroupByKey],
               filter: Weft_Accounting_V1_SummaryFilter = .init(), pageSize: Int32 = 0, token: String = "") async throws
        -> Weft_Accounting_V1_QuerySummariesResponse
    {
        var r = Weft_Accounting_V1_QuerySummariesRequest()
        r.kind = kind
        r.groupBy = groupBy
        r.filter = filter
        r.pageSize = pageSize
        r.pageToken = token
        return try await client.querySummaries(r)
    }
}

/// Builders of records and messages.
enum Records {
    /// Mid-month instants of 2026 (UTC).
    static let aug15: Int64 = 1_786_752_000
    static let sep15: Int64 = 1_789_430_400
    static let oct15: Int64 = 1_792_022_400
    static let nov15: Int64 = 1_794_700_800

    static func start(_ publisher: String, _ site: String) -> Weft_Accounting_V1_PublishRecordsRequest {
        var s = Weft_Accounting_V1_PublishStart()
        s.publisherId = publisher
        s.site = site
        var m = Weft_Accounting_V1_PublishRecordsRequest()
        m.start = s
        return m
    }

    static func batch(_ sequence: UInt64, _ records: [Weft_Accounting_V1_UsageRecord]) -> Weft_Accounting_V1_RecordBatch {
        var b = Weft_Accounting_V1_RecordBatch()
        b.sequence = sequence
        b.records = records
        return b
    }

    static func duration(_ s: Int64) -> Google_Protobuf_Duration {
        var d = Google_Protobuf_Duration()
        d.seconds = s
        return d
    }

    static func time(_ s: Int64) -> Google_Protobuf_Timestamp {
        var t = Google_Protobuf_Timestamp()
        t.seconds = s
        return t
    }

    /// A valid job record.
    static func job(_ id: String, site: String = "SITE-A", fqan: String = "/atlas/Role=production", user: String = "/CN=alice",
                    submitHost: String = "ce1.example.org", wall: Int64 = 3600, cpu: Int64 = 3000, processors: Int32 = 4,
                    end: Int64 = sep15, levels: [String: Double] = ["HEPSPEC": 10]) -> Weft_Accounting_V1_UsageRecord {
        var j = Weft_Accounting_V1_JobRecord()
        j.site = site
        j.localJobId = id
        j.fqan = fqan
        j.globalUserName = user
        j.submitHost = submitHost
        j.wallDuration = duration(wall)
        j.cpuDuration = duration(cpu)
        j.processors = processors
        j.nodeCount = 1
        j.startTime = time(end - wall)
        j.endTime = time(end)
        j.infrastructureType = "grid"
        j.serviceLevels = levels
        var r = Weft_Accounting_V1_UsageRecord()
        r.job = j
        return r
    }

    /// A valid summary record (v0.2) for September 2026.
    static func summary(site: String = "SITE-A", vo: String = "cms", jobs: Int64, wall: Int64, cpu: Int64) -> Weft_Accounting_V1_UsageRecord {
        var s = Weft_Accounting_V1_SummaryRecord()
        s.site = site
        s.year = 2026
        s.month = 9
        s.vo = vo
        s.voGroup = "/\(vo)"
        s.globalUserName = "/CN=carol"
        s.submitHost = "ce2.example.org"
        s.infrastructureType = "grid"
        s.serviceLevels = ["HEPSPEC": 8]
        s.nodeCount = 1
        s.processors = 2
        s.earliestEndTime = time(sep15 - 86400)
        s.latestEndTime = time(sep15 + 86400)
        s.wallDuration = duration(wall)
        s.cpuDuration = duration(cpu)
        s.numberOfJobs = jobs
        var r = Weft_Accounting_V1_UsageRecord()
        r.summary = s
        return r
    }
}

/// Expects `body` to fail with `code`, and its message to contain every string of `containing`.
func expectRPCError(_ code: StatusCode, containing: [String] = [], _ error: RPCError?, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else {
        Issue.record("expected \(code), got no error", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    for s in containing { #expect(error.message.contains(s), "\(error.message) lacks \(s)", sourceLocation: sourceLocation) }
}
