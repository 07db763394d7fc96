import Foundation
import Gen

/// One problem with a record: the APEL key of the field ("" for whole-record problems) and why.
public struct RecordProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The APEL key of the field, e.g. "EndTime"; "" when the problem is the whole record.
    public var field: String
    /// Why the record is refused, e.g. "EndTime is before StartTime".
    public var reason: String

    /// A problem with `field` (an APEL key, or "") for `reason`.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// "Field: reason", or the reason alone for whole-record problems.
    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}

/// APEL's record rules: mandatory fields, value ranges, time checks, and the values APEL derives.
///
/// The checks follow `apel/db/records/*.py` (`_check_fields` of each record class). Where the
/// protobuf record cannot tell "absent" from zero (Month, Year, counts), zero counts as absent for
/// the fields APEL requires; the text parsers additionally refuse a missing mandatory key.
public enum RecordRules {
    /// How far ahead of `now` an EndTime may be (APEL allows two days for time-zone slips).
    static let futureSlack: Int64 = 2 * 86400

    /// Checks a record against APEL's rules and fills what APEL derives (VO, VOGroup, VORole from FQAN when absent, canonical benchmark type names, …). Empty result = valid. `now` decides "EndTime not more than 2 days ahead" and "Month not in the future".
    public static func validate(_ record: inout Weft_Accounting_V1_UsageRecord, now: Date) -> [RecordProblem] {
        let nowSeconds = seconds(now)
        var problems = Problems()
        // Taken out of the oneof and put back: each record is checked and completed in place,
        // where binding it from the oneof and assigning it back would copy it twice.
        switch record.record.take() {
        case nil:
            problems.add("", "record is empty")
        case .job(var job):
            JobRules.check(&job, now: nowSeconds, into: &problems)
            record.record = .job(job)
        case .summary(var summary):
            SummaryRules.check(&summary, now: nowSeconds, into: &problems)
            record.record = .summary(summary)
        case .normalisedSummary(var summary):
            SummaryRules.check(&summary, now: nowSeconds, into: &problems)
            record.record = .normalisedSummary(summary)
        case .sync(let sync):
            problems.mandatory("Site", sync.site)
            problems.monthYear(month: sync.month, year: sync.year)
            problems.nonNegative("NumberOfJobs", sync.numberOfJobs)
            record.record = .sync(sync)
        case .cloud(var cloud):
            CloudRules.check(&cloud, into: &problems)
            record.record = .cloud(cloud)
        case .cloudSummary(var summary):
            CloudRules.check(&summary, now: nowSeconds, into: &problems)
            record.record = .cloudSummary(summary)
        case .storage(let storage):
            StorageRules.check(storage, into: &problems)
            record.record = .storage(storage)
        case .accelerator(var accelerator):
            AcceleratorRules.check(&accelerator, into: &problems)
            record.record = .accelerator(accelerator)
        }
        return problems.list
    }

    /// ``validate(_:now:)`` for a job record on its own, for callers that hold the job already
    /// (taken out of its ``Weft_Accounting_V1_UsageRecord``), so it is neither copied nor rewrapped.
    public static func validate(job: inout Weft_Accounting_V1_JobRecord, now: Date) -> [RecordProblem] {
        var problems = Problems()
        JobRules.check(&job, now: seconds(now), into: &problems)
        return problems.list
    }

    private static func seconds(_ now: Date) -> Int64 {
        Int64(exactly: now.timeIntervalSince1970.rounded(.down)) ?? Int64.max / 2
    }

    /// The site a record belongs to (job/summary/normalised/sync: Site; cloud/cloud summary/accelerator: SiteName; storage: its site field) — "" when unset.
    public static func site(of record: Weft_Accounting_V1_UsageRecord) -> String {
        switch record.record {
        case nil: return ""
        case .job(let r): return r.site
        case .summary(let r): return r.site
        case .normalisedSummary(let r): return r.site
        case .sync(let r): return r.site
        case .cloud(let r): return r.siteName
        case .cloudSummary(let r): return r.siteName
        case .storage(let r): return r.site
        case .accelerator(let r): return r.siteName
        }
    }

