import Foundation
import Gen
import WeftAPEL

/// A validated record ready to store: its APEL key, its bytes, and what it adds to the summaries.
///
/// Building one is pure CPU work, done off the store's writer (the service prepares the next
/// batch while the previous one commits).
public struct PreparedRecord: Sendable {
    /// The kind of record.
    public var kind: RecordKind
    /// APEL idempotency key (``RecordRules/key(of:)``).
    public var key: String
    /// Site the record belongs to.
    public var site: String
    /// Month the record counts in.
    public var month: YearMonth
    /// The record, serialized (protobuf); encoded here, off the writer.
    public var data: Data
    var contribution: Contribution

    /// Prepares `record`, which ``RecordRules/validate(_:now:)`` has accepted; nil when no
    /// record is set. `benchmarks` carries benchmark normalisations from record to record.
    public init?(validated record: Weft_Accounting_V1_UsageRecord, benchmarks: inout BenchmarkMemo) {
        if case .job(let job)? = record.record {
            self.init(validatedJob: job, benchmarks: &benchmarks)
            return
        }
        guard let kind = RecordKind(record) else { return nil }
        let (month, contribution) = Self.contribution(of: record, benchmarks: &benchmarks)
        self.init(kind: kind, key: RecordRules.key(of: record), site: RecordRules.site(of: record), month: month,
                  data: record.serializedData(), contribution: contribution)
    }

    /// Prepares a job record that ``RecordRules/validate(job:now:)`` has accepted: nearly every
    /// record, so the job is read in place and moved into the stored record, never copied.
    public init(validatedJob job: consuming Weft_Accounting_V1_JobRecord, benchmarks: inout BenchmarkMemo) {
        let key = RecordRules.key(ofJob: job)
        let site = job.site
        let (month, contribution) = Self.contribution(of: job, benchmarks: &benchmarks)
        var record = Weft_Accounting_V1_UsageRecord()
        record.record = .job(job)
        self.init(kind: .job, key: key, site: site, month: month, data: record.serializedData(), contribution: contribution)
    }

    private init(kind: RecordKind, key: String, site: String, month: YearMonth, data: Data, contribution: Contribution) {
        self.kind = kind
        self.key = key
        self.site = site
        self.month = month
        self.data = data
        self.contribution = contribution
    }

    /// Prepares one record on its own (see ``init(validated:benchmarks:)``).
    public init?(validated record: Weft_Accounting_V1_UsageRecord) {
        var memo = BenchmarkMemo()
        self.init(validated: record, benchmarks: &memo)
    }

