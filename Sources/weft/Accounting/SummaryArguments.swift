import ArgumentParser
import Foundation
import Gen

/// Kinds of usage, as the CLI names them.
enum UsageKind: String, ExpressibleByArgument, CaseIterable {
    case job, cloud, storage, accelerator

    var proto: Weft_Accounting_V1_SummaryKind {
        switch self {
        case .job: .job
        case .cloud: .cloud
        case .storage: .storage
        case .accelerator: .accelerator
        }
    }
}

/// The filter and grouping of summary queries (query, watch).
struct SummaryArguments: ParsableArguments {
    @Option(help: "Kind of usage: job, cloud, storage or accelerator.") var kind: UsageKind = .job
    @Option(help: "Only this site; repeatable.") var site: [String] = []
    @Option(help: "Only this VO; repeatable.") var vo: [String] = []
    @Option(help: "Only this global user name; repeatable.") var user: [String] = []
    @Option(help: "First month, YYYY-MM.") var from: String?
    @Option(help: "Last month, YYYY-MM.") var to: String?
    @Option(name: .customLong("group-by"), help: "Keys, comma-separated: \(GroupKeys.names.joined(separator: ", ")).")
    var groupBy = "site,month,vo"

    func validate() throws {
        _ = try filter()
        _ = try keys()
    }

    func filter() throws -> Weft_Accounting_V1_SummaryFilter {
        var f = Weft_Accounting_V1_SummaryFilter()
        f.sites = site
        f.vos = vo
        f.users = user
        if let from { f.startMonth = try Months.parse(from, option: "--from") }
        if let to { f.endMonth = try Months.parse(to, option: "--to") }
        return f
    }

    func keys() throws -> [Weft_Accounting_V1_GroupByKey] { try GroupKeys.parse(groupBy) }
}

/// Group-by keys by name.
enum GroupKeys {
    static let table: [(String, Weft_Accounting_V1_GroupByKey)] = [
        ("site", .site), ("year", .year), ("month", .month), ("vo", .vo), ("vo-group", .voGroup), ("vo-role", .voRole),
        ("user", .user), ("submit-host", .submitHost), ("infrastructure", .infrastructure), ("benchmark-type", .benchmarkType),
    ]
    static var names: [String] { table.map(\.0) }

    static func parse(_ text: String) throws -> [Weft_Accounting_V1_GroupByKey] {
        try text.split(separator: ",").map { raw in
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "-")
            guard let key = table.first(where: { $0.0 == name })?.1 else {
                throw ValidationError("--group-by: unknown key \"\(name)\"; use \(names.joined(separator: ", "))")
            }
            return key
        }
    }
}

/// YYYY-MM months.
enum Months {
    static func parse(_ text: String, option: String) throws -> Weft_Accounting_V1_YearMonth {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let y = Int32(parts[0]), let m = Int32(parts[1]), (1...12).contains(m), (1970...9999).contains(y) else {
            throw ValidationError("\(option) \(text): use YYYY-MM, e.g. 2026-09")
        }
        return .with { $0.year = y; $0.month = m }
    }

    /// The current month (UTC) and the one before.
    static func currentAndPrevious(now: Date = Date()) -> (Weft_Accounting_V1_YearMonth, Weft_Accounting_V1_YearMonth) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month], from: now)
        let year = Int32(c.year ?? 1970), month = Int32(c.month ?? 1)
        let current = Weft_Accounting_V1_YearMonth.with { $0.year = year; $0.month = month }
        let previous = Weft_Accounting_V1_YearMonth.with { $0.year = month == 1 ? year - 1 : year; $0.month = month == 1 ? 12 : month - 1 }
        return (previous, current)
    }

    static func text(_ m: Weft_Accounting_V1_YearMonth) -> String { String(format: "%04d-%02d", m.year, m.month) }
}
