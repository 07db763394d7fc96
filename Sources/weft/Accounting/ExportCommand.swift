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
                Summaries are grouped exactly as APEL's repository takes them (site, month, user, VO, VO group, VO role, \
                submit host, infrastructure, node count, processors, benchmark type). Default months: the previous and the current one (UTC). \
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
            var request = Weft_Accounting_V1_ExportSummariesRequest()
            request.sites = site
            request.startMonth = first
            request.endMonth = last
            let exported: [Weft_Accounting_V1_UsageRecord] = try await withAccounting(client, "export") { accounting, options in
                try await accounting.exportSummaries(request, options: options) { stream in
                    var all: [Weft_Accounting_V1_UsageRecord] = []
                    for try await page in stream { all += page.records }
                    return all
                }
            }
            let records = exported.compactMap { SummaryRecords.record($0, format: format) }
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

/// The server's normalised summary records (APEL's repository grouping) in the chosen format.
enum SummaryRecords {
    static func record(_ exported: Weft_Accounting_V1_UsageRecord, format: ExportFormat) -> Weft_Accounting_V1_UsageRecord? {
        guard case .normalisedSummary(let n)? = exported.record, n.numberOfJobs > 0 else { return nil }
        var record = Weft_Accounting_V1_UsageRecord()
        record.format = format.apel
        switch format {
        case .normalisedSummary, .normalisedSummaryV03:
            // v0.3 carries one benchmark; the writer keeps the preferred one.
            record.normalisedSummary = n
        case .summary, .summaryV02:
            var s = Weft_Accounting_V1_SummaryRecord()
            s.site = n.site
            s.year = n.year
            s.month = n.month
            s.globalUserName = n.globalUserName
            s.vo = n.vo
            s.voGroup = n.voGroup
            s.voRole = n.voRole
            s.submitHost = n.submitHost
            s.infrastructureType = n.infrastructure
            s.infrastructureDescription = n.infrastructureDescription
            s.nodeCount = n.nodeCount
            s.processors = n.processors
            // The per-core benchmark value, recovered as normalised wall / wall: exact when every
            // job of the row ran on nodes of one value, a wall-weighted mean otherwise.
            let wall = Double(n.wallDuration.seconds)
            var levels: [String: Double] = [:]
            for (type, normalised) in n.normalisedWallDurations where wall > 0 { levels[type] = (Double(normalised) / wall * 1000).rounded() / 1000 }
            s.serviceLevels = levels
            if n.hasEarliestEndTime { s.earliestEndTime = n.earliestEndTime }
            if n.hasLatestEndTime { s.latestEndTime = n.latestEndTime }
            s.wallDuration = n.wallDuration
            s.cpuDuration = n.cpuDuration
            s.numberOfJobs = n.numberOfJobs
            record.summary = s
        }
        return record
    }
}