    static func contribution(of record: Weft_Accounting_V1_UsageRecord, benchmarks: inout BenchmarkMemo) -> (YearMonth, Contribution) {
        switch record.record {
        case .job(let j)?:
            return contribution(of: j, benchmarks: &benchmarks)

        case .summary(let s)?:
            let month = YearMonth(year: Int(s.year), month: Int(s.month))
            let c = columns(site: s.site, month: month, vo: s.vo, voGroup: s.voGroup, voRole: s.voRole, user: s.globalUserName,
                            submitHost: s.submitHost, infrastructure: s.infrastructureType.isEmpty ? s.infrastructureDescription : s.infrastructureType)
            let benchmark = benchmarks.lookup(s.serviceLevels)
            let preferred = benchmark.preferred
            var cc = c
            cc.benchmarkType = preferred.type
            let wall = max(0, s.wallDuration.seconds)
            let cpu = max(0, s.cpuDuration.seconds)
            var amounts = JobAmounts(
                jobs: s.numberOfJobs, wall: wall, cpu: cpu, coreSeconds: Int64(max(1, s.processors)) * wall,
                earliestEnd: s.earliestEndTime.seconds, latestEnd: s.latestEndTime.seconds)
            for (type, factor) in benchmark.factors {
                amounts.normalised.append(.init(type: type, wall: Double(wall) * factor, cpu: Double(cpu) * factor))
            }
            let group = JobGroup(columns: cc, nodeCount: s.nodeCount, processors: s.processors, benchmarkValue: preferred.value)
            return (month, .jobSummary(group, amounts))

        case .normalisedSummary(let s)?:
            let month = YearMonth(year: Int(s.year), month: Int(s.month))
            var c = columns(site: s.site, month: month, vo: s.vo, voGroup: s.voGroup, voRole: s.voRole, user: s.globalUserName,
                            submitHost: s.submitHost, infrastructure: s.infrastructure.isEmpty ? s.infrastructureDescription : s.infrastructure)
            // No service level value travels with a normalised summary (APEL stores 0).
            c.benchmarkType = Normalisation.preferred(s.normalisedWallDurations.mapValues { _ in 1 })?.type
                ?? s.normalisedWallDurations.keys.sorted().first ?? ""
            let wall = max(0, s.wallDuration.seconds)
            var amounts = JobAmounts(
                jobs: s.numberOfJobs, wall: wall, cpu: max(0, s.cpuDuration.seconds), coreSeconds: Int64(max(1, s.processors)) * wall,
                earliestEnd: s.earliestEndTime.seconds, latestEnd: s.latestEndTime.seconds)
            for type in Set(s.normalisedWallDurations.keys).union(s.normalisedCpuDurations.keys).sorted() {
                amounts.normalised.append(.init(type: type, wall: Double(s.normalisedWallDurations[type] ?? 0),
                                                cpu: Double(s.normalisedCpuDurations[type] ?? 0)))
            }
            let group = JobGroup(columns: c, nodeCount: s.nodeCount, processors: s.processors, benchmarkValue: 0)
            return (month, .jobSummary(group, amounts))

        case .sync(let s)?:
            return (YearMonth(year: Int(s.year), month: Int(s.month)), .none)

        case .cloud(let r)?:
            // A running instance reports repeatedly; the latest report of a month (by
            // RecordCreateTime) counts. The month is RecordRules' (EndTime, else RecordCreateTime).
            let at = r.hasEndTime ? r.endTime : r.recordCreateTime
            let month = YearMonth(unixSeconds: at.seconds)
            let fqan = FQAN(r.fqan)
            var c = columns(site: r.siteName, month: month, vo: fqan?.vo ?? "", voGroup: fqan?.group ?? "", voRole: fqan?.role ?? "",
                            user: r.globalUserName, submitHost: r.cloudComputeService, infrastructure: r.cloudType)
            c.benchmarkType = r.benchmarkType
            let amounts = CloudAmounts(
                vms: 1, wall: r.wallDuration.seconds, cpu: r.cpuDuration.seconds, cpuCount: r.cpuCount, memoryMB: r.memoryMb,
                diskGB: r.diskGb, networkIn: r.networkInbound, networkOut: r.networkOutbound)
            let created = r.recordCreateTime
            return (month, .cloud(c, order: created.seconds &* 1_000_000_000 &+ Int64(created.nanos), amounts))

        case .cloudSummary(let s)?:
            let month = YearMonth(year: Int(s.year), month: Int(s.month))
            var c = columns(site: s.siteName, month: month, vo: s.vo, voGroup: s.voGroup, voRole: s.voRole, user: s.globalUserName,
                            submitHost: s.cloudComputeService, infrastructure: s.cloudType)
            c.benchmarkType = s.benchmarkType
            let amounts = CloudAmounts(
                vms: s.numberOfVms, wall: s.wallDuration.seconds, cpu: s.cpuDuration.seconds, cpuCount: s.cpuCount, memoryMB: s.memoryMb,
                diskGB: s.diskGb, networkIn: s.networkInbound, networkOut: s.networkOutbound)
            // A resent summary (same key) always replaces the previous one.
            return (month, .cloud(c, order: .max, amounts))

        case .storage(let s)?:
            let month = YearMonth(unixSeconds: s.endTime.seconds)
            let c = columns(site: s.site, month: month, vo: s.voGroupName, voGroup: s.subGroup, voRole: s.role, user: s.userIdentity,
                            submitHost: s.storageSystem, infrastructure: s.storageMedia)
            let share = [s.site, s.storageSystem, s.storageShare, s.storageMedia, s.storageClass, s.voGroupName, s.subGroup, s.role,
                         s.userIdentity, s.localUser, s.localGroup].joined(separator: "\u{1F}")
            let amounts = StorageAmounts(
                used: s.resourceCapacityUsed, logical: s.logicalCapacityUsed, allocated: s.resourceCapacityAllocated, files: s.fileCount)
            return (month, .storage(share: share, c, order: s.endTime.seconds &* 1_000_000_000 &+ Int64(s.endTime.nanos), amounts))

        case .accelerator(let a)?:
            let month = YearMonth(year: Int(a.measurementYear), month: Int(a.measurementMonth))
            let fqan = FQAN(a.fqan)
            var c = columns(site: a.siteName, month: month, vo: fqan?.vo ?? "", voGroup: fqan?.group ?? "", voRole: fqan?.role ?? "",
                            user: a.globalUserName, submitHost: "", infrastructure: a.acceleratorType)
            c.benchmarkType = a.benchmarkType
            let amounts = AcceleratorAmounts(
                available: a.count * seconds(a.availableDuration), active: a.count * seconds(a.activeDuration))
            return (month, .accelerator(c, model: a.model, amounts))

        case nil:
            return (YearMonth(year: 0, month: 0), .none)
        }
    }

