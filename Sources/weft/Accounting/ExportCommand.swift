import ArgumentParser
import Foundation
import Gen
import WeftAPEL

/// APEL summary formats `export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case summary, summaryV02 = "summary-v0.2", normalisedSummary = "normalised-summary", normalisedSummaryV03 = "normalised-summary-v0.3"

    var apel: Weft_Accounting_V1_ApelFormat {
        switch self {
        case .summary: .summaryV04
        case .summaryV02: .summaryV02
        case .normalisedSummary: .normalisedSummaryV04
        case .normalisedSummaryV03: .normalisedSummaryV03
        }
    }
}

extension AccountingCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the job summaries of a range of months as APEL summary messages.",
            discussion: """
                Summaries are grouped as APEL's summary messages are, as far as QuerySummaries can group them: site, month, \
                user, VO, VO group, VO role, submit host, infrastructure and benchmark type (not node count and processors; \
                NodeCount and Processors are written as 0). Default months: the previous and the current one (UTC). \
                Messages of at most 1000 records go to stdout, or one file each into --out.
                """)
        @Option(help: "First month, YYYY-MM (default: the previous month).") var from: String?
        @Option(help: "Last month, YYYY-MM (default: the current month).") var to: String?
        @Option(help: "Only this site; repeatable.") var site: [String] = []
        @Option(help: "Message format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
        var format: ExportFormat = .normalisedSummary
        @Option(help: "Write one file per message into this directory instead of stdout.") var out: String?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if let from { _ = try Months.parse(from, option: "--from") }
            if let to { _ = try Months.parse(to, option: "--to") }
        }

        func run() async throws {
            let (previous, current) = Months.currentAndPrevious()
            let first = try from.map { try Months.parse($0, option: "--from") } ?? previous
            let last = try to.map { try Months.parse($0, option: "--to") } ?? current
            var request = Weft_Accounting_V1_QuerySummariesRequest()
            request.kind = .job
            request.filter.sites = site
            request.filter.startMonth = first
            request.filter.endMonth = last
            request.groupBy = [.site, .month, .user, .vo, .voGroup, .voRole, .submitHost, .infrastructure, .benchmarkType]
            request.pageSize = 1000
            var records: [Weft_Accounting_V1_UsageRecord] = []
            repeat {
                let page = try await withAccounting(client, "export") { try await $0.querySummaries(request, options: $1) }
                records += page.rows.compactMap { SummaryRecords.record($0, format: format) }
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
            let messages = APELWriter.write(records, format: format.apel, recordsPerMessage: 1000)
            if let out {
                do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                    throw OperationFailure("cannot create \(out): \(error.localizedDescription)")
                }
                let stem = "summaries-\(Months.text(first))-\(Months.text(last))"
                for (i, message) in messages.enumerated() {
                    let path = out + "/" + stem + String(format: "-%04d.apel", i + 1)
                    guard FileManager.default.createFile(atPath: path, contents: Data(message.utf8)) else { throw OperationFailure("cannot write \(path)") }
                }
            } else {
                for message in messages { emit(message) }
            }
            note("\(grouped(records.count)) summary records of \(Months.text(first)) to \(Months.text(last)) in \(messages.count) messages"
                 + (out.map { " in \($0)" } ?? ""))
        }
    }
}

/// Summary rows of QuerySummaries as APEL summary records.
enum SummaryRecords {
    static func record(_ row: Weft_Accounting_V1_SummaryRow, format: ExportFormat) -> Weft_Accounting_V1_UsageRecord? {
        guard case .job(let j)? = row.usage, j.numberOfJobs > 0 else { return nil }
        let k = row.key
        var record = Weft_Accounting_V1_UsageRecord()
        record.format = format.apel
        switch format {
        case .normalisedSummary, .normalisedSummaryV03:
            var s = Weft_Accounting_V1_NormalisedSummaryRecord()
            s.site = k.site
            s.year = k.year
            s.month = k.month
            s.globalUserName = k.user
            s.vo = k.vo
            s.voGroup = k.voGroup
            s.voRole = k.voRole
            s.submitHost = k.submitHost
            s.infrastructure = k.infrastructure
            if j.hasEarliestEndTime { s.earliestEndTime = j.earliestEndTime }
            if j.hasLatestEndTime { s.latestEndTime = j.latestEndTime }
            s.wallDuration = j.wallDuration
            s.cpuDuration = j.cpuDuration
            s.normalisedWallDurations = j.normalisedWallDurations
            s.normalisedCpuDurations = j.normalisedCpuDurations
            if format == .normalisedSummaryV03, let wall = j.normalisedWallDurations[k.benchmarkType] {
                // v0.3 carries one benchmark: the row's preferred one.
                s.normalisedWallDurations = [k.benchmarkType: wall]
                s.normalisedCpuDurations = [k.benchmarkType: j.normalisedCpuDurations[k.benchmarkType] ?? 0]
            }
            s.numberOfJobs = j.numberOfJobs
            record.normalisedSummary = s
        case .summary, .summaryV02:
            var s = Weft_Accounting_V1_SummaryRecord()
            s.site = k.site
            s.year = k.year
            s.month = k.month
            s.globalUserName = k.user
            s.vo = k.vo
            s.voGroup = k.voGroup
            s.voRole = k.voRole
            s.submitHost = k.submitHost
            s.infrastructureType = k.infrastructure
            // The per-core benchmark value, recovered as normalised wall / wall (exact when every
            // job of the row ran on nodes of the same value, a weighted mean otherwise).
            let wall = Double(j.wallDuration.seconds)
            var levels: [String: Double] = [:]
            for (type, normalised) in j.normalisedWallDurations where wall > 0 { levels[type] = (Double(normalised) / wall * 1000).rounded() / 1000 }
            if format == .summaryV02, let one = levels[k.benchmarkType] ?? levels.first?.value {
                levels = [levels[k.benchmarkType] != nil ? k.benchmarkType : (levels.first?.key ?? k.benchmarkType): one]
            }
            s.serviceLevels = levels
            if j.hasEarliestEndTime { s.earliestEndTime = j.earliestEndTime }
            if j.hasLatestEndTime { s.latestEndTime = j.latestEndTime }
            s.wallDuration = j.wallDuration
            s.cpuDuration = j.cpuDuration
            s.numberOfJobs = j.numberOfJobs
            record.summary = s
        }
        return record
    }
}
