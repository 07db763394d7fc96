import Gen
import GRDB
import WeftRPC

/// A validated summary query: kind, filter and grouping, turned into SQL over a summary table.
struct SummaryQuery: Sendable {
    let kind: Weft_Accounting_V1_SummaryKind
    let filter: Weft_Accounting_V1_SummaryFilter
    let groupBy: [Weft_Accounting_V1_GroupByKey]
    /// Distinct table columns the grouping reads, in request order (MONTH reads year, month).
    let columns: [String]

    init(kind: Weft_Accounting_V1_SummaryKind, filter: Weft_Accounting_V1_SummaryFilter, groupBy: [Weft_Accounting_V1_GroupByKey]) throws {
        self.kind = kind == .unspecified ? .job : kind
        _ = try SummaryTable.forKind(self.kind)
        self.filter = filter
        self.groupBy = groupBy
        var columns: [String] = []
        for key in groupBy {
            for c in try Self.columns(of: key) where !columns.contains(c) { columns.append(c) }
        }
        self.columns = columns
        if filter.hasStartMonth, !(1...12).contains(filter.startMonth.month) {
            throw RPCError(code: .invalidArgument, message: "filter.start_month.month must be 1–12, not \(filter.startMonth.month)")
        }
        if filter.hasEndMonth, !(1...12).contains(filter.endMonth.month) {
            throw RPCError(code: .invalidArgument, message: "filter.end_month.month must be 1–12, not \(filter.endMonth.month)")
        }
    }

    static func columns(of key: Weft_Accounting_V1_GroupByKey) throws -> [String] {
        switch key {
        case .site: ["site"]
        case .year: ["year"]
        case .month: ["year", "month"]
        case .vo: ["vo"]
        case .voGroup: ["vo_group"]
        case .voRole: ["vo_role"]
        case .user: ["user"]
        case .submitHost: ["submit_host"]
        case .infrastructure: ["infrastructure"]
        case .benchmarkType: ["benchmark_type"]
        case .unspecified, .UNRECOGNIZED:
            throw RPCError(code: .invalidArgument, message: "group_by holds an unknown key (\(key.protoName ?? "\(key.rawValue)"))")
        }
    }

    /// The grouping values of `c`, in ``columns`` order.
    func values(of c: GroupColumns) -> [DatabaseValue] {
        columns.map { name in
            switch name {
            case "site": c.site.databaseValue
            case "year": c.year.databaseValue
            case "month": c.month.databaseValue
            case "vo": c.vo.databaseValue
            case "vo_group": c.voGroup.databaseValue
            case "vo_role": c.voRole.databaseValue
            case "user": c.user.databaseValue
            case "submit_host": c.submitHost.databaseValue
            case "infrastructure": c.infrastructure.databaseValue
            default: c.benchmarkType.databaseValue
            }
        }
    }

    /// Whether a row with group columns `c` passes the filter (for watches, without SQL).
    func matches(_ c: GroupColumns) -> Bool {
        let f = filter
        func ok(_ list: [String], _ v: String) -> Bool { list.isEmpty || list.contains(v) }
        let ordinal = c.year * 12 + c.month - 1
        if f.hasStartMonth, ordinal < Int(f.startMonth.year) * 12 + Int(f.startMonth.month) - 1 { return false }
        if f.hasEndMonth, ordinal > Int(f.endMonth.year) * 12 + Int(f.endMonth.month) - 1 { return false }
        return ok(f.sites, c.site) && ok(f.vos, c.vo) && ok(f.voGroups, c.voGroup) && ok(f.voRoles, c.voRole) && ok(f.users, c.user)
            && ok(f.submitHosts, c.submitHost) && ok(f.infrastructures, c.infrastructure) && ok(f.benchmarkTypes, c.benchmarkType)
    }

