import Foundation
import Gen
import GRDB

/// One batch to commit.
public struct BatchCommit: Sendable {
    /// The publisher.
    public var publisherID: String
    /// Its site.
    public var site: String
    /// The batch's sequence number.
    public var sequence: UInt64
    /// The valid records, in batch order.
    public let records: [PreparedRecord]
    /// How many records of the batch were rejected (for the publisher's counters).
    public var rejectedCount: Int
    /// The job records summed per summary row (computed here, before the commit).
    let jobGroups: JobGroupPlan

    /// Creates a batch; sums its job records per summary row, so that this work is done by the
    /// caller's thread rather than by the store's writer.
    public init(publisherID: String, site: String, sequence: UInt64, records: [PreparedRecord], rejectedCount: Int = 0) {
        self.publisherID = publisherID
        self.site = site
        self.sequence = sequence
        self.records = records
        self.rejectedCount = rejectedCount
        jobGroups = JobGroupPlan(records)
    }
}

/// Summary groups a commit changed, per kind: what watches recompute.
public struct SummaryChanges: Sendable {
    /// The changed groups (full group columns) by summary kind. A group may be listed more than
    /// once; readers deduplicate what they need (most commits have no watcher to read them).
    public var groups: [Weft_Accounting_V1_SummaryKind: [GroupColumns]] = [:]

    /// Creates an empty set of changes.
    public init() {}

    /// True when nothing changed.
    public var isEmpty: Bool { groups.values.allSatisfy(\.isEmpty) }

    mutating func insert(_ kind: Weft_Accounting_V1_SummaryKind, _ columns: GroupColumns) {
        groups[kind, default: []].append(columns)
    }
}

/// What committing a batch did.
public struct CommitOutcome: Sendable {
    /// The batch had been committed before (its sequence was not above the publisher's); nothing changed.
    public var duplicate: Bool
    /// The publisher's last committed sequence after the commit.
    public var lastCommittedSequence: UInt64
    /// Valid records of the batch, all stored now (some may have been stored before under the same key).
    public var acceptedCount: Int
    /// Records that were new, or replaced an earlier version, and so changed the summaries.
    public var changedCount: Int
    /// When the batch was committed, nanoseconds since the epoch.
    public var commitTime: Int64
    /// Summary groups that changed.
    public var changes: SummaryChanges
}

extension AccountingStore {
    /// Commits one batch in one transaction: new records are inserted (a record whose key is
    /// stored already is skipped and not summed again; summary, sync and cloud records replace
    /// their earlier version), the summary rows they touch are updated once each, and the
    /// publisher's sequence advances. A batch whose sequence is not above the publisher's last
    /// committed one changes nothing and comes back as a duplicate.
    public func commit(_ batch: BatchCommit) async throws -> CommitOutcome {
        guard let outcome = try await commit([batch]).first else { preconditionFailure("one outcome per batch") }
        return outcome
    }

    /// Commits several batches, in order, in one transaction (group commit: one WAL sync for all
    /// of them); the outcomes are in the batches' order. Each batch is treated as `commit(_:)`
    /// treats it, so a later batch of the same publisher sees the earlier one's sequence. Job
    /// summary rows that several of the batches touch are written once.
    public func commit(_ batches: [BatchCommit]) async throws -> [CommitOutcome] {
        guard !batches.isEmpty else { return [] }
        let (outcomes, learned) = try await pool.write { db in
            var w = try IngestWriter(db: db, now: Self.nowNanos()) { group in self.jobRowIDs.withLock { $0[group] } }
            var outcomes: [CommitOutcome] = []
            outcomes.reserveCapacity(batches.count)
            for batch in batches { outcomes.append(try w.commit(batch)) }
            try w.flushJobs()
            return (outcomes, w.learnedIDs)
        }
        if !learned.isEmpty {
            jobRowIDs.withLock { cache in
                if cache.count + learned.count > Self.jobRowIDCapacity { cache.removeAll() }
                cache.merge(learned) { _, new in new }
            }
        }
        return outcomes
    }

    static func nowNanos() -> Int64 {
        let t = Date().timeIntervalSince1970
        return Int64(t * 1e9)
    }
}