    /// The record's idempotency key as a string, unique across kinds (prefix the kind): job: site, local job id, end time; summary and normalised summary: their full group key; sync: site, submit host, month, year; cloud: VM UUID + measurement month/year (of EndTime, or RecordCreateTime when there is no end); cloud summary: full group key; storage: record id; accelerator: its APEL key fields. Use an unambiguous encoding (e.g. fields joined with \u{1F}).
    ///
    /// The group keys are the primary keys of APEL's tables (`schemas/server.sql`, `cloud.sql`).
    /// Fields are joined with U+001F and each field has U+001F and its escape U+001E escaped, so no
    /// two different field lists give the same key.
    public static func key(of record: Weft_Accounting_V1_UsageRecord) -> String {
        switch record.record {
        case nil:
            return "none"
        case .job(let r):
            return key(ofJob: r)
        case .summary(let r):
            return join(
                "summary", r.site, String(r.month), String(r.year), r.globalUserName, r.vo, r.voRole, r.voGroup,
                r.submitHost, r.infrastructureType, levels(r.serviceLevels), String(r.nodeCount), String(r.processors))
        case .normalisedSummary(let r):
            let types = Set(r.normalisedWallDurations.keys).union(r.normalisedCpuDurations.keys).sorted()
            return join(
                "normalised_summary", r.site, String(r.month), String(r.year), r.globalUserName, r.vo, r.voRole,
                r.voGroup, r.submitHost, r.infrastructure, String(r.nodeCount), String(r.processors),
                types.joined(separator: ","))
        case .sync(let r):
            return join("sync", r.site, r.submitHost, String(r.month), String(r.year))
        case .cloud(let r):
            let measured = r.hasEndTime ? r.endTime.seconds : r.recordCreateTime.seconds
            let (year, month) = EpochTime.yearMonth(ofSeconds: measured)
            return join("cloud", r.vmUuid, String(month), String(year))
        case .cloudSummary(let r):
            return join(
                "cloud_summary", r.siteName, r.cloudComputeService, String(r.month), String(r.year), r.globalUserName,
                r.vo, r.voGroup, r.voRole, r.status, r.imageId, String(r.cpuCount), r.benchmarkType, String(r.benchmark))
        case .storage(let r):
            return join("storage", r.recordId)
        case .accelerator(let r):
            return join(
                "accelerator", r.siteName, String(r.measurementMonth), String(r.measurementYear),
                r.associatedRecordType, r.associatedRecord, r.globalUserName, r.fqan, r.acceleratorType, r.model)
        }
    }

    /// The key of a job record (``key(of:)`` of a record holding `r`): site, local job id, end time.
    public static func key(ofJob r: Weft_Accounting_V1_JobRecord) -> String {
        var k = KeyBuilder("job", capacity: r.site.utf8.count + r.localJobId.utf8.count + 32)
        k.add(r.site)
        k.add(r.localJobId)
        if r.hasEndTime {
            k.add(r.endTime.seconds, r.endTime.nanos)
        } else {
            k.add("")
        }
        return k.text
    }

    private static func levels(_ levels: [String: Double]) -> String {
        levels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    private static func join(_ fields: String...) -> String {
        var k = KeyBuilder(fields.first ?? "", capacity: fields.reduce(fields.count) { $0 + $1.utf8.count })
        for field in fields.dropFirst() { k.add(field) }
        return k.text
    }

    /// Builds a key in one preallocated String: fields separated by U+001F, with U+001E written
    /// U+001E U+001E and U+001F written U+001E U+001F inside fields (fields without either byte,
    /// nearly all, are appended as they are).
    struct KeyBuilder {
        var text = ""

        init(_ first: String, capacity: Int) {
            text.reserveCapacity(capacity)
            append(escaped: first)
        }

        mutating func add(_ field: String) {
            text.append("\u{1F}")
            append(escaped: field)
        }

        /// A time as "seconds.nanos" (digits and "-" need no escaping).
        mutating func add(_ seconds: Int64, _ nanos: Int32) {
            text.append("\u{1F}")
            text.append(String(seconds))
            text.append(".")
            text.append(String(nanos))
        }

        private mutating func append(escaped field: String) {
            if !field.utf8.contains(where: { $0 == 0x1E || $0 == 0x1F }) {
                text.append(field)
                return
            }
            // Rare: the original escaping, whose matching is Foundation's (it does not escape a
            // separator that a combining mark follows).
            text.append(field.replacingOccurrences(of: "\u{1E}", with: "\u{1E}\u{1E}").replacingOccurrences(of: "\u{1F}", with: "\u{1E}\u{1F}"))
        }
    }
}

/// The problems found so far, with the checks shared by several record kinds.
struct Problems {
    var list: [RecordProblem] = []

