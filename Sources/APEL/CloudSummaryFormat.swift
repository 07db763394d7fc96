import Gen

/// Cloud summary messages, "APEL-cloud-summary-message: v0.4" (`cloud_summary.py`).
enum CloudSummaryFormat {
    static let schema = TextSchema(
        keys: [
            "SiteName", "CloudComputeService", "Month", "Year", "GlobalUserName", "VO", "VOGroup", "VORole", "Status",
            "CloudType", "ImageId", "EarliestStartTime", "LatestStartTime", "WallDuration", "CpuDuration", "CpuCount",
            "NetworkInbound", "NetworkOutbound", "Memory", "Disk", "BenchmarkType", "Benchmark", "NumberOfVMs",
        ],
        mandatory: ["SiteName", "Month", "Year", "NumberOfVMs"], ignored: ["UpdateTime"])

    static func decode(_ r: FieldReader) throws(FieldError) -> Weft_Accounting_V1_CloudSummaryRecord {
        var s = Weft_Accounting_V1_CloudSummaryRecord()
        s.siteName = r.string("SiteName")
        s.cloudComputeService = r.string("CloudComputeService")
        s.month = try r.int32("Month")
        s.year = try r.int32("Year")
        s.globalUserName = r.string("GlobalUserName")
        s.vo = r.string("VO")
        s.voGroup = r.string("VOGroup")
        s.voRole = r.string("VORole")
        s.status = r.string("Status")
        s.cloudType = r.string("CloudType")
        s.imageId = r.string("ImageId")
        if let t = try r.time("EarliestStartTime") { s.earliestStartTime = t }
        if let t = try r.time("LatestStartTime") { s.latestStartTime = t }
        if let d = try r.duration("WallDuration") { s.wallDuration = d }
        if let d = try r.duration("CpuDuration") { s.cpuDuration = d }
        s.cpuCount = try r.double("CpuCount")
        s.networkInbound = try r.int64("NetworkInbound")
        s.networkOutbound = try r.int64("NetworkOutbound")
        s.memoryMb = try r.int64("Memory")
        s.diskGb = try r.int64("Disk")
        s.benchmarkType = r.string("BenchmarkType")
        s.benchmark = try r.double("Benchmark")
        s.numberOfVms = try r.int64("NumberOfVMs")
        return s
    }

    static func encode(_ s: Weft_Accounting_V1_CloudSummaryRecord) -> String {
        var w = LineWriter()
        w.put("SiteName", s.siteName)
        w.put("CloudComputeService", s.cloudComputeService)
        w.put("Month", "\(s.month)")
        w.put("Year", "\(s.year)")
        w.put("GlobalUserName", s.globalUserName)
        w.put("VO", s.vo)
        w.put("VOGroup", s.voGroup)
        w.put("VORole", s.voRole)
        w.put("Status", s.status)
        w.put("CloudType", s.cloudType)
        w.put("ImageId", s.imageId)
        w.time("EarliestStartTime", s.earliestStartTime, s.hasEarliestStartTime)
        w.time("LatestStartTime", s.latestStartTime, s.hasLatestStartTime)
        w.duration("WallDuration", s.wallDuration, s.hasWallDuration)
        w.duration("CpuDuration", s.cpuDuration, s.hasCpuDuration)
        w.optional("CpuCount", s.cpuCount)
        w.optional("NetworkInbound", s.networkInbound)
        w.optional("NetworkOutbound", s.networkOutbound)
        w.optional("Memory", s.memoryMb)
        w.optional("Disk", s.diskGb)
        w.put("BenchmarkType", s.benchmarkType)
        w.optional("Benchmark", s.benchmark)
        w.put("NumberOfVMs", "\(s.numberOfVms)")
        return w.text
    }
}
