import Gen
import GRDB
import WeftRPC

/// How each summary kind maps onto its table: which columns a group-by key reads, which totals
/// are summed, and the per-benchmark or per-model breakdown that fills a row's maps.
struct SummaryTable {
    /// Table name (aliased `s` in every query).
    let table: String
    /// Totals, in the order ``row(kind:…)`` reads them; the last is COUNT(*).
    let totals: String
    /// Breakdown: FROM clause, key expression and totals; nil for kinds without maps.
    let breakdown: (from: String, key: String, totals: String)?

    static func forKind(_ kind: Weft_Accounting_V1_SummaryKind) throws -> SummaryTable {
        switch kind {
        case .unspecified, .job:
            return SummaryTable(
                table: "job_summaries",
                totals: "SUM(s.jobs), SUM(s.wall), SUM(s.cpu), SUM(s.core_seconds), MIN(s.earliest_end), MAX(s.latest_end), MAX(s.update_time), COUNT(*)",
                breakdown: ("job_summaries s JOIN job_normalised n ON n.summary_id = s.id", "n.benchmark_type", "SUM(n.wall), SUM(n.cpu)"))
        case .cloud:
            return SummaryTable(
                table: "cloud_usage",
                totals: """
                    SUM(s.vms), SUM(s.wall), SUM(s.cpu), SUM(s.cpu_count), SUM(s.memory_mb), SUM(s.disk_gb), SUM(s.net_in), SUM(s.net_out),
                    MAX(s.update_time), COUNT(*)
                    """,
                breakdown: nil)
        case .storage:
            return SummaryTable(
                table: "storage_usage", totals: "SUM(s.used), SUM(s.logical), SUM(s.allocated), SUM(s.files), MAX(s.update_time), COUNT(*)",
                breakdown: nil)
        case .accelerator:
            return SummaryTable(
                table: "accelerator_usage", totals: "SUM(s.available), SUM(s.active), MAX(s.update_time), COUNT(*)",
                breakdown: ("accelerator_usage s", "s.model", "SUM(s.active), 0"))
        case .UNRECOGNIZED(let v):
            throw RPCError(code: .invalidArgument, message: "Unknown summary kind \(v)")
        }
    }

    /// The usage of one result row, read from the totals starting at column `at`; nil when the
    /// group is empty.
    static func usage(kind: Weft_Accounting_V1_SummaryKind, row: Row, at i: Int) -> (Weft_Accounting_V1_SummaryRow.OneOf_Usage, Int64)? {
        func int(_ k: Int) -> Int64 { (row[i + k] as Int64?) ?? 0 }
        func real(_ k: Int) -> Double { (row[i + k] as Double?) ?? 0 }
        switch kind {
        case .cloud:
            guard int(9) > 0 else { return nil }
            var u = Weft_Accounting_V1_CloudUsage()
            u.numberOfVms = int(0)
            u.wallDuration = .ofSeconds(int(1))
            u.cpuDuration = .ofSeconds(int(2))
            u.cpuCount = real(3)
            u.memoryMb = int(4)
            u.diskGb = int(5)
            u.networkInbound = int(6)
            u.networkOutbound = int(7)
            return (.cloud(u), int(8))
        case .storage:
            guard int(5) > 0 else { return nil }
            var u = Weft_Accounting_V1_StorageUsage()
            u.resourceCapacityUsed = int(0)
            u.logicalCapacityUsed = int(1)
            u.resourceCapacityAllocated = int(2)
            u.fileCount = int(3)
            return (.storage(u), int(4))
        case .accelerator:
            guard int(3) > 0 else { return nil }
            var u = Weft_Accounting_V1_AcceleratorUsage()
            u.availableDeviceSeconds = real(0)
            u.activeDeviceSeconds = real(1)
            return (.accelerator(u), int(2))
        default:
            guard int(7) > 0 else { return nil }
            var u = Weft_Accounting_V1_JobUsage()
            u.numberOfJobs = int(0)
            u.wallDuration = .ofSeconds(int(1))
            u.cpuDuration = .ofSeconds(int(2))
            u.coreSeconds = int(3)
            u.earliestEndTime = .ofSeconds(int(4))
            u.latestEndTime = .ofSeconds(int(5))
            return (.job(u), int(6))
        }
    }

    /// Adds one breakdown entry (benchmark type or model) to a row's usage.
    static func addBreakdown(_ usage: inout Weft_Accounting_V1_SummaryRow.OneOf_Usage?, key: String, first: Double, second: Double) {
        switch usage {
        case .job(var u)?:
            u.normalisedWallDurations[key, default: 0] += Int64(first.rounded())
            u.normalisedCpuDurations[key, default: 0] += Int64(second.rounded())
            usage = .job(u)
        case .accelerator(var u)?:
            u.activeDeviceSecondsByModel[key, default: 0] += first
            usage = .accelerator(u)
        default:
            break
        }
    }
}

extension Google_Protobuf_Duration {
    static func ofSeconds(_ s: Int64) -> Google_Protobuf_Duration {
        var d = Google_Protobuf_Duration()
        d.seconds = s
        return d
    }
}

extension Google_Protobuf_Timestamp {
    static func ofSeconds(_ s: Int64) -> Google_Protobuf_Timestamp {
        var t = Google_Protobuf_Timestamp()
        t.seconds = s
        return t
    }

    static func ofNanos(_ n: Int64) -> Google_Protobuf_Timestamp {
        var t = Google_Protobuf_Timestamp()
        let s = n >= 0 ? n / 1_000_000_000 : (n - 999_999_999) / 1_000_000_000
        t.seconds = s
        t.nanos = Int32(n - s * 1_000_000_000)
        return t
    }
}
