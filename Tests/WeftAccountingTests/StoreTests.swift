import Foundation
import Gen
import Testing
import WeftAPEL
import WeftAccounting
import WeftRPC

@Suite struct StoreTests {
    @Test func reopenedStoreKeepsRecordsSummariesAndSequences() async throws {
        let dir = NSTemporaryDirectory() + "weft-accounting-\(UUID().uuidString)"
        do {
            let stack = try Stack(dir: dir)
            _ = try await stack.acks([Records.batch(1, (0..<10).map { Records.job("j\($0)") }), Records.batch(2, [Records.job("k")])])
            stack.service.shutdown()
            try stack.store.close()
        }
        let stack = try Stack(dir: dir)
        #expect(try await stack.store.recordCount() == 11)
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 11)
        let (responses, _) = try await stack.publish([Records.batch(2, [Records.job("k")]), Records.batch(3, [Records.job("m")])])
        guard case .accepted(let accepted)? = responses.first?.message else { Issue.record("no accepted"); return }
        #expect(accepted.lastCommittedSequence == 2)
        let acks = responses.compactMap { if case .ack(let a)? = $0.message { a } else { nil } }
        #expect(acks.map(\.duplicate) == [true, false])
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 12)
    }

    @Test func otherKindsAreSummarised() async throws {
        let stack = try Stack()
        func cloud(_ created: Int64, wall: Int64) -> Weft_Accounting_V1_UsageRecord {
            var c = Weft_Accounting_V1_CloudRecord()
            c.vmUuid = "vm-1"
            c.siteName = "SITE-A"
            c.fqan = "/atlas/Role=user"
            c.recordCreateTime = Records.time(created)
            c.startTime = Records.time(Records.sep15 - 86400 * 3)
            c.wallDuration = Records.duration(wall)
            c.cpuCount = 2
            c.memoryMb = 4096
            var r = Weft_Accounting_V1_UsageRecord()
            r.cloud = c
            return r
        }
        func storage(_ id: String, end: Int64, used: Int64) -> Weft_Accounting_V1_UsageRecord {
            var s = Weft_Accounting_V1_StorageRecord()
            s.recordId = id
            s.createTime = Records.time(end)
            s.storageSystem = "se.example.org"
            s.site = "SITE-A"
            s.storageShare = "atlas-disk"
            s.voGroupName = "atlas"
            s.startTime = Records.time(end - 3600)
            s.endTime = Records.time(end)
            s.resourceCapacityUsed = used
            s.fileCount = 10
            var r = Weft_Accounting_V1_UsageRecord()
            r.storage = s
            return r
        }
        func accelerator(_ job: String, model: String) -> Weft_Accounting_V1_UsageRecord {
            var a = Weft_Accounting_V1_AcceleratorRecord()
            a.measurementYear = 2026
            a.measurementMonth = 9
            a.associatedRecordType = "job"
            a.associatedRecord = job
            a.siteName = "SITE-A"
            a.fqan = "/atlas"
            a.acceleratorType = "GPU"
            a.model = model
            a.count = 2
            a.activeDuration = Records.duration(100)
            a.availableDuration = Records.duration(300)
            var r = Weft_Accounting_V1_UsageRecord()
            r.accelerator = a
            return r
        }
        // Cloud: the latest report of the VM in the month counts, even if an older one comes last.
        // Storage: the latest measurement of the share counts.
        _ = try await stack.acks([
            Records.batch(1, [cloud(Records.sep15, wall: 100), cloud(Records.sep15 + 7200, wall: 7300), storage("s1", end: Records.sep15, used: 5),
                              accelerator("j1", model: "A100"), accelerator("j2", model: "H100")]),
            Records.batch(2, [cloud(Records.sep15 + 3600, wall: 3700), storage("s2", end: Records.sep15 + 86400, used: 7),
                              storage("s0", end: Records.sep15 - 86400, used: 3)]),
        ])
        let c = try #require(try await stack.query(.cloud, groupBy: [.vo, .month]).rows.first)
        #expect(c.key.vo == "atlas" && c.key.month == 9)
        #expect(c.cloud.numberOfVms == 1 && c.cloud.wallDuration.seconds == 7300 && c.cloud.memoryMb == 4096 && c.cloud.cpuCount == 2)
        let s = try #require(try await stack.query(.storage, groupBy: [.site]).rows.first)
        #expect(s.storage.resourceCapacityUsed == 7 && s.storage.fileCount == 10)
        let a = try #require(try await stack.query(.accelerator, groupBy: [.vo]).rows.first)
        #expect(a.accelerator.activeDeviceSeconds == 400 && a.accelerator.availableDeviceSeconds == 1200)
        #expect(a.accelerator.activeDeviceSecondsByModel == ["A100": 200, "H100": 200])
    }

    /// Batches committed together share one transaction: a record that an earlier batch of the
    /// same transaction (or an earlier commit) stored is not summed again, and the sums, end
    /// times and normalised durations of its group are recomputed from the records that are new.
    @Test func groupCommitSumsEachRecordOnce() async throws {
        let stack = try Stack()
        func prepared(_ records: [Weft_Accounting_V1_UsageRecord]) throws -> [PreparedRecord] {
            try records.map { var r = $0; #expect(RecordRules.validate(&r, now: Date()).isEmpty); return try #require(PreparedRecord(validated: r)) }
        }
        let early = Records.sep15 - 86400, late = Records.sep15 + 3600
        let first = try prepared([Records.job("a", wall: 100, end: early), Records.job("b", wall: 200)])
        _ = try await stack.store.commit(BatchCommit(publisherID: "p", site: "SITE-A", sequence: 1, records: first))
        // Batch 2 resends "a" (the group's earliest end) beside a new job; batch 3 resends "c" of
        // batch 2 in the same transaction, beside a job of another group; batch 4 is a resent batch.
        let outcomes = try await stack.store.commit([
            BatchCommit(publisherID: "p", site: "SITE-A", sequence: 2, records: try prepared([Records.job("a", wall: 100, end: early), Records.job("c", wall: 300, end: late)])),
            BatchCommit(publisherID: "p", site: "SITE-A", sequence: 3, records: try prepared([Records.job("c", wall: 300, end: late), Records.job("d", fqan: "/cms", wall: 400)])),
            BatchCommit(publisherID: "p", site: "SITE-A", sequence: 3, records: try prepared([Records.job("e", wall: 999)])),
        ])
        #expect(outcomes.map(\.duplicate) == [false, false, true])
        #expect(outcomes.map(\.changedCount) == [1, 1, 0])
        #expect(try await stack.store.recordCount() == 4)
        let rows = try await stack.query(groupBy: [.vo]).rows
        let atlas = try #require(rows.first { $0.key.vo == "atlas" }).job
        #expect(atlas.numberOfJobs == 3 && atlas.wallDuration.seconds == 600)
        #expect(atlas.earliestEndTime.seconds == early && atlas.latestEndTime.seconds == late)
        #expect(atlas.normalisedWallDurations == ["HEPSPEC": 6000])
        let cms = try #require(rows.first { $0.key.vo == "cms" }).job
        #expect(cms.numberOfJobs == 1 && cms.wallDuration.seconds == 400)
    }

    /// The WAL is copied into the database file by the background checkpointer: the main file
    /// grows only through checkpoints, and SQLite's own automatic one is replaced by the hook.
    @Test func walIsCheckpointedBesideTheCommits() async throws {
        let stack = try Stack()
        func mainFileSize() throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: stack.store.path)[.size] as? NSNumber)?.intValue ?? 0
        }
        let before = try mainFileSize()
        var memo = BenchmarkMemo()
        let now = Date()
        // 50k records: enough WAL pages to ask for checkpoints several times (the file must
        // grow by 4 MB, 1000 pages, below).
        for b in 0..<50 {
            let records = try (0..<1000).map { i -> PreparedRecord in
                var r = Records.job("w\(b)-\(i)", user: "/CN=user\(i % 40)")
                _ = RecordRules.validate(&r, now: now)
                return try #require(PreparedRecord(validated: r, benchmarks: &memo))
            }
            _ = try await stack.store.commit(BatchCommit(publisherID: "wal", site: "SITE-A", sequence: UInt64(b + 1), records: records))
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while try mainFileSize() < before + 4_000_000, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try mainFileSize() >= before + 4_000_000, "the database file did not grow: no checkpoint ran")
        let wal = (try FileManager.default.attributesOfItem(atPath: stack.store.path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
        // At most the inline limit (4,000 frames of 4 KiB pages) and the commit that crossed it.
        #expect(wal <= 5_000 * (4096 + 24) + 32)
        #expect(try await stack.store.recordCount() == 50_000)
    }

    /// CPU time of the process so far (both cores), so figures hold on a busy machine.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Ingest throughput straight into the store (prepare, then commit), for both durabilities.
    /// Skipped unless WEFT_ACCOUNTING_BENCH=1; prints records per second.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["WEFT_ACCOUNTING_BENCH"] == "1"))
    func ingestThroughput() async throws {
        let batches = 100
        let users = (0..<50).map { "/CN=user\($0)" }
        let vos = ["atlas", "cms", "lhcb", "alice"]
        var raw: [[Weft_Accounting_V1_UsageRecord]] = []
        for b in 0..<batches {
            var batch: [Weft_Accounting_V1_UsageRecord] = []
            for i in 0..<1000 {
                let wall = Int64(100 + i)
                let end: Int64 = Records.sep15 + Int64(i)
                batch.append(Records.job("\(b)-\(i)", fqan: "/" + vos[i % 4], user: users[(b * 7 + i) % 50], wall: wall, cpu: wall - 10,
                                         processors: Int32(1 + i % 8), end: end))
            }
            raw.append(batch)
        }
        let now = Date()
        var clock = ContinuousClock.now
        var cpu = Self.cpuSeconds()
        var memo = BenchmarkMemo()
        var prepared: [[PreparedRecord]] = []
        for batch in raw {
            var out: [PreparedRecord] = []
            for var r in batch where RecordRules.validate(&r, now: now).isEmpty {
                if let p = PreparedRecord(validated: r, benchmarks: &memo) { out.append(p) }
            }
            prepared.append(out)
        }
        let prepareTime = ContinuousClock.now - clock
        let prepareCPU = Self.cpuSeconds() - cpu
        for durability in [AccountingStore.Durability.full, .normal] {
            let dir = NSTemporaryDirectory() + "weft-accounting-bench-\(UUID().uuidString)"
            let store = try AccountingStore(path: dir + "/a.sqlite", durability: durability)
            clock = .now
            cpu = Self.cpuSeconds()
            for (i, records) in prepared.enumerated() {
                _ = try await store.commit(BatchCommit(publisherID: "bench", site: "SITE-A", sequence: UInt64(i + 1), records: records))
            }
            let commitTime = ContinuousClock.now - clock
            let commitCPU = Self.cpuSeconds() - cpu
            let seconds = Double(commitTime.components.seconds) + Double(commitTime.components.attoseconds) / 1e18
            let prep = Double(prepareTime.components.seconds) + Double(prepareTime.components.attoseconds) / 1e18
            let n = Double(batches * 1000)
            print("ingest \(durability): \(Int(n / seconds)) records/s committed (batches of 1000), \(Int(n / commitCPU)) per CPU-second; "
                + "prepare (validate, key, encode): \(Int(n / prep)) records/s, \(Int(n / prepareCPU)) per CPU-second")
            try store.close()
            try? FileManager.default.removeItem(atPath: dir)
        }
        // The whole service path: client encoding, in-process transport, decoding, validation
        // pipelined with the commits, acks.
        let stack = try Stack()
        let messages = raw.enumerated().map { i, records in
            Weft_Accounting_V1_PublishRecordsRequest.with { $0.batch = Records.batch(UInt64(i + 1), records) }
        }
        clock = .now
        let acked = try await stack.client.publishRecords(requests: { w in
            try await w.write(Records.start("bench", "SITE-A"))
            for m in messages { try await w.write(m) }
        }, responses: { stream in
            var n = 0
            for try await r in stream { if case .ack(let a)? = r.message { n += Int(a.acceptedCount) } }
            return n
        })
        let serviceTime = ContinuousClock.now - clock
        let total = Double(serviceTime.components.seconds) + Double(serviceTime.components.attoseconds) / 1e18
        #expect(acked == batches * 1000)
        print("publish through the service (in-process RPC, full durability): \(Int(Double(acked) / total)) records/s acknowledged")
    }
}