/// Writes the batches of one transaction. Job records are only inserted here; their summary
/// sums come precomputed with each batch (``JobGroupPlan``), are merged across the transaction's
/// batches, and each touched job summary row is written once, at the end (``flushJobs()``).
struct IngestWriter {
    let db: Database
    let now: Int64
    let knownID: (HashedJobGroup) -> Int64?
    /// Ids of job summary rows (source '') this transaction created.
    var learnedIDs: [HashedJobGroup: Int64] = [:]
    let insertNew: Statement
    let upsertRecord: Statement
    /// The statements run per touched summary row, looked up once per transaction: GRDB's
    /// statement cache hashes the whole SQL text on every lookup.
    let updateJobRow: Statement
    let upsertJobSummary: Statement
    let upsertNormalised: Statement
    /// Job sums of the whole transaction, per group.
    var jobs: [HashedJobGroup: JobAmounts] = [:]
    /// Per batch: imported summaries, accelerator sums, what changed.
    var imports: [String: (JobGroup, JobAmounts)] = [:]
    var accelerators: [AcceleratorGroup: AcceleratorAmounts] = [:]
    var changes = SummaryChanges()
    var changed = 0

    struct AcceleratorGroup: Hashable {
        var columns: GroupColumns
        var model: String
    }

    init(db: Database, now: Int64, knownID: @escaping (HashedJobGroup) -> Int64?) throws {
        self.db = db
        self.now = now
        self.knownID = knownID
        insertNew = try db.cachedStatement(sql: "INSERT INTO records (kind, key, site, year, month, data) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING")
        upsertRecord = try db.cachedStatement(sql: """
            INSERT INTO records (kind, key, site, year, month, data) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, site = excluded.site, year = excluded.year, month = excluded.month, data = excluded.data
            """)
        updateJobRow = try db.cachedStatement(sql: """
            UPDATE job_summaries SET jobs = jobs + ?, wall = wall + ?, cpu = cpu + ?, core_seconds = core_seconds + ?,
                earliest_end = min(earliest_end, ?), latest_end = max(latest_end, ?), update_time = ?
            WHERE id = ?
            """)
        upsertJobSummary = try db.cachedStatement(sql: """
            INSERT INTO job_summaries (source, site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type,
                node_count, processors, benchmark_value, jobs, wall, cpu, core_seconds, earliest_end, latest_end, update_time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source, site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure,
                        node_count, processors, benchmark_type, benchmark_value)
            DO UPDATE SET jobs = jobs + excluded.jobs, wall = wall + excluded.wall, cpu = cpu + excluded.cpu,
                core_seconds = core_seconds + excluded.core_seconds, earliest_end = min(earliest_end, excluded.earliest_end),
                latest_end = max(latest_end, excluded.latest_end), update_time = excluded.update_time
            RETURNING id
            """)
        upsertNormalised = try db.cachedStatement(sql: """
            INSERT INTO job_normalised (summary_id, benchmark_type, wall, cpu) VALUES (?, ?, ?, ?)
            ON CONFLICT(summary_id, benchmark_type) DO UPDATE SET wall = wall + excluded.wall, cpu = cpu + excluded.cpu
            """)
    }

    /// Commits `batch` into the open transaction: new records are inserted (a record whose key is
    /// stored already is skipped and not summed again; summary, sync and cloud records replace
    /// their earlier version), and the publisher's sequence advances. A batch whose sequence is
    /// not above the publisher's last committed one changes nothing and comes back as a duplicate.
    mutating func commit(_ batch: BatchCommit) throws -> CommitOutcome {
        let last = try Int64.fetchOne(db, sql: "SELECT last_sequence FROM publishers WHERE id = ?", arguments: [batch.publisherID])
            .map { UInt64(bitPattern: $0) } ?? 0
        if batch.sequence <= last {
            return CommitOutcome(duplicate: true, lastCommittedSequence: last, acceptedCount: 0, changedCount: 0, commitTime: now, changes: .init())
        }
        changes = SummaryChanges()
        changed = 0
        let records = batch.records
        let groupOf = batch.jobGroups.groupOfRecord
        var stored: [Int] = []
        let insert = FastStatement(statement: insertNew, db: db)
        // Through a buffer pointer, each record is read where it lies instead of being copied
        // (and its dozen references retained and released) on its way into the statement.
        try records.withUnsafeBufferPointer { records in
            guard let base = records.baseAddress else { return }
            for i in records.indices {
                if groupOf[i] >= 0 {
                    if try insert.insert(base + i) { changed += 1 } else { stored.append(i) }
                } else {
                    try add(records[i])
                }
            }
        }
        let plan = batch.jobGroups
        for (g, amounts) in plan.amounts(skipping: stored, of: records).enumerated() {
            guard let amounts else { continue }
            let group = plan.groups[g]
            if let i = jobs.index(forKey: group) { jobs.values[i].add(amounts) } else { jobs[group] = amounts }
            changes.insert(.job, group.group.columns)
        }
        try flushBatch()
        try db.execute(
            sql: """
                INSERT INTO publishers (id, site, last_sequence, last_publish_time, accepted, rejected) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_sequence = excluded.last_sequence, last_publish_time = excluded.last_publish_time,
                    accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected
                """,
            arguments: [batch.publisherID, batch.site, Int64(bitPattern: batch.sequence), now, records.count, batch.rejectedCount])
        return CommitOutcome(
            duplicate: false, lastCommittedSequence: batch.sequence, acceptedCount: records.count, changedCount: changed,
            commitTime: now, changes: changes)
    }

