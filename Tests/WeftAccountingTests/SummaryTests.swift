import Foundation
import Gen
import Testing
import WeftAccounting
import WeftRPC

/// A job as the test sees it, to sum independently of the store.
private struct Job {
    var id: String
    var vo: String
    var user: String
    var month: Int32
    var end: Int64
    var wall: Int64
    var cpu: Int64
    var processors: Int32
    var levels: [String: Double]
    /// Expected HEPSPEC (or HEPscore23) factor and type, by hand.
    var benchmark: (type: String, factor: Double)

    var record: Weft_Accounting_V1_UsageRecord {
        Records.job(id, fqan: "/\(vo)", user: user, wall: wall, cpu: cpu, processors: processors, end: end, levels: levels)
    }
}

private func sampleJobs(_ n: Int) -> [Job] {
    var rng = SystemRandomNumberGenerator()
    let vos = ["atlas", "cms", "lhcb"]
    let users = ["/CN=alice", "/CN=bob", "/CN=carol", "/CN=dave"]
    let months: [(Int32, Int64)] = [(8, Records.aug15), (9, Records.sep15), (10, Records.oct15)]
    let benchmarks: [([String: Double], (String, Double))] = [
        (["HEPSPEC": 10], ("HEPSPEC", 10)), (["si2k": 2500], ("HEPSPEC", 10)), (["HEPSPEC": 12.5], ("HEPSPEC", 12.5)),
        (["HEPscore23": 14, "HEPSPEC": 11], ("HEPscore23", 14)),
    ]
    return (0..<n).map { i in
        let (month, mid) = months[Int.random(in: 0..<months.count, using: &rng)]
        let b = benchmarks[Int.random(in: 0..<benchmarks.count, using: &rng)]
        let wall = Int64.random(in: 1...100_000, using: &rng)
        return Job(
            id: "job-\(i)", vo: vos[Int.random(in: 0..<vos.count, using: &rng)], user: users[Int.random(in: 0..<users.count, using: &rng)],
            month: month, end: mid + Int64.random(in: -86400 * 5...86400 * 5, using: &rng), wall: wall,
            cpu: Int64.random(in: 0...wall * 4, using: &rng), processors: Int32.random(in: 1...8, using: &rng), levels: b.0, benchmark: b.1)
    }
}

/// Totals of a set of jobs, as the test computes them.
private struct Totals: Equatable {
    var jobs: Int64 = 0
    var wall: Int64 = 0
    var cpu: Int64 = 0
    var coreSeconds: Int64 = 0
    var normalisedWall: [String: Double] = [:]
    var normalisedCpu: [String: Double] = [:]
    var earliest = Int64.max
    var latest = Int64.min

    mutating func add(_ j: Job) {
        jobs += 1
        wall += j.wall
        cpu += j.cpu
        coreSeconds += Int64(j.processors) * j.wall
        // A job with HEPscore23 and HEPSPEC is normalised for both.
        for (type, value) in j.levels {
            let (t, f) = type == "si2k" ? ("HEPSPEC", value / 250) : (type, value)
            normalisedWall[t, default: 0] += Double(j.wall) * f
            normalisedCpu[t, default: 0] += Double(j.cpu) * f
        }
        earliest = min(earliest, j.end)
        latest = max(latest, j.end)
    }

    func check(_ u: Weft_Accounting_V1_JobUsage, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(u.numberOfJobs == jobs, "\(label) jobs", sourceLocation: sourceLocation)
        #expect(u.wallDuration.seconds == wall, "\(label) wall", sourceLocation: sourceLocation)
        #expect(u.cpuDuration.seconds == cpu, "\(label) cpu", sourceLocation: sourceLocation)
        #expect(u.coreSeconds == coreSeconds, "\(label) core-seconds", sourceLocation: sourceLocation)
        #expect(u.earliestEndTime.seconds == earliest && u.latestEndTime.seconds == latest, "\(label) end times", sourceLocation: sourceLocation)
        #expect(u.normalisedWallDurations == normalisedWall.mapValues { Int64($0.rounded()) }, "\(label) normalised wall", sourceLocation: sourceLocation)
        #expect(u.normalisedCpuDurations == normalisedCpu.mapValues { Int64($0.rounded()) }, "\(label) normalised cpu", sourceLocation: sourceLocation)
    }
}

