import Gen
import GRDB

extension AccountingStore {
    /// The job summaries of months `from` through `to` (inclusive) as APEL normalised summary
    /// records (v0.4), grouped the way APEL's unloader groups them: site, month, user, VO, VO
    /// group, VO role, submit host, infrastructure, node count, processors and benchmark type.
    /// Rows summed from job records and imported summaries are added together. Ordered by the
    /// grouping keys.
    public func summaryRecords(from: YearMonth, to: YearMonth) throws -> [Weft_Accounting_V1_UsageRecord] {
        let keyList = ["site", "year", "month", "user", "vo", "vo_group", "vo_role", "submit_host", "infrastructure", "node_count", "processors", "benchmark_type"]
        let keys = keyList.joined(separator: ", ")
        let qualified = keyList.map { "s." + $0 }.joined(separator: ", ")
        let range = "WHERE (year * 12 + month - 1) BETWEEN ? AND ?"
        let arguments: StatementArguments = [from.ordinal, to.ordinal]
        return try pool.read { db in
            var records: [Weft_Accounting_V1_NormalisedSummaryRecord] = []
            var index: [[DatabaseValue]: Int] = [:]
            let sql = """
                SELECT \(keys), SUM(jobs), SUM(wall), SUM(cpu), MIN(earliest_end), MAX(latest_end)
                FROM job_summaries \(range) GROUP BY \(keys) ORDER BY \(keys)
                """
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                var r = Weft_Accounting_V1_NormalisedSummaryRecord()
                r.site = row[0]
                r.year = row[1]
                r.month = row[2]
                r.globalUserName = row[3]
                r.vo = row[4]
                r.voGroup = row[5]
                r.voRole = row[6]
                r.submitHost = row[7]
                r.infrastructure = row[8]
                r.nodeCount = row[9]
                r.processors = row[10]
                r.numberOfJobs = row[12]
                r.wallDuration = .ofSeconds(row[13])
                r.cpuDuration = .ofSeconds(row[14])
                r.earliestEndTime = .ofSeconds(row[15])
                r.latestEndTime = .ofSeconds(row[16])
                index[(0..<12).map { row[$0] as DatabaseValue }] = records.count
                records.append(r)
            }
            let breakdown = """
                SELECT \(qualified), n.benchmark_type, SUM(n.wall), SUM(n.cpu)
                FROM job_summaries s JOIN job_normalised n ON n.summary_id = s.id
                WHERE (s.year * 12 + s.month - 1) BETWEEN ? AND ? GROUP BY \(qualified), n.benchmark_type
                """
            for row in try Row.fetchAll(db, sql: breakdown, arguments: arguments) {
                guard let i = index[(0..<12).map { row[$0] as DatabaseValue }] else { continue }
                let type: String = row[12]
                records[i].normalisedWallDurations[type] = Int64(((row[13] as Double?) ?? 0).rounded())
                records[i].normalisedCpuDurations[type] = Int64(((row[14] as Double?) ?? 0).rounded())
            }
            return records.map { s in
                var u = Weft_Accounting_V1_UsageRecord()
                u.normalisedSummary = s
                u.format = .normalisedSummaryV04
                return u
            }
        }
    }
}
