import Foundation
import Gen

/// Summary rows as table columns.
enum SummaryOutput {
    /// Header of the key columns that `keys` produce, then the usage columns of `kind`.
    static func header(keys: [Weft_Accounting_V1_GroupByKey], kind: UsageKind) -> [String] {
        keyColumns(keys).map(\.0) + usageHeader(kind)
    }

    static func row(_ r: Weft_Accounting_V1_SummaryRow, keys: [Weft_Accounting_V1_GroupByKey], kind: UsageKind) -> [String] {
        keyColumns(keys).map { $0.1(r.key) } + usage(r)
    }

    private static func keyColumns(_ keys: [Weft_Accounting_V1_GroupByKey]) -> [(String, (Weft_Accounting_V1_SummaryKey) -> String)] {
        var seen = Set<Int32>()
        return keys.compactMap { key in
            guard seen.insert(key.rawValue).inserted else { return nil }
            switch key {
            case .site: return ("SITE", { dash($0.site) })
            case .year: return keys.contains(.month) ? nil : ("YEAR", { "\($0.year)" })
            case .month: return ("MONTH", { String(format: "%04d-%02d", $0.year, $0.month) })
            case .vo: return ("VO", { dash($0.vo) })
            case .voGroup: return ("VO GROUP", { dash($0.voGroup) })
            case .voRole: return ("VO ROLE", { dash($0.voRole) })
            case .user: return ("USER", { dash($0.user) })
            case .submitHost: return ("SUBMIT HOST", { dash($0.submitHost) })
            case .infrastructure: return ("INFRASTRUCTURE", { dash($0.infrastructure) })
            case .benchmarkType: return ("BENCHMARK", { dash($0.benchmarkType) })
            default: return nil
            }
        }
    }

    private static func usageHeader(_ kind: UsageKind) -> [String] {
        switch kind {
        case .job: ["JOBS", "WALL H", "CPU H", "CORE H", "NORMALISED WALL H"]
        case .cloud: ["VMS", "WALL H", "CPU H", "CPUS", "MEMORY MB", "DISK GB", "NET IN GB", "NET OUT GB"]
        case .storage: ["USED", "LOGICAL", "ALLOCATED", "FILES"]
        case .accelerator: ["AVAILABLE DEVICE H", "ACTIVE DEVICE H", "ACTIVE BY MODEL H"]
        }
    }

    private static func usage(_ r: Weft_Accounting_V1_SummaryRow) -> [String] {
        switch r.usage {
        case .job(let j)?:
            let normalised = j.normalisedWallDurations.sorted { $0.key < $1.key }.map { "\($0.key)=\(hours(Double($0.value)))" }
            return [grouped(Int(j.numberOfJobs)), hours(j.wallDuration), hours(j.cpuDuration), hours(Double(j.coreSeconds)),
                    normalised.isEmpty ? "-" : normalised.joined(separator: ",")]
        case .cloud(let c)?:
            return [grouped(Int(c.numberOfVms)), hours(c.wallDuration), hours(c.cpuDuration), String(format: "%g", c.cpuCount),
                    grouped(Int(c.memoryMb)), grouped(Int(c.diskGb)), grouped(Int(c.networkInbound)), grouped(Int(c.networkOutbound))]
        case .storage(let s)?:
            return [bytes(s.resourceCapacityUsed), bytes(s.logicalCapacityUsed), bytes(s.resourceCapacityAllocated), grouped(Int(s.fileCount))]
        case .accelerator(let a)?:
            let models = a.activeDeviceSecondsByModel.sorted { $0.key < $1.key }.map { "\($0.key)=\(hours($0.value))" }
            return [hours(a.availableDeviceSeconds), hours(a.activeDeviceSeconds), models.isEmpty ? "-" : models.joined(separator: ",")]
        case nil:
            return []
        }
    }

    static func dash(_ s: String) -> String { s.isEmpty ? "-" : s }

    static func hours(_ seconds: Double) -> String { String(format: "%.1f", seconds / 3600) }

    static func hours(_ d: Google_Protobuf_Duration) -> String { hours(Double(d.seconds) + Double(d.nanos) / 1e9) }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }
}