    /// What job `j` adds to the summaries, and the month it counts in.
    static func contribution(of j: Weft_Accounting_V1_JobRecord, benchmarks: inout BenchmarkMemo) -> (YearMonth, Contribution) {
        let month = YearMonth(unixSeconds: j.endTime.seconds)
        var c = columns(site: j.site, month: month, vo: j.vo, voGroup: j.voGroup, voRole: j.voRole, user: j.globalUserName,
                        submitHost: j.submitHost, infrastructure: j.infrastructureType.isEmpty ? j.infrastructureDescription : j.infrastructureType)
        let benchmark = benchmarks.lookup(j.serviceLevels)
        let preferred = benchmark.preferred
        c.benchmarkType = preferred.type
        let group = JobGroup(columns: c, nodeCount: j.nodeCount, processors: j.processors, benchmarkValue: preferred.value)
        let wall = max(0, j.wallDuration.seconds)
        let cpu = max(0, j.cpuDuration.seconds)
        var amounts = JobAmounts(
            jobs: 1, wall: wall, cpu: cpu, coreSeconds: Int64(max(1, j.processors)) * wall,
            earliestEnd: j.endTime.seconds, latestEnd: j.endTime.seconds)
        for (type, factor) in benchmark.factors {
            amounts.normalised.append(.init(type: type, wall: Double(wall) * factor, cpu: Double(cpu) * factor))
        }
        return (month, .job(group, amounts))
    }

    private static func seconds(_ d: Google_Protobuf_Duration) -> Double { Double(d.seconds) + Double(d.nanos) / 1e9 }

    private static func columns(site: String, month: YearMonth, vo: String, voGroup: String, voRole: String, user: String,
                                submitHost: String, infrastructure: String) -> GroupColumns {
        var c = GroupColumns()
        c.site = site
        c.year = month.year
        c.month = month.month
        c.vo = vo
        c.voGroup = voGroup
        c.voRole = voRole
        c.user = user
        c.submitHost = submitHost
        c.infrastructure = infrastructure
        return c
    }

    /// The benchmark a summary row is keyed by: APEL's preferred one, normalised (si2k 2500 is
    /// HEPSPEC 10), so that grouping by benchmark type puts si2k and HEPSPEC jobs together.
    static func preferredBenchmark(_ levels: [String: Double]) -> (type: String, value: Double) {
        guard let p = Normalisation.preferred(levels) else { return ("", 0) }
        guard let n = Normalisation.normalise(type: p.type, value: p.value) else { return (p.type, p.value) }
        return (n.type, n.factor)
    }

    /// Normalisation factor per normalised benchmark type. When two service levels normalise to
    /// the same type (e.g. "si2k" and "HEPSPEC"), the one already of that type wins, so the result
    /// does not depend on dictionary order.
    static func normalisedFactors(_ levels: [String: Double]) -> [(String, Double)] {
        if levels.isEmpty { return [] }
        if levels.count == 1, let (t, v) = levels.first {
            return Normalisation.normalise(type: t, value: v).map { [($0.type, $0.factor)] } ?? []
        }
        var out: [String: (factor: Double, exact: Bool)] = [:]
        for (t, v) in levels.sorted(by: { $0.key < $1.key }) {
            guard let n = Normalisation.normalise(type: t, value: v) else { continue }
            let exact = n.type == t
            if let existing = out[n.type], existing.exact || !exact { continue }
            out[n.type] = (n.factor, exact)
        }
        return out.sorted { $0.key < $1.key }.map { ($0.key, $0.value.factor) }
    }
}

/// What one record adds to the summaries.
enum Contribution: Sendable {
    /// A job: added to its group.
    case job(JobGroup, JobAmounts)
    /// A (normalised) summary record: replaces the previous contribution of the same record key.
    case jobSummary(JobGroup, JobAmounts)
    /// A cloud instance report or cloud summary: the latest (by `order`) per record key counts.
    case cloud(GroupColumns, order: Int64, CloudAmounts)
    /// A storage record: the latest per share and month counts.
    case storage(share: String, GroupColumns, order: Int64, StorageAmounts)
    /// Accelerator usage: added to its group.
    case accelerator(GroupColumns, model: String, AcceleratorAmounts)
    /// Stored only (sync records).
    case none
}

/// The full key of a job summary row (APEL's summariser grouping).
struct JobGroup: Hashable, Sendable {
    var columns: GroupColumns
    var nodeCount: Int32
    var processors: Int32
    var benchmarkValue: Double
}

/// A job group with its hash computed once, when its batch is prepared: the writer merges the
/// groups of queued batches and looks up their row ids by this hash instead of hashing ten
/// strings again on the thread that holds the write lock.
struct HashedJobGroup: Hashable, Sendable {
    let group: JobGroup
    let hash: Int

