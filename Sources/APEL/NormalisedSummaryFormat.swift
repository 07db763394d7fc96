import Gen

/// Normalised summary messages (`normalised_summary.py`): v0.3 under APEL's header
/// "APEL-summary-job-message: v0.3" (also read as "APEL-normalised-summary-message: v0.3"), and
/// "APEL-normalised-summary-message: v0.4".
///
/// v0.3 normalised durations are plain integers with no benchmark name: they are HEPSPEC06
/// seconds (the only normalisation there was), unless the record names a ServiceLevelType, which
/// APEL accepts as a database field. v0.4 writes them as maps, "{hepspec: 519728, HEPscore23: 708720}".
enum NormalisedSummaryFormat {
    static let keys = [
        "Site", "Month", "Year", "GlobalUserName", "VO", "VOGroup", "VORole", "SubmitHost", "Infrastructure",
        "InfrastructureDescription", "NodeCount", "Processors", "EarliestEndTime", "LatestEndTime", "WallDuration",
        "CpuDuration", "NormalisedWallDuration", "NormalisedCpuDuration", "NumberOfJobs",
    ]
    static let mandatory = [
        "Site", "Month", "Year", "WallDuration", "CpuDuration", "NormalisedWallDuration", "NormalisedCpuDuration",
        "NumberOfJobs",
    ]

    static func schema(v04: Bool) -> TextSchema {
        TextSchema(keys: keys, mandatory: mandatory, ignored: v04 ? ["UpdateTime"] : ["UpdateTime", "ServiceLevelType"])
    }

    static func decode(_ r: FieldReader, v04: Bool) throws(FieldError) -> Weft_Accounting_V1_NormalisedSummaryRecord {
        var s = Weft_Accounting_V1_NormalisedSummaryRecord()
        s.site = r.string("Site")
        s.month = try r.int32("Month")
        s.year = try r.int32("Year")
        s.globalUserName = r.string("GlobalUserName")
        s.vo = r.string("VO")
        s.voGroup = r.string("VOGroup")
        s.voRole = r.string("VORole")
        s.submitHost = r.string("SubmitHost")
        s.infrastructure = r.string("Infrastructure")
        s.infrastructureDescription = r.string("InfrastructureDescription")
        s.nodeCount = try r.int32("NodeCount")
        s.processors = try r.int32("Processors")
        if let t = try r.time("EarliestEndTime") { s.earliestEndTime = t }
        if let t = try r.time("LatestEndTime") { s.latestEndTime = t }
        if let d = try r.duration("WallDuration") { s.wallDuration = d }
        if let d = try r.duration("CpuDuration") { s.cpuDuration = d }
        if v04 {
            s.normalisedWallDurations = try r.map("NormalisedWallDuration", TextValue.int64)
            s.normalisedCpuDurations = try r.map("NormalisedCpuDuration", TextValue.int64)
        } else {
            let type = r.raw("ServiceLevelType")?.value ?? "HEPSPEC"
            if let v = try r.read("NormalisedWallDuration", TextValue.int64) { s.normalisedWallDurations = [type: v] }
            if let v = try r.read("NormalisedCpuDuration", TextValue.int64) { s.normalisedCpuDurations = [type: v] }
        }
        s.numberOfJobs = try r.int64("NumberOfJobs")
        return s
    }

    static func encode(_ s: Weft_Accounting_V1_NormalisedSummaryRecord, v04: Bool) -> String {
        var w = LineWriter()
        w.put("Site", s.site)
        w.put("Month", "\(s.month)")
        w.put("Year", "\(s.year)")
        w.put("GlobalUserName", s.globalUserName)
        w.put("VO", s.vo)
        w.put("VOGroup", s.voGroup)
        w.put("VORole", s.voRole)
        w.put("SubmitHost", s.submitHost)
        w.put("Infrastructure", s.infrastructure)
        w.put("InfrastructureDescription", s.infrastructureDescription)
        // v0.3 has room for one benchmark: HEPSPEC06 if present, else the preferred one. A type
        // other than HEPSPEC is named with ServiceLevelType (a field APEL accepts here) so that
        // HEPscore23 seconds are never read back as HEPSPEC06 seconds.
        let types = Set(s.normalisedWallDurations.keys).union(s.normalisedCpuDurations.keys)
        let v03Type = types.contains("HEPSPEC") ? "HEPSPEC" : (Normalisation.priority.first(where: types.contains) ?? types.sorted().first)
        if !v04, let v03Type, v03Type != "HEPSPEC" { w.put("ServiceLevelType", v03Type) }
        w.optional("NodeCount", s.nodeCount)
        w.optional("Processors", s.processors)
        w.time("EarliestEndTime", s.earliestEndTime, s.hasEarliestEndTime)
        w.time("LatestEndTime", s.latestEndTime, s.hasLatestEndTime)
        w.duration("WallDuration", s.wallDuration, s.hasWallDuration)
        w.duration("CpuDuration", s.cpuDuration, s.hasCpuDuration)
        if v04 {
            w.map("NormalisedWallDuration", s.normalisedWallDurations.mapValues { "\($0)" })
            w.map("NormalisedCpuDuration", s.normalisedCpuDurations.mapValues { "\($0)" })
        } else {
            if let type = v03Type {
                if let v = s.normalisedWallDurations[type] { w.put("NormalisedWallDuration", "\(v)") }
                if let v = s.normalisedCpuDurations[type] { w.put("NormalisedCpuDuration", "\(v)") }
            }
        }
        w.put("NumberOfJobs", "\(s.numberOfJobs)")
        return w.text
    }
}
