import Gen

/// Cloud messages, "APEL-cloud-message: v0.4" (`cloud.py`). Times are epoch seconds like every
/// APEL text message (APEL also accepts ISO 8601 there, and so does Weft). VO, VOGroup and VORole
/// are accepted and ignored: APEL derives them from FQAN.
enum CloudFormat {
    static let schema = TextSchema(
        keys: [
            "RecordCreateTime", "VMUUID", "SiteName", "CloudComputeService", "MachineName", "LocalUserId",
            "LocalGroupId", "GlobalUserName", "FQAN", "Status", "StartTime", "EndTime", "SuspendDuration",
            "WallDuration", "CpuDuration", "CpuCount", "NetworkType", "NetworkInbound", "NetworkOutbound",
            "PublicIPCount", "Memory", "Disk", "BenchmarkType", "Benchmark", "StorageRecordId", "ImageId", "CloudType",
        ],
        mandatory: ["VMUUID", "SiteName"],
        ignored: ["UpdateTime", "MeasurementTime", "MeasurementMonth", "MeasurementYear", "VO", "VOGroup", "VORole"])

    static func decode(_ r: FieldReader) throws(FieldError) -> Weft_Accounting_V1_CloudRecord {
        var c = Weft_Accounting_V1_CloudRecord()
        if let t = try r.time("RecordCreateTime") { c.recordCreateTime = t }
        c.vmUuid = r.string("VMUUID")
        c.siteName = r.string("SiteName")
        c.cloudComputeService = r.string("CloudComputeService")
        c.machineName = r.string("MachineName")
        c.localUserId = r.string("LocalUserId")
        c.localGroupId = r.string("LocalGroupId")
        c.globalUserName = r.string("GlobalUserName")
        c.fqan = r.string("FQAN")
        c.status = r.string("Status")
        if let t = try r.time("StartTime") { c.startTime = t }
        if let t = try r.time("EndTime") { c.endTime = t }
        if let d = try r.duration("SuspendDuration") { c.suspendDuration = d }
        if let d = try r.duration("WallDuration") { c.wallDuration = d }
        if let d = try r.duration("CpuDuration") { c.cpuDuration = d }
        c.cpuCount = try r.double("CpuCount")
        c.networkType = r.string("NetworkType")
        c.networkInbound = try r.int64("NetworkInbound")
        c.networkOutbound = try r.int64("NetworkOutbound")
        c.publicIpCount = try r.int64("PublicIPCount")
        c.memoryMb = try r.int64("Memory")
        c.diskGb = try r.int64("Disk")
        c.benchmarkType = r.string("BenchmarkType")
        c.benchmark = try r.double("Benchmark")
        c.storageRecordId = r.string("StorageRecordId")
        c.imageId = r.string("ImageId")
        c.cloudType = r.string("CloudType")
        return c
    }

    static func encode(_ c: Weft_Accounting_V1_CloudRecord) -> String {
        var w = LineWriter()
        w.time("RecordCreateTime", c.recordCreateTime, c.hasRecordCreateTime)
        w.put("VMUUID", c.vmUuid)
        w.put("SiteName", c.siteName)
        w.put("CloudComputeService", c.cloudComputeService)
        w.put("MachineName", c.machineName)
        w.put("LocalUserId", c.localUserId)
        w.put("LocalGroupId", c.localGroupId)
        w.put("GlobalUserName", c.globalUserName)
        w.put("FQAN", c.fqan)
        w.put("Status", c.status)
        w.time("StartTime", c.startTime, c.hasStartTime)
        w.time("EndTime", c.endTime, c.hasEndTime)
        w.duration("SuspendDuration", c.suspendDuration, c.hasSuspendDuration)
        w.duration("WallDuration", c.wallDuration, c.hasWallDuration)
        w.duration("CpuDuration", c.cpuDuration, c.hasCpuDuration)
        w.optional("CpuCount", c.cpuCount)
        w.put("NetworkType", c.networkType)
        w.optional("NetworkInbound", c.networkInbound)
        w.optional("NetworkOutbound", c.networkOutbound)
        w.optional("PublicIPCount", c.publicIpCount)
        w.optional("Memory", c.memoryMb)
        w.optional("Disk", c.diskGb)
        w.put("BenchmarkType", c.benchmarkType)
        w.optional("Benchmark", c.benchmark)
        w.put("StorageRecordId", c.storageRecordId)
        w.put("ImageId", c.imageId)
        w.put("CloudType", c.cloudType)
        return w.text
    }
}