    init(_ group: JobGroup) {
        self.group = group
        // Hashed from the fields that tell a site's groups apart (user, submit host, month,
        // cores, nodes, benchmark value): two of the key's eight strings instead of all eight.
        // Groups that differ only in site, VO, infrastructure or benchmark type share a hash
        // and are told apart by `==`.
        var hasher = Hasher()
        hasher.combine(group.columns.user)
        hasher.combine(group.columns.submitHost)
        hasher.combine(group.columns.year &* 16 &+ group.columns.month)
        hasher.combine(group.processors)
        hasher.combine(group.nodeCount)
        hasher.combine(group.benchmarkValue)
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (a: Self, b: Self) -> Bool { a.hash == b.hash && a.group == b.group }
}

/// The job records of one batch summed per summary row, built with the batch (off the writer),
/// so that the writer only inserts records and then writes each touched row once.
struct JobGroupPlan: Sendable {
    /// The batch's groups, in order of first appearance.
    private(set) var groups: [HashedJobGroup] = []
    /// Each group's sums over all of the batch's job records.
    private(set) var amounts: [JobAmounts] = []
    /// For every record of the batch, the index of its group in `groups`, or -1 (not a job record).
    private(set) var groupOfRecord: [Int32] = []

    init(_ records: [PreparedRecord]) {
        var index: [HashedJobGroup: Int32] = [:]
        // Sized up front: growing the table would hash every group again at each doubling.
        index.reserveCapacity(records.count)
        groupOfRecord.reserveCapacity(records.count)
        for i in records.indices {
            guard case .job(let group, let a) = records[i].contribution else {
                groupOfRecord.append(-1)
                continue
            }
            let key = HashedJobGroup(group)
            if let g = index[key] {
                amounts[Int(g)].add(a)
                groupOfRecord.append(g)
            } else {
                let g = Int32(groups.count)
                index[key] = g
                groups.append(key)
                amounts.append(a)
                groupOfRecord.append(g)
            }
        }
    }

    /// The groups' sums without the records at `skipped` (job records the store already had);
    /// nil for a group left without records. Summed again from the records, since earliest and
    /// latest end times cannot be subtracted.
    func amounts(skipping skipped: [Int], of records: [PreparedRecord]) -> [JobAmounts?] {
        var result: [JobAmounts?] = amounts
        if skipped.isEmpty { return result }
        let skip = Set(skipped)
        var dirty = Set<Int32>()
        for i in skipped { dirty.insert(groupOfRecord[i]) }
        for g in dirty { result[Int(g)] = nil }
        for i in records.indices where !skip.contains(i) {
            let g = groupOfRecord[i]
            guard g >= 0, dirty.contains(g), case .job(_, let a) = records[i].contribution else { continue }
            if result[Int(g)] == nil { result[Int(g)] = a } else { result[Int(g)]?.add(a) }
        }
        return result
    }
}

/// Normalised durations for one benchmark type.
struct NormalisedAmount: Sendable {
    var type: String
    var wall: Double
    var cpu: Double
}

/// Job totals of a summary row.
struct JobAmounts: Sendable {
    var jobs: Int64
    var wall: Int64
    var cpu: Int64
    var coreSeconds: Int64
    var earliestEnd: Int64
    var latestEnd: Int64
    var normalised: [NormalisedAmount] = []

    mutating func add(_ o: JobAmounts) {
        jobs += o.jobs
        wall += o.wall
        cpu += o.cpu
        coreSeconds += o.coreSeconds
        earliestEnd = min(earliestEnd, o.earliestEnd)
        latestEnd = max(latestEnd, o.latestEnd)
        outer: for n in o.normalised {
            for i in normalised.indices where normalised[i].type == n.type {
                normalised[i].wall += n.wall
                normalised[i].cpu += n.cpu
                continue outer
            }
            normalised.append(n)
        }
    }
}

/// Cloud totals of one entry.
struct CloudAmounts: Sendable {
    var vms: Int64
    var wall: Int64
    var cpu: Int64
    var cpuCount: Double
    var memoryMB: Int64
    var diskGB: Int64
    var networkIn: Int64
    var networkOut: Int64
}

/// Storage figures of one share.
struct StorageAmounts: Sendable {
    var used: Int64
    var logical: Int64
    var allocated: Int64
    var files: Int64
}

/// Accelerator totals, in device-seconds.
struct AcceleratorAmounts: Sendable {
    var available: Double
    var active: Double

    mutating func add(_ o: AcceleratorAmounts) {
        available += o.available
        active += o.active
    }
}
