import Gen

/// Summary messages, "APEL-summary-job-message: v0.2" and "v0.4" (`summary.py`).
enum SummaryFormat {
    static let v04Keys = [
        "Site", "Month", "Year", "GlobalUserName", "VO", "VOGroup", "VORole", "SubmitHost", "InfrastructureType",
        "InfrastructureDescription", "ServiceLevel", "NodeCount", "Processors", "EarliestEndTime", "LatestEndTime",
        "WallDuration", "CpuDuration", "NumberOfJobs",
    ]
    static let mandatory = ["Site", "Month", "Year", "WallDuration", "CpuDuration", "NumberOfJobs"]

    static func schema(v04: Bool) -> TextSchema {
        var keys = v04Keys
        if !v04 { keys.insert("ServiceLevelType", at: keys.firstIndex(of: "ServiceLevel") ?? keys.count) }
        return TextSchema(keys: keys, mandatory: mandatory, ignored: ["UpdateTime"])
    }

    static func decode(_ r: FieldReader, v04: Bool) throws(FieldError) -> Weft_Accounting_V1_SummaryRecord {
        var s = Weft_Accounting_V1_SummaryRecord()
        s.site = r.string("Site")
        s.month = try r.int32("Month")
        s.year = try r.int32("Year")
        s.globalUserName = r.string("GlobalUserName")
        s.vo = r.string("VO")
        s.voGroup = r.string("VOGroup")
        s.voRole = r.string("VORole")
        s.submitHost = r.string("SubmitHost")
        s.infrastructureType = r.string("InfrastructureType")
        s.infrastructureDescription = r.string("InfrastructureDescription")
        s.serviceLevels = v04 ? try r.map("ServiceLevel", TextValue.double) : try r.serviceLevel()
        s.nodeCount = try r.int32("NodeCount")
        s.processors = try r.int32("Processors")
        if let t = try r.time("EarliestEndTime") { s.earliestEndTime = t }
        if let t = try r.time("LatestEndTime") { s.latestEndTime = t }
        if let d = try r.duration("WallDuration") { s.wallDuration = d }
        if let d = try r.duration("CpuDuration") { s.cpuDuration = d }
        s.numberOfJobs = try r.int64("NumberOfJobs")
        return s
    }

    static func encode(_ s: Weft_Accounting_V1_SummaryRecord, v04: Bool) -> String {
        var w = LineWriter()
        w.put("Site", s.site)
        w.put("Month", "\(s.month)")
        w.put("Year", "\(s.year)")
        w.put("GlobalUserName", s.globalUserName)
        w.put("VO", s.vo)
        w.put("VOGroup", s.voGroup)
        w.put("VORole", s.voRole)
        w.put("SubmitHost", s.submitHost)
        w.put("InfrastructureType", s.infrastructureType)
        w.put("InfrastructureDescription", s.infrastructureDescription)
        JobFormat.serviceLevels(s.serviceLevels, v04: v04, into: &w)
        w.optional("NodeCount", s.nodeCount)
        w.optional("Processors", s.processors)
        w.time("EarliestEndTime", s.earliestEndTime, s.hasEarliestEndTime)
        w.time("LatestEndTime", s.latestEndTime, s.hasLatestEndTime)
        w.duration("WallDuration", s.wallDuration, s.hasWallDuration)
        w.duration("CpuDuration", s.cpuDuration, s.hasCpuDuration)
        w.put("NumberOfJobs", "\(s.numberOfJobs)")
        return w.text
    }
}