    /// The WHERE clause of the filter, plus optional bounds on the grouping values.
    private func whereClause(after: [DatabaseValue]?, through: [DatabaseValue]?, only: [[DatabaseValue]]?) -> (String, [DatabaseValue]) {
        var clauses: [String] = []
        var args: [DatabaseValue] = []
        func inList(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            clauses.append("s.\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
            args += values.map(\.databaseValue)
        }
        let f = filter
        inList("site", f.sites)
        inList("vo", f.vos)
        inList("vo_group", f.voGroups)
        inList("vo_role", f.voRoles)
        inList("user", f.users)
        inList("submit_host", f.submitHosts)
        inList("infrastructure", f.infrastructures)
        inList("benchmark_type", f.benchmarkTypes)
        if f.hasStartMonth {
            clauses.append("(s.year * 12 + s.month - 1) >= ?")
            args.append((Int(f.startMonth.year) * 12 + Int(f.startMonth.month) - 1).databaseValue)
        }
        if f.hasEndMonth {
            clauses.append("(s.year * 12 + s.month - 1) <= ?")
            args.append((Int(f.endMonth.year) * 12 + Int(f.endMonth.month) - 1).databaseValue)
        }
        let tuple = "(" + columns.map { "s.\($0)" }.joined(separator: ", ") + ")"
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        if let after, !columns.isEmpty {
            clauses.append("\(tuple) > \(placeholders)")
            args += after
        }
        if let through, !columns.isEmpty {
            clauses.append("\(tuple) <= \(placeholders)")
            args += through
        }
        if let only, !columns.isEmpty {
            clauses.append("\(tuple) IN (VALUES \(Array(repeating: placeholders, count: only.count).joined(separator: ", ")))")
            for v in only { args += v }
        }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), args)
    }

    /// One result row with its grouping values.
    struct ResultRow {
        var values: [DatabaseValue]
        var row: Weft_Accounting_V1_SummaryRow
    }

    /// Runs the query: groups after `after` (exclusive), at most `limit`, or exactly the groups
    /// `only` (watches), ordered by the grouping keys in request order.
    func run(_ db: Database, after: [DatabaseValue]? = nil, limit: Int? = nil, only: [[DatabaseValue]]? = nil) throws -> [ResultRow] {
        if let only, only.isEmpty { return [] }
        let table = try SummaryTable.forKind(kind)
        let select = columns.map { "s.\($0)" }.joined(separator: ", ")
        let grouping = columns.isEmpty ? "" : "GROUP BY \(select) ORDER BY \(select)"
        let (whereSQL, args) = whereClause(after: after, through: nil, only: only)
        var sql = "SELECT \(select.isEmpty ? "" : select + ", ")\(table.totals) FROM \(table.table) s \(whereSQL) \(grouping)"
        var arguments = args
        if let limit {
            sql += " LIMIT ?"
            arguments.append(limit.databaseValue)
        }
        var out: [ResultRow] = []
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)) {
            let values = (0..<columns.count).map { row[$0] as DatabaseValue }
            guard let (usage, updated) = SummaryTable.usage(kind: kind, row: row, at: columns.count) else { continue }
            var r = Weft_Accounting_V1_SummaryRow()
            r.key = key(values)
            r.usage = usage
            r.updateTime = .ofNanos(updated)
            out.append(ResultRow(values: values, row: r))
        }
        if let breakdown = table.breakdown, !out.isEmpty {
            try fillBreakdown(db, breakdown, rows: &out, after: after, only: only)
        }
        return out
    }

    /// Fills the per-benchmark (jobs) or per-model (accelerators) maps of `rows`.
    private func fillBreakdown(_ db: Database, _ b: (from: String, key: String, totals: String), rows: inout [ResultRow],
                               after: [DatabaseValue]?, only: [[DatabaseValue]]?) throws {
        var index: [[DatabaseValue]: Int] = [:]
        for (i, r) in rows.enumerated() { index[r.values] = i }
        let select = columns.map { "s.\($0)" }
        // Bound to the groups of this page, so a page costs what its rows cost.
        let through = only == nil ? rows.last?.values : nil
        let (whereSQL, args) = whereClause(after: after, through: through, only: only)
        let sql = "SELECT \((select + [b.key]).joined(separator: ", ")), \(b.totals) FROM \(b.from) \(whereSQL) GROUP BY \((select + [b.key]).joined(separator: ", "))"
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)) {
            let values = (0..<columns.count).map { row[$0] as DatabaseValue }
            guard let i = index[values] else { continue }
            let key: String = row[columns.count]
            SummaryTable.addBreakdown(&rows[i].row.usage, key: key, first: (row[columns.count + 1] as Double?) ?? 0,
                                      second: (row[columns.count + 2] as Double?) ?? 0)
        }
    }

    /// The SummaryKey of grouping values: only the requested keys are set.
    func key(_ values: [DatabaseValue]) -> Weft_Accounting_V1_SummaryKey {
        var k = Weft_Accounting_V1_SummaryKey()
        for (name, v) in zip(columns, values) {
            switch name {
            case "site": k.site = String.fromDatabaseValue(v) ?? ""
            case "year": k.year = Int32.fromDatabaseValue(v) ?? 0
            case "month": k.month = Int32.fromDatabaseValue(v) ?? 0
            case "vo": k.vo = String.fromDatabaseValue(v) ?? ""
            case "vo_group": k.voGroup = String.fromDatabaseValue(v) ?? ""
            case "vo_role": k.voRole = String.fromDatabaseValue(v) ?? ""
            case "user": k.user = String.fromDatabaseValue(v) ?? ""
            case "submit_host": k.submitHost = String.fromDatabaseValue(v) ?? ""
            case "infrastructure": k.infrastructure = String.fromDatabaseValue(v) ?? ""
            default: k.benchmarkType = String.fromDatabaseValue(v) ?? ""
            }
        }
        return k
    }
}

extension AccountingStore {
    /// Runs `query` over every group, or exactly the groups `only` (in chunks, to bound the
    /// number of SQL parameters).
    func summaryRows(_ query: SummaryQuery, only: [[DatabaseValue]]? = nil) async throws -> [SummaryQuery.ResultRow] {
        try await pool.read { db in
            guard let only, !query.columns.isEmpty else { return try query.run(db, only: only) }
            var out: [SummaryQuery.ResultRow] = []
            for start in stride(from: 0, to: only.count, by: 500) {
                out += try query.run(db, only: Array(only[start..<min(only.count, start + 500)]))
            }
            return out
        }
    }
}