    /// Stores a record that is not a job record, gathering what it adds to the summaries.
    private mutating func add(_ r: PreparedRecord) throws {
        switch r.contribution {
        case .job:
            preconditionFailure("job records are inserted by commit(_:)")
        case .jobSummary(let group, let amounts):
            // Replace semantics: the record key is the summary's full APEL key, so a resent
            // summary takes the place of the earlier one, in the records and in the sums.
            try replace(r)
            changed += 1
            imports[r.key] = (group, amounts)
        case .accelerator(let columns, let model, let amounts):
            guard try insertOnce(r) else { return }
            changed += 1
            accelerators[AcceleratorGroup(columns: columns, model: model), default: AcceleratorAmounts(available: 0, active: 0)].add(amounts)
        case .storage(let share, let c, let order, let a):
            guard try insertOnce(r) else { return }
            changed += 1
            try db.cachedStatement(sql: """
                INSERT INTO storage_usage (share, site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type,
                    order_time, used, logical, allocated, files, update_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(share, year, month) DO UPDATE SET site = excluded.site, vo = excluded.vo, vo_group = excluded.vo_group,
                    vo_role = excluded.vo_role, user = excluded.user, submit_host = excluded.submit_host,
                    infrastructure = excluded.infrastructure, benchmark_type = excluded.benchmark_type, order_time = excluded.order_time,
                    used = excluded.used, logical = excluded.logical, allocated = excluded.allocated, files = excluded.files,
                    update_time = excluded.update_time
                WHERE excluded.order_time >= storage_usage.order_time
                """).execute(arguments: StatementArguments([share] + Self.values(c) + [order, a.used, a.logical, a.allocated, a.files, now]))
            if db.changesCount > 0 { changes.insert(.storage, c) }
        case .cloud(let c, let order, let a):
            // The latest report per key counts; an older one arriving late changes nothing.
            try db.cachedStatement(sql: """
                INSERT INTO cloud_usage (entry, site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type,
                    order_time, vms, wall, cpu, cpu_count, memory_mb, disk_gb, net_in, net_out, update_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(entry, year, month) DO UPDATE SET site = excluded.site, vo = excluded.vo, vo_group = excluded.vo_group,
                    vo_role = excluded.vo_role, user = excluded.user, submit_host = excluded.submit_host,
                    infrastructure = excluded.infrastructure, benchmark_type = excluded.benchmark_type, order_time = excluded.order_time,
                    vms = excluded.vms, wall = excluded.wall, cpu = excluded.cpu, cpu_count = excluded.cpu_count,
                    memory_mb = excluded.memory_mb, disk_gb = excluded.disk_gb, net_in = excluded.net_in, net_out = excluded.net_out,
                    update_time = excluded.update_time
                WHERE excluded.order_time >= cloud_usage.order_time
                """).execute(arguments: StatementArguments(
                    [r.key] + Self.values(c)
                        + [order, a.vms, a.wall, a.cpu, a.cpuCount, a.memoryMB, a.diskGB, a.networkIn, a.networkOut, now]))
            guard db.changesCount > 0 else { return }
            try replace(r)
            changed += 1
            changes.insert(.cloud, c)
        case .none:
            try replace(r)
        }
    }

