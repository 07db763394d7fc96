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
    public var records: [PreparedRecord]
    /// How many records of the batch were rejected (for the publisher's counters).
    public var rejectedCount: Int

    /// Creates a batch.
    public init(publisherID: String, site: String, sequence: UInt64, records: [PreparedRecord], rejectedCount: Int = 0) {
        self.publisherID = publisherID
        self.site = site
        self.sequence = sequence
        self.records = records
        self.rejectedCount = rejectedCount
    }
}

/// Summary groups a commit changed, per kind: what watches recompute.
public struct SummaryChanges: Sendable {
    /// The changed groups (full group columns) by summary kind.
    public var groups: [Weft_Accounting_V1_SummaryKind: Set<GroupColumns>] = [:]

    /// Creates an empty set of changes.
    public init() {}

    /// True when nothing changed.
    public var isEmpty: Bool { groups.values.allSatisfy(\.isEmpty) }

    mutating func insert(_ kind: Weft_Accounting_V1_SummaryKind, _ columns: GroupColumns) {
        groups[kind, default: []].insert(columns)
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
    /// treats it, so a later batch of the same publisher sees the earlier one's sequence.
    public func commit(_ batches: [BatchCommit]) async throws -> [CommitOutcome] {
        guard !batches.isEmpty else { return [] }
        let (outcomes, learned) = try await pool.write { db in
            let now = Self.nowNanos()
            var outcomes: [CommitOutcome] = []
            var learned: [JobGroup: Int64] = [:]
            for batch in batches {
                let (outcome, ids) = try Self.commit(batch, now: now, db: db) { group in
                    learned[group] ?? self.jobRowIDs.withLock { $0[group] }
                }
                outcomes.append(outcome)
                learned.merge(ids) { _, new in new }
            }
            return (outcomes, learned)
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

    /// Commits in `db`'s open transaction; `knownID` looks up cached job summary row ids.
    /// Returns the outcome and the ids of job summary rows the commit created.
    static func commit(_ batch: BatchCommit, now: Int64, db: Database, knownID: @escaping (JobGroup) -> Int64?) throws
        -> (CommitOutcome, [JobGroup: Int64])
    {
        let last = try Int64.fetchOne(db, sql: "SELECT last_sequence FROM publishers WHERE id = ?", arguments: [batch.publisherID])
            .map { UInt64(bitPattern: $0) } ?? 0
        if batch.sequence <= last {
            return (CommitOutcome(duplicate: true, lastCommittedSequence: last, acceptedCount: 0, changedCount: 0, commitTime: now, changes: .init()), [:])
        }
        var w = try IngestWriter(db: db, now: now, knownID: knownID)
        for record in batch.records { try w.add(record) }
        try w.flush()
        try db.execute(
            sql: """
                INSERT INTO publishers (id, site, last_sequence, last_publish_time, accepted, rejected) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET last_sequence = excluded.last_sequence, last_publish_time = excluded.last_publish_time,
                    accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected
                """,
            arguments: [batch.publisherID, batch.site, Int64(bitPattern: batch.sequence), now, batch.records.count, batch.rejectedCount])
        let outcome = CommitOutcome(
            duplicate: false, lastCommittedSequence: batch.sequence, acceptedCount: batch.records.count, changedCount: w.changed,
            commitTime: now, changes: w.changes)
        return (outcome, w.learnedIDs)
    }
}

/// Writes the records of one transaction and gathers their summary deltas, so that each touched
/// summary row is written once per batch however many records it sums.
struct IngestWriter {
    let db: Database
    let now: Int64
    let knownID: (JobGroup) -> Int64?
    /// Ids of job summary rows (source '') this transaction created.
    var learnedIDs: [JobGroup: Int64] = [:]
    let insertNew: Statement
    let upsertRecord: Statement
    var jobs: [JobGroup: JobAmounts] = [:]
    var imports: [String: (JobGroup, JobAmounts)] = [:]
    var accelerators: [AcceleratorGroup: AcceleratorAmounts] = [:]
    var changes = SummaryChanges()
    var changed = 0

    struct AcceleratorGroup: Hashable {
        var columns: GroupColumns
        var model: String
    }

    init(db: Database, now: Int64, knownID: @escaping (JobGroup) -> Int64?) throws {
        self.db = db
        self.now = now
        self.knownID = knownID
        insertNew = try db.cachedStatement(sql: "INSERT INTO records (kind, key, site, year, month, data) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING")
        upsertRecord = try db.cachedStatement(sql: """
            INSERT INTO records (kind, key, site, year, month, data) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, site = excluded.site, year = excluded.year, month = excluded.month, data = excluded.data
            """)
    }

    /// Inserts a record that is never replaced; true if it was new.
    private func insertOnce(_ r: PreparedRecord) throws -> Bool {
        try FastStatement(statement: insertNew, db: db).run(r)
    }

    private func replace(_ r: PreparedRecord) throws {
        _ = try FastStatement(statement: upsertRecord, db: db).run(r)
    }

    mutating func add(_ r: PreparedRecord) throws {
        switch r.contribution {
        case .job(let group, let amounts):
            guard try insertOnce(r) else { return }
            changed += 1
            if let i = jobs.index(forKey: group) { jobs.values[i].add(amounts) } else { jobs[group] = amounts }
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

    /// Writes the gathered summary deltas.
    mutating func flush() throws {
        let upsertJob = try db.cachedStatement(sql: """
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
        let upsertNormalised = try db.cachedStatement(sql: """
            INSERT INTO job_normalised (summary_id, benchmark_type, wall, cpu) VALUES (?, ?, ?, ?)
            ON CONFLICT(summary_id, benchmark_type) DO UPDATE SET wall = wall + excluded.wall, cpu = cpu + excluded.cpu
            """)
        let addToRow = try db.cachedStatement(sql: """
            UPDATE job_summaries SET jobs = jobs + ?, wall = wall + ?, cpu = cpu + ?, core_seconds = core_seconds + ?,
                earliest_end = min(earliest_end, ?), latest_end = max(latest_end, ?), update_time = ?
            WHERE id = ?
            """)
        func write(source: String, _ group: JobGroup, _ a: JobAmounts) throws {
            var rowID: Int64?
            if source.isEmpty, let known = knownID(group) {
                let changed = try FastStatement(statement: addToRow, db: db).run(
                    .int(a.jobs), .int(a.wall), .int(a.cpu), .int(a.coreSeconds), .int(a.earliestEnd), .int(a.latestEnd), .int(now), .int(known))
                if changed { rowID = known }
            }
            if rowID == nil {
                let args: [(any DatabaseValueConvertible)?] = [source] + Self.values(group.columns) + [
                    group.nodeCount, group.processors, group.benchmarkValue, a.jobs, a.wall, a.cpu, a.coreSeconds, a.earliestEnd, a.latestEnd, now,
                ]
                rowID = try Int64.fetchOne(upsertJob, arguments: StatementArguments(args))
                if source.isEmpty, let rowID { learnedIDs[group] = rowID }
            }
            guard let id = rowID else { return }
            for n in a.normalised {
                try FastStatement(statement: upsertNormalised, db: db).run(.int(id), .text(n.type), .real(n.wall), .real(n.cpu))
            }
            changes.insert(.job, group.columns)
        }
        for (group, amounts) in jobs { try write(source: "", group, amounts) }
        if !imports.isEmpty {
            let dropNormalised = try db.cachedStatement(sql: "DELETE FROM job_normalised WHERE summary_id IN (SELECT id FROM job_summaries WHERE source = ?)")
            let drop = try db.cachedStatement(sql: "DELETE FROM job_summaries WHERE source = ? RETURNING site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type")
            for (key, (group, amounts)) in imports {
                try dropNormalised.execute(arguments: [key])
                for row in try Row.fetchAll(drop, arguments: [key]) { changes.insert(.job, Self.columns(row)) }
                try write(source: key, group, amounts)
            }
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
