import ArgumentParser
import Foundation
import Gen
import WeftRPC

extension AccountingCommand {
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print accounting summaries, filtered and grouped.",
            discussion: "Example: weft accounting query --site VEGA --from 2026-01 --to 2026-06 --group-by site,month,vo")
        @OptionGroup var summary: SummaryArguments
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let keys = try summary.keys()
            var request = Weft_Accounting_V1_QuerySummariesRequest()
            request.kind = summary.kind.proto
            request.filter = try summary.filter()
            request.groupBy = keys
            request.pageSize = 1000
            var rows: [Weft_Accounting_V1_SummaryRow] = []
            repeat {
                let page = try await withAccounting(client, "query") { try await $0.querySummaries(request, options: $1) }
                rows += page.rows
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
            if output != .table { return emit(try PodOutput.render(Weft_Accounting_V1_QuerySummariesResponse.with { $0.rows = rows }, as: output)) }
            emit(PodOutput.table(rows.map { SummaryOutput.row($0, keys: keys, kind: summary.kind) },
                                 header: SummaryOutput.header(keys: keys, kind: summary.kind)))
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print accounting summaries, then each row again whenever new records change it.")
        @OptionGroup var summary: SummaryArguments
        @Option(help: "At most one update per row per this many seconds.") var interval: Double?
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let keys = try summary.keys()
            var request = Weft_Accounting_V1_WatchSummariesRequest()
            request.kind = summary.kind.proto
            request.filter = try summary.filter()
            request.groupBy = keys
            if let interval {
                request.minUpdateInterval = .with {
                    $0.seconds = Int64(interval)
                    $0.nanos = Int32((interval - interval.rounded(.towardZero)) * 1e9)
                }
            }
            let header = ["CHANGE"] + SummaryOutput.header(keys: keys, kind: summary.kind)
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            do {
                try await Weft_Accounting_V1_AccountingService.Client(rpc).watchSummaries(request) { stream in
                    var table = StreamingTable(header: header)
                    var initial: [[String]] = []
                    var synced = false
                    for try await change in stream {
                        if output != .table {
                            emit(try PodOutput.render(change, as: output) + (output == .yaml ? "---\n" : ""))
                            continue
                        }
                        if change.changeType == .synced {
                            synced = true
                            emit(table.lines(initial, withHeader: true))
                            continue
                        }
                        let row = [Self.name(change.changeType)] + SummaryOutput.row(change.row, keys: keys, kind: summary.kind)
                        if synced { emit(table.lines([row], withHeader: false)) } else { initial.append(row) }
                    }
                }
            } catch {
                throw failure(error, "watch")
            }
        }

        static func name(_ t: Weft_Common_V1_ChangeType) -> String {
            switch t {
            case .current: "CURRENT"
            case .added: "ADDED"
            case .modified: "MODIFIED"
            case .synced: "SYNCED"
            default: "-"
            }
        }
    }
}

/// A table printed a few rows at a time: columns keep the widest width seen so far.
struct StreamingTable {
    let header: [String]
    var widths: [Int]

    init(header: [String]) {
        self.header = header
        widths = header.map(\.count)
    }

    mutating func lines(_ rows: [[String]], withHeader: Bool) -> String {
        let all = withHeader ? [header] + rows : rows
        for r in all { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return all.map { r in
            r.enumerated().map { i, c in i == r.count - 1 || i >= widths.count ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "   ")
        }.joined(separator: "\n") + (all.isEmpty ? "" : "\n")
    }
}
