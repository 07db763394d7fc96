import Gen

/// Individual job messages, "APEL-individual-job-message: v0.3" and "v0.4" (`job.py`).
///
/// v0.3 carries one benchmark as "ServiceLevelType" and "ServiceLevel"; v0.4 carries
/// "ServiceLevel: {HEPscore23: 15.3, HEPSPEC: 11.4}" and no ServiceLevelType. APEL keeps only the
/// preferred entry of a v0.4 map; Weft keeps them all. Writing v0.3 keeps the preferred one.
enum JobFormat {
    static let v04Keys = [
        "Site", "SubmitHost", "MachineName", "Queue", "LocalJobId", "LocalUserId", "GlobalUserName", "FQAN", "VO",
        "VOGroup", "VORole", "WallDuration", "CpuDuration", "Processors", "NodeCount", "StartTime", "EndTime",
        "InfrastructureDescription", "InfrastructureType", "MemoryReal", "MemoryVirtual", "ServiceLevel",
    ]
    static let mandatory = ["Site", "LocalJobId", "WallDuration", "CpuDuration", "StartTime", "EndTime"]
    static let ignored = ["SubmitHostType", "UpdateTime"]

    static func schema(v04: Bool) -> TextSchema {
        var keys = v04Keys
        if !v04 { keys.insert("ServiceLevelType", at: keys.count - 1) }
        return TextSchema(keys: keys, mandatory: mandatory, ignored: ignored)
    }

    static func decode(_ r: FieldReader, v04: Bool) throws(FieldError) -> Weft_Accounting_V1_JobRecord {
        var j = Weft_Accounting_V1_JobRecord()
        j.site = r.string("Site")
        j.submitHost = r.string("SubmitHost")
        j.machineName = r.string("MachineName")
        j.queue = r.string("Queue")
        j.localJobId = r.string("LocalJobId")
        j.localUserId = r.string("LocalUserId")
        j.globalUserName = r.string("GlobalUserName")
        j.fqan = r.string("FQAN")
        j.vo = r.string("VO")
        j.voGroup = r.string("VOGroup")
        j.voRole = r.string("VORole")
        if let d = try r.duration("WallDuration") { j.wallDuration = d }
        if let d = try r.duration("CpuDuration") { j.cpuDuration = d }
        j.processors = try r.int32("Processors")
        j.nodeCount = try r.int32("NodeCount")
        if let t = try r.time("StartTime") { j.startTime = t }
        if let t = try r.time("EndTime") { j.endTime = t }
        j.infrastructureDescription = r.string("InfrastructureDescription")
        j.infrastructureType = r.string("InfrastructureType")
        j.memoryRealKb = try r.int64("MemoryReal")
        j.memoryVirtualKb = try r.int64("MemoryVirtual")
        j.serviceLevels = v04 ? try r.map("ServiceLevel", TextValue.double) : try r.serviceLevel()
        return j
    }

    static func encode(_ j: Weft_Accounting_V1_JobRecord, v04: Bool) -> String {
        var w = LineWriter()
        w.put("Site", j.site)
        w.put("SubmitHost", j.submitHost)
        w.put("MachineName", j.machineName)
        w.put("Queue", j.queue)
        w.put("LocalJobId", j.localJobId)
        w.put("LocalUserId", j.localUserId)
        w.put("GlobalUserName", j.globalUserName)
        w.put("FQAN", j.fqan)
        w.put("VO", j.vo)
        w.put("VOGroup", j.voGroup)
        w.put("VORole", j.voRole)
        w.duration("WallDuration", j.wallDuration, j.hasWallDuration)
        w.duration("CpuDuration", j.cpuDuration, j.hasCpuDuration)
        w.optional("Processors", j.processors)
        w.optional("NodeCount", j.nodeCount)
        w.time("StartTime", j.startTime, j.hasStartTime)
        w.time("EndTime", j.endTime, j.hasEndTime)
        w.put("InfrastructureDescription", j.infrastructureDescription)
        w.put("InfrastructureType", j.infrastructureType)
        w.optional("MemoryReal", j.memoryRealKb)
        w.optional("MemoryVirtual", j.memoryVirtualKb)
        serviceLevels(j.serviceLevels, v04: v04, into: &w)
        return w.text
    }

    /// Writes a benchmark map as v0.4 "ServiceLevel: {…}" or as v0.3's type and value lines.
    static func serviceLevels(_ levels: [String: Double], v04: Bool, into w: inout LineWriter) {
        if v04 {
            w.map("ServiceLevel", levels.mapValues(TextValue.format))
        } else if let best = Normalisation.preferred(levels) ?? levels.sorted(by: { $0.key < $1.key }).first.map({ ($0.key, $0.value) }) {
            w.put("ServiceLevelType", best.0)
            w.put("ServiceLevel", TextValue.format(best.1))
        }
    }
}