@Suite struct SummaryTests {
    private func publish(_ jobs: [Job], on stack: Stack) async throws {
        var batches: [Weft_Accounting_V1_RecordBatch] = []
        for (i, start) in stride(from: 0, to: jobs.count, by: 250).enumerated() {
            batches.append(Records.batch(UInt64(i + 1), jobs[start..<min(jobs.count, start + 250)].map(\.record)))
        }
        let acks = try await stack.acks(batches)
        #expect(acks.allSatisfy { $0.rejections.isEmpty })
    }

    @Test func summariesEqualIndependentSums() async throws {
        let stack = try Stack()
        let jobs = sampleJobs(1200)
        try await publish(jobs, on: stack)

        var all = Totals()
        for j in jobs { all.add(j) }
        let total = try await stack.query(groupBy: [])
        #expect(total.rows.count == 1)
        all.check(try #require(total.rows.first).job, "total")

        var byVOMonth: [String: Totals] = [:]
        for j in jobs { byVOMonth["\(j.vo) \(j.month)", default: Totals()].add(j) }
        let grouped = try await stack.query(groupBy: [.vo, .month])
        #expect(grouped.rows.count == byVOMonth.count)
        // Ordered by the keys in request order: VO, then year and month.
        let keys = grouped.rows.map { [$0.key.vo, String($0.key.year), String(format: "%02d", $0.key.month)] }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        for row in grouped.rows {
            #expect(row.key.site.isEmpty && row.key.user.isEmpty && row.key.year == 2026)
            let expected = try #require(byVOMonth["\(row.key.vo) \(row.key.month)"])
            expected.check(row.job, "\(row.key.vo) \(row.key.month)")
        }

        // Benchmark type: the preferred benchmark of each job, si2k counted as HEPSPEC.
        var byBenchmark: [String: Int64] = [:]
        for j in jobs { byBenchmark[j.benchmark.type, default: 0] += 1 }
        let benchmarks = try await stack.query(groupBy: [.benchmarkType])
        #expect(Dictionary(uniqueKeysWithValues: benchmarks.rows.map { ($0.key.benchmarkType, $0.job.numberOfJobs) }) == byBenchmark)
    }

    @Test func groupBySubsetsAndFilters() async throws {
        let stack = try Stack()
        let jobs = sampleJobs(600)
        try await publish(jobs, on: stack)

        var filter = Weft_Accounting_V1_SummaryFilter()
        filter.vos = ["atlas", "lhcb"]
        filter.users = ["/CN=alice", "/CN=bob"]
        filter.startMonth = .with { $0.year = 2026; $0.month = 9 }
        filter.endMonth = .with { $0.year = 2026; $0.month = 10 }
        var expected: [String: Totals] = [:]
        for j in jobs where ["atlas", "lhcb"].contains(j.vo) && ["/CN=alice", "/CN=bob"].contains(j.user) && j.month >= 9 {
            expected[j.user, default: Totals()].add(j)
        }
        let rows = try await stack.query(groupBy: [.user], filter: filter).rows
        #expect(rows.map(\.key.user) == expected.keys.sorted())
        for row in rows { try #require(expected[row.key.user]).check(row.job, row.key.user) }

        // Site, year, VO role, submit host, infrastructure: one value each here.
        let wide = try await stack.query(groupBy: [.site, .year, .voRole, .submitHost, .infrastructure])
        #expect(wide.rows.count == 1)
        let key = try #require(wide.rows.first).key
        #expect(key.site == "SITE-A" && key.year == 2026 && key.month == 0 && key.voRole == "" && key.submitHost == "ce1.example.org" && key.infrastructure == "grid")
        #expect(wide.rows.first?.job.numberOfJobs == Int64(jobs.count))

        // A filter that matches nothing gives no rows, even without grouping.
        var none = Weft_Accounting_V1_SummaryFilter()
        none.sites = ["NOWHERE"]
        #expect(try await stack.query(groupBy: [], filter: none).rows.isEmpty)

        // Unknown group-by keys and months out of range are refused.
        do {
            _ = try await stack.query(groupBy: [.unspecified])
            Issue.record("unspecified group-by accepted")
        } catch let e as RPCError { expectRPCError(.invalidArgument, containing: ["group_by"], e) }
        var badMonth = Weft_Accounting_V1_SummaryFilter()
        badMonth.startMonth = .with { $0.year = 2026; $0.month = 13 }
        do {
            _ = try await stack.query(groupBy: [], filter: badMonth)
            Issue.record("month 13 accepted")
        } catch let e as RPCError { expectRPCError(.invalidArgument, containing: ["start_month"], e) }
    }

    @Test func pagingWalksEveryRowOnceInOrder() async throws {
        let stack = try Stack()
        try await publish(sampleJobs(800), on: stack)
        let everything = try await stack.query(groupBy: [.user, .month, .vo]).rows
        #expect(everything.count > 10)
        var pages: [Weft_Accounting_V1_SummaryRow] = []
        var token = ""
        var calls = 0
        repeat {
            let page = try await stack.query(groupBy: [.user, .month, .vo], pageSize: 7, token: token)
            #expect(page.rows.count <= 7)
            pages += page.rows
            token = page.nextPageToken
            calls += 1
        } while !token.isEmpty && calls < 100
        #expect(calls == (everything.count + 6) / 7)
        #expect(pages == everything)

        // A token of another grouping, or garbage, is refused.
        let first = try await stack.query(groupBy: [.user, .month, .vo], pageSize: 7)
        for (groupBy, bad) in [([Weft_Accounting_V1_GroupByKey.vo], first.nextPageToken), ([.user, .month, .vo], "not a token")] {
            do {
                _ = try await stack.query(groupBy: groupBy, pageSize: 7, token: bad)
                Issue.record("bad token accepted")
            } catch let e as RPCError { expectRPCError(.invalidArgument, containing: ["page_token"], e) }
        }
    }

    @Test func resentSummaryRecordReplacesItsEarlierVersion() async throws {
        let stack = try Stack()
        _ = try await stack.acks([Records.batch(1, [Records.summary(jobs: 10, wall: 1000, cpu: 800), Records.job("j1")])])
        var filter = Weft_Accounting_V1_SummaryFilter()
        filter.vos = ["cms"]
        var row = try #require(try await stack.query(groupBy: [.vo], filter: filter).rows.first)
        #expect(row.job.numberOfJobs == 10 && row.job.wallDuration.seconds == 1000 && row.job.coreSeconds == 2000)
        #expect(row.job.normalisedWallDurations == ["HEPSPEC": 8000])
        // The site resends the month with new numbers: they replace, not add.
        _ = try await stack.acks([Records.batch(2, [Records.summary(jobs: 12, wall: 1500, cpu: 900)])])
        row = try #require(try await stack.query(groupBy: [.vo], filter: filter).rows.first)
        #expect(row.job.numberOfJobs == 12 && row.job.wallDuration.seconds == 1500 && row.job.cpuDuration.seconds == 900)
        #expect(row.job.normalisedWallDurations == ["HEPSPEC": 12000] && row.job.normalisedCpuDurations == ["HEPSPEC": 7200])
        // Jobs and summaries add up in the totals.
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 13)
    }

    @Test func exportGivesNormalisedSummaryRecords() async throws {
        let stack = try Stack()
        let jobs = sampleJobs(300)
        try await publish(jobs, on: stack)
        let records = try stack.service.summaryRecords(from: YearMonth(year: 2026, month: 9), to: YearMonth(year: 2026, month: 9))
        let september = jobs.filter { $0.month == 9 }
        #expect(records.allSatisfy { $0.format == .normalisedSummaryV04 && $0.normalisedSummary.month == 9 })
        #expect(records.reduce(0) { $0 + $1.normalisedSummary.numberOfJobs } == Int64(september.count))
        #expect(records.reduce(0) { $0 + $1.normalisedSummary.wallDuration.seconds } == september.reduce(0) { $0 + $1.wall })
        let hepspec = september.reduce(0.0) { sum, j in
            sum + j.levels.reduce(0.0) { $0 + ($1.key == "HEPscore23" ? 0 : Double(j.wall) * ($1.key == "si2k" ? $1.value / 250 : $1.value)) }
        }
        let exported = records.reduce(Int64(0)) { $0 + ($1.normalisedSummary.normalisedWallDurations["HEPSPEC"] ?? 0) }
        #expect(abs(Double(exported) - hepspec) <= Double(records.count))
    }
}