    /// Inserts a record that is never replaced; true if it was new.
    private func insertOnce(_ r: PreparedRecord) throws -> Bool {
        try FastStatement(statement: insertNew, db: db).insert(r)
    }

    private func replace(_ r: PreparedRecord) throws {
        _ = try FastStatement(statement: upsertRecord, db: db).insert(r)
    }

    /// Writes the job sums of the transaction's batches, each touched row once.
    mutating func flushJobs() throws {
        for (group, amounts) in jobs {
            var rowID = learnedIDs[group] ?? knownID(group)
            if let known = rowID {
                let a = amounts
                let updated = try FastStatement(statement: updateJobRow, db: db).run(
                    .int(a.jobs), .int(a.wall), .int(a.cpu), .int(a.coreSeconds), .int(a.earliestEnd), .int(a.latestEnd), .int(now), .int(known))
                if !updated { rowID = nil }
            }
            if rowID == nil {
                rowID = try upsertJobRow(source: "", group.group, amounts)
                if let rowID { learnedIDs[group] = rowID }
            }
            if let rowID { try addNormalised(amounts, to: rowID) }
        }
        jobs.removeAll()
    }

    /// Writes what the batch's imported summaries and accelerator records add, and forgets them.
    private mutating func flushBatch() throws {
        if !imports.isEmpty {
            let dropNormalised = try db.cachedStatement(sql: "DELETE FROM job_normalised WHERE summary_id IN (SELECT id FROM job_summaries WHERE source = ?)")
            let drop = try db.cachedStatement(sql: "DELETE FROM job_summaries WHERE source = ? RETURNING site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type")
            for (key, (group, amounts)) in imports {
                try dropNormalised.execute(arguments: [key])
                for row in try Row.fetchAll(drop, arguments: [key]) { changes.insert(.job, Self.columns(row)) }
                if let rowID = try upsertJobRow(source: key, group, amounts) { try addNormalised(amounts, to: rowID) }
                changes.insert(.job, group.columns)
            }
            imports.removeAll()
        }
        if !accelerators.isEmpty {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO accelerator_usage (site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type,
                    model, available, active, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type, model)
                DO UPDATE SET available = available + excluded.available, active = active + excluded.active, update_time = excluded.update_time
                """)
            for (g, a) in accelerators {
                try upsert.execute(arguments: StatementArguments(Self.values(g.columns) + [g.model, a.available, a.active, now]))
                changes.insert(.accelerator, g.columns)
            }
            accelerators.removeAll()
        }
    }

    /// Adds `a` to the job summary row of (`source`, `group`), creating it if needed; its id.
    private func upsertJobRow(source: String, _ group: JobGroup, _ a: JobAmounts) throws -> Int64? {
        let args: [(any DatabaseValueConvertible)?] = [source] + Self.values(group.columns) + [
            group.nodeCount, group.processors, group.benchmarkValue, a.jobs, a.wall, a.cpu, a.coreSeconds, a.earliestEnd, a.latestEnd, now,
        ]
        return try Int64.fetchOne(upsertJobSummary, arguments: StatementArguments(args))
    }

    /// Adds the normalised durations of `a` to job summary row `rowID`.
    private func addNormalised(_ a: JobAmounts, to rowID: Int64) throws {
        for n in a.normalised {
            try FastStatement(statement: upsertNormalised, db: db).run(.int(rowID), .text(n.type), .real(n.wall), .real(n.cpu))
        }
    }

    /// The group columns as statement values, in ``GroupColumns/names`` order.
    static func values(_ c: GroupColumns) -> [(any DatabaseValueConvertible)?] {
        [c.site, c.year, c.month, c.vo, c.voGroup, c.voRole, c.user, c.submitHost, c.infrastructure, c.benchmarkType]
    }

    /// Group columns read from the first ten columns of `row`, in ``GroupColumns/names`` order.
    static func columns(_ row: Row, from start: Int = 0) -> GroupColumns {
        var c = GroupColumns()
        c.site = row[start]
        c.year = row[start + 1]
        c.month = row[start + 2]
        c.vo = row[start + 3]
        c.voGroup = row[start + 4]
        c.voRole = row[start + 5]
        c.user = row[start + 6]
        c.submitHost = row[start + 7]
        c.infrastructure = row[start + 8]
        c.benchmarkType = row[start + 9]
        return c
    }
}