    mutating func add(_ field: String, _ reason: String) { list.append(RecordProblem(field: field, reason: reason)) }

    /// A mandatory string field: present and not one of APEL's nulls.
    mutating func mandatory(_ field: String, _ value: String) {
        if value.isEmpty || TextValue.isNull(value) { add(field, "missing mandatory field") }
    }

    mutating func mandatory(_ field: String, present: Bool) {
        if !present { add(field, "missing mandatory field") }
    }

    mutating func nonNegative(_ field: String, _ value: Int64) {
        if value < 0 { add(field, "negative value: \(value)") }
    }

    mutating func nonNegative(_ field: String, _ value: Google_Protobuf_Duration, present: Bool = true) {
        if present, value.seconds < 0 || value.nanos < 0 { add(field, "negative value: \(value.seconds)") }
    }

    mutating func nonNegative(_ field: String, _ value: Double) {
        if !value.isFinite || value < 0 { add(field, "not a non-negative number: \(value)") }
    }

    /// Month 1–12 and a plausible year (both mandatory wherever they appear).
    mutating func monthYear(month: Int32, year: Int32, monthKey: String = "Month", yearKey: String = "Year") {
        if !(1...12).contains(month) { add(monthKey, "Month value is out of range") }
        if !(1...9999).contains(year) { add(yearKey, "Year value is out of range") }
    }

    /// APEL's summary month checks: the month is not in the future and the end times lie in it.
    mutating func summaryMonth(
        month: Int32, year: Int32, now: Int64, earliest: Google_Protobuf_Timestamp?, latest: Google_Protobuf_Timestamp?,
        earliestKey: String, latestKey: String, checkWithinMonth: Bool
    ) {
        let before = list.count
        monthYear(month: month, year: year)
        guard list.count == before else { return }
        let start = EpochTime.monthStart(year: Int64(year), month: Int64(month))
        let end = month == 12 ? EpochTime.monthStart(year: Int64(year) + 1, month: 1) : EpochTime.monthStart(year: Int64(year), month: Int64(month) + 1)
        if start > now { add("Month", "Month specified in record is in the future") }
        if checkWithinMonth {
            if let e = earliest, !(start...end).contains(e.seconds) { add(earliestKey, "\(earliestKey) is not within stated month") }
            if let l = latest, !(start...end).contains(l.seconds) { add(latestKey, "\(latestKey) is not within stated month") }
        }
        if let e = earliest, let l = latest, (e.seconds, e.nanos) > (l.seconds, l.nanos) {
            add(latestKey, "\(latestKey) is earlier than \(earliestKey)")
        }
    }

