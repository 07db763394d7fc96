import Gen

/// Sync messages, "APEL-sync-message: v0.1" (`sync.py`): how many jobs a site holds per month.
enum SyncFormat {
    static let schema = TextSchema(
        keys: ["Site", "SubmitHost", "NumberOfJobs", "Month", "Year"], mandatory: ["Site", "NumberOfJobs", "Month", "Year"])

    static func decode(_ r: FieldReader) throws(FieldError) -> Weft_Accounting_V1_SyncRecord {
        var s = Weft_Accounting_V1_SyncRecord()
        s.site = r.string("Site")
        s.submitHost = r.string("SubmitHost")
        s.numberOfJobs = try r.int64("NumberOfJobs")
        s.month = try r.int32("Month")
        s.year = try r.int32("Year")
        return s
    }

    static func encode(_ s: Weft_Accounting_V1_SyncRecord) -> String {
        var w = LineWriter()
        w.put("Site", s.site)
        w.put("SubmitHost", s.submitHost)
        w.put("NumberOfJobs", "\(s.numberOfJobs)")
        w.put("Month", "\(s.month)")
        w.put("Year", "\(s.year)")
        return w.text
    }
}