    /// Canonicalises the benchmark names of a service-level map (see `Normalisation`).
    /// Unknown types are dropped when a known one is present, as APEL keeps only known types;
    /// a map of unknown types only is refused.
    /// Returns whether the map may have changed (false when it certainly did not).
    @discardableResult
    mutating func benchmarks<V>(_ field: String, _ map: inout [String: V], valid: (V) -> Bool) -> Bool {
        guard !map.isEmpty else { return false }
        // One benchmark (nearly every record): the same outcome without sorting or a new map.
        if map.count == 1, let (type, value) = map.first {
            guard let canonical = Normalisation.canonicalType(type) else {
                add(field, "unknown benchmark type: \(type)")
                map = [:]
                return true
            }
            if !valid(value) { add(field, "invalid benchmark value for \(canonical)") }
            // Bytes, not String equality: the map keeps the canonical spelling byte for byte.
            guard !canonical.utf8.elementsEqual(type.utf8) else { return false }
            map = [canonical: value]
            return true
        }
        var out: [String: V] = [:]
        var unknown: [String] = []
        for (type, value) in map.sorted(by: { $0.key < $1.key }) {
            guard let canonical = Normalisation.canonicalType(type) else { unknown.append(type); continue }
            if out[canonical] != nil { add(field, "duplicate benchmark type: \(canonical)"); continue }
            if !valid(value) { add(field, "invalid benchmark value for \(canonical)") }
            out[canonical] = value
        }
        if out.isEmpty { add(field, "unknown benchmark type: \(unknown.joined(separator: ", "))") }
        map = out
        return true
    }
}

/// Rules of individual job records (`job.py`).
enum JobRules {
    /// Checks `job` and fills in its derived values (benchmark names, VO/VOGroup/VORole from FQAN).
    static func check(_ job: inout Weft_Accounting_V1_JobRecord, now: Int64, into p: inout Problems) {
        p.mandatory("Site", job.site)
        p.mandatory("LocalJobId", job.localJobId)
        p.mandatory("WallDuration", present: job.hasWallDuration)
        p.mandatory("CpuDuration", present: job.hasCpuDuration)
        p.mandatory("StartTime", present: job.hasStartTime)
        p.mandatory("EndTime", present: job.hasEndTime)
        p.nonNegative("WallDuration", job.wallDuration, present: job.hasWallDuration)
        p.nonNegative("CpuDuration", job.cpuDuration, present: job.hasCpuDuration)
        if job.processors < 0 { p.add("Processors", "negative value: \(job.processors)") }
        if job.nodeCount < 0 { p.add("NodeCount", "negative value: \(job.nodeCount)") }
        if job.hasStartTime, job.hasEndTime,
            (job.endTime.seconds, job.endTime.nanos) < (job.startTime.seconds, job.startTime.nanos)
        {
            p.add("EndTime", "EndTime is before StartTime")
        }
        if job.hasEndTime, job.endTime.seconds > now &+ RecordRules.futureSlack {
            p.add("EndTime", "EndTime is more than 2 days in the future")
        }
        p.benchmarks("ServiceLevelType", &job.serviceLevels) { $0.isFinite && $0 >= 0 }
        // The FQAN is only split when one of the values it gives is missing.
        if job.vo.isEmpty || job.voGroup.isEmpty || job.voRole.isEmpty, let fqan = FQAN(job.fqan) {
            if job.vo.isEmpty { job.vo = fqan.vo }
            if job.voGroup.isEmpty { job.voGroup = fqan.group }
            if job.voRole.isEmpty { job.voRole = fqan.role }
        }
    }
}

/// Rules of summaries and normalised summaries (`summary.py`, `normalised_summary.py`).
enum SummaryRules {
    static func check(_ s: inout Weft_Accounting_V1_SummaryRecord, now: Int64, into p: inout Problems) {
        p.mandatory("Site", s.site)
        p.mandatory("WallDuration", present: s.hasWallDuration)
        p.mandatory("CpuDuration", present: s.hasCpuDuration)
        p.summaryMonth(
            month: s.month, year: s.year, now: now, earliest: s.hasEarliestEndTime ? s.earliestEndTime : nil,
            latest: s.hasLatestEndTime ? s.latestEndTime : nil, earliestKey: "EarliestEndTime",
            latestKey: "LatestEndTime", checkWithinMonth: true)
        p.nonNegative("WallDuration", s.wallDuration, present: s.hasWallDuration)
        p.nonNegative("CpuDuration", s.cpuDuration, present: s.hasCpuDuration)
        p.nonNegative("NumberOfJobs", s.numberOfJobs)
        p.benchmarks("ServiceLevelType", &s.serviceLevels) { $0.isFinite && $0 >= 0 }
    }

    static func check(_ s: inout Weft_Accounting_V1_NormalisedSummaryRecord, now: Int64, into p: inout Problems) {
        p.mandatory("Site", s.site)
        p.mandatory("WallDuration", present: s.hasWallDuration)
        p.mandatory("CpuDuration", present: s.hasCpuDuration)
        if s.normalisedWallDurations.isEmpty { p.add("NormalisedWallDuration", "missing mandatory field") }
        if s.normalisedCpuDurations.isEmpty { p.add("NormalisedCpuDuration", "missing mandatory field") }
        p.summaryMonth(
            month: s.month, year: s.year, now: now, earliest: s.hasEarliestEndTime ? s.earliestEndTime : nil,
            latest: s.hasLatestEndTime ? s.latestEndTime : nil, earliestKey: "EarliestEndTime",
            latestKey: "LatestEndTime", checkWithinMonth: true)
        p.nonNegative("WallDuration", s.wallDuration, present: s.hasWallDuration)
        p.nonNegative("CpuDuration", s.cpuDuration, present: s.hasCpuDuration)
        p.nonNegative("NumberOfJobs", s.numberOfJobs)
        p.benchmarks("NormalisedWallDuration", &s.normalisedWallDurations) { $0 >= 0 }
        p.benchmarks("NormalisedCpuDuration", &s.normalisedCpuDurations) { $0 >= 0 }
    }
}

/// Rules of cloud records and cloud summaries (`cloud.py`, `cloud_summary.py`).
enum CloudRules {
    static func check(_ c: inout Weft_Accounting_V1_CloudRecord, into p: inout Problems) {
        p.mandatory("VMUUID", c.vmUuid)
        p.mandatory("SiteName", c.siteName)
        for (key, d, has) in [
            ("SuspendDuration", c.suspendDuration, c.hasSuspendDuration), ("WallDuration", c.wallDuration, c.hasWallDuration),
            ("CpuDuration", c.cpuDuration, c.hasCpuDuration),
        ] {
            p.nonNegative(key, d, present: has)
        }
        p.nonNegative("CpuCount", c.cpuCount)
        p.nonNegative("Benchmark", c.benchmark)
        // APEL stores cloud benchmark types as given; known ones get their canonical spelling.
        if let canonical = Normalisation.canonicalType(c.benchmarkType) { c.benchmarkType = canonical }
    }

    static func check(_ s: inout Weft_Accounting_V1_CloudSummaryRecord, now: Int64, into p: inout Problems) {
        p.mandatory("SiteName", s.siteName)
        p.summaryMonth(
            month: s.month, year: s.year, now: now, earliest: s.hasEarliestStartTime ? s.earliestStartTime : nil,
            latest: s.hasLatestStartTime ? s.latestStartTime : nil, earliestKey: "EarliestStartTime",
            latestKey: "LatestStartTime", checkWithinMonth: false)
        p.nonNegative("NumberOfVMs", s.numberOfVms)
        p.nonNegative("WallDuration", s.wallDuration, present: s.hasWallDuration)
        p.nonNegative("CpuDuration", s.cpuDuration, present: s.hasCpuDuration)
        p.nonNegative("CpuCount", s.cpuCount)
        p.nonNegative("Benchmark", s.benchmark)
        if let canonical = Normalisation.canonicalType(s.benchmarkType) { s.benchmarkType = canonical }
    }
}

/// Rules of StAR storage records (`storage.py`).
enum StorageRules {
    static func check(_ s: Weft_Accounting_V1_StorageRecord, into p: inout Problems) {
        p.mandatory("RecordId", s.recordId)
        p.mandatory("CreateTime", present: s.hasCreateTime)
        p.mandatory("StorageSystem", s.storageSystem)
        p.mandatory("StartTime", present: s.hasStartTime)
        p.mandatory("EndTime", present: s.hasEndTime)
        if s.hasStartTime, s.hasEndTime, (s.endTime.seconds, s.endTime.nanos) < (s.startTime.seconds, s.startTime.nanos) {
            p.add("EndTime", "EndTime is before StartTime")
        }
        p.nonNegative("FileCount", s.fileCount)
        p.nonNegative("ResourceCapacityUsed", s.resourceCapacityUsed)
        p.nonNegative("LogicalCapacityUsed", s.logicalCapacityUsed)
        p.nonNegative("ResourceCapacityAllocated", s.resourceCapacityAllocated)
    }
}

/// Rules of accelerator records (APEL accelerator message v0.1 as cASO and APEL's generator send it).
enum AcceleratorRules {
    static func check(_ a: inout Weft_Accounting_V1_AcceleratorRecord, into p: inout Problems) {
        p.monthYear(month: a.measurementMonth, year: a.measurementYear, monthKey: "MeasurementMonth", yearKey: "MeasurementYear")
        p.mandatory("AssociatedRecordType", a.associatedRecordType)
        p.mandatory("SiteName", a.siteName)
        p.mandatory("Type", a.acceleratorType)
        p.nonNegative("Count", a.count)
        p.nonNegative("Cores", a.cores)
        p.nonNegative("ActiveDuration", a.activeDuration, present: a.hasActiveDuration)
        p.nonNegative("AvailableDuration", a.availableDuration, present: a.hasAvailableDuration)
        p.nonNegative("Benchmark", a.benchmark)
        if let canonical = Normalisation.canonicalType(a.benchmarkType) { a.benchmarkType = canonical }
    }
}
