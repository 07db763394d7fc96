import Foundation
import Gen

/// APEL accelerator messages, v0.1: a JSON object
/// `{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": [{…}, …]}` as cASO
/// sends them. Numbers may also be given as strings. Keys cASO adds that have no place in the
/// record (CloudType, CloudComputeService, AccUUID) are accepted and ignored; others are refused.
/// Mandatory: MeasurementMonth, MeasurementYear, AssociatedRecordType, SiteName, Count,
/// AvailableDuration, Type (the fields every sender fills; APEL's generator requires more).
enum AcceleratorJSON {
    static let type = "APEL-accelerator-message"
    static let version = "0.1"
    static let keys = [
        "MeasurementMonth", "MeasurementYear", "AssociatedRecordType", "AssociatedRecord", "GlobalUserName", "FQAN",
        "SiteName", "Count", "Cores", "ActiveDuration", "AvailableDuration", "BenchmarkType", "Benchmark", "Type", "Model",
    ]
    static let ignored = ["CloudType", "CloudComputeService", "AccUUID"]
    static let mandatory = ["MeasurementMonth", "MeasurementYear", "AssociatedRecordType", "SiteName", "Count", "AvailableDuration", "Type"]

    static func decode(_ data: Data) -> Result<[Weft_Accounting_V1_UsageRecord], APELParseErrorParts> {
        func fail(_ reason: String, record: Int? = nil, field: String = "") -> Result<[Weft_Accounting_V1_UsageRecord], APELParseErrorParts> {
            .failure(APELParseErrorParts(line: nil, record: record, field: field, reason: reason))
        }
        guard let object = try? JSONSerialization.jsonObject(with: data, options: []), let message = object as? [String: Any] else {
            return fail("malformed JSON")
        }
        guard let t = message["Type"] as? String, t.lowercased() == type.lowercased() else {
            return fail("unknown message type: \(String(describing: message["Type"] ?? "none"))", field: "Type")
        }
        let v = (message["Version"] as? String) ?? (message["Version"] as? NSNumber).map { "\($0)" }
        guard v == version else { return fail("unsupported version: \(v ?? "none")", field: "Version") }
        guard let entries = message["UsageRecords"] as? [Any] else { return fail("UsageRecords is not a list", field: "UsageRecords") }
        var out: [Weft_Accounting_V1_UsageRecord] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry as? [String: Any] else { return fail("record is not an object", record: index + 1) }
            switch record(fields) {
            case .success(let a):
                var u = Weft_Accounting_V1_UsageRecord()
                u.record = .accelerator(a)
                u.format = .acceleratorV01
                out.append(u)
            case .failure(let e):
                return fail(e.reason, record: index + 1, field: e.field)
            }
        }
        return .success(out)
    }

    private static func record(_ fields: [String: Any]) -> Result<Weft_Accounting_V1_AcceleratorRecord, FieldError> {
        for key in fields.keys.sorted() where !keys.contains(key) && !ignored.contains(key) {
            return .failure(FieldError(field: key, reason: "unknown field", line: nil))
        }
        // JSON null and APEL's null strings both mean "absent".
        func value(_ key: String) -> Any? {
            guard let v = fields[key], !(v is NSNull) else { return nil }
            if let s = v as? String, TextValue.isNull(s) { return nil }
            return v
        }
        for key in mandatory where value(key) == nil {
            return .failure(FieldError(field: key, reason: "missing mandatory field", line: nil))
        }
        func string(_ key: String) throws(FieldError) -> String {
            guard let v = value(key) else { return "" }
            guard let s = v as? String else { throw FieldError(field: key, reason: "not a string", line: nil) }
            return s
        }
        func int(_ key: String) throws(FieldError) -> Int64 {
            guard let v = value(key) else { return 0 }
            if let s = v as? String {
                switch TextValue.int64(s) {
                case .success(let i): return i
                case .failure(let e): throw FieldError(field: key, reason: e.reason, line: nil)
                }
            }
            if !(v is String), let i = v as? Int { return Int64(i) }
            if let n = v as? NSNumber, let i = Int64(exactly: n.doubleValue) { return i }
            throw FieldError(field: key, reason: "not an integer: \(v)", line: nil)
        }
        func int32(_ key: String) throws(FieldError) -> Int32 {
            let v = try int(key)
            guard let i = Int32(exactly: v) else { throw FieldError(field: key, reason: "integer out of range: \(v)", line: nil) }
            return i
        }
        func double(_ key: String) throws(FieldError) -> Double {
            guard let v = value(key) else { return 0 }
            if let s = v as? String {
                switch TextValue.double(s) {
                case .success(let d): return d
                case .failure(let e): throw FieldError(field: key, reason: e.reason, line: nil)
                }
            }
            if let n = v as? NSNumber, n.doubleValue.isFinite { return n.doubleValue }
            throw FieldError(field: key, reason: "not a number: \(v)", line: nil)
        }
        var a = Weft_Accounting_V1_AcceleratorRecord()
        do throws(FieldError) {
            a.measurementMonth = try int32("MeasurementMonth")
            a.measurementYear = try int32("MeasurementYear")
            a.associatedRecordType = try string("AssociatedRecordType")
            a.associatedRecord = try string("AssociatedRecord")
            a.globalUserName = try string("GlobalUserName")
            a.fqan = try string("FQAN")
            a.siteName = try string("SiteName")
            a.count = try double("Count")
            a.cores = try int("Cores")
            if value("ActiveDuration") != nil { a.activeDuration = EpochTime.duration(try int("ActiveDuration")) }
            if value("AvailableDuration") != nil { a.availableDuration = EpochTime.duration(try int("AvailableDuration")) }
            a.benchmarkType = try string("BenchmarkType")
            a.benchmark = try double("Benchmark")
            a.acceleratorType = try string("Type")
            a.model = try string("Model")
        } catch {
            return .failure(error)
        }
        return .success(a)
    }

    /// One accelerator message holding `records`, keys in APEL's order.
    static func encode(_ records: [Weft_Accounting_V1_AcceleratorRecord]) -> String {
        let entries = records.map { a -> String in
            var parts: [String] = []
            func put(_ key: String, _ json: String) { parts.append("\(quote(key)): \(json)") }
            func string(_ key: String, _ value: String) { if !value.isEmpty { put(key, quote(value)) } }
            func number(_ key: String, _ value: Double) { put(key, value.isFinite ? TextValue.format(value) : "null") }
            put("MeasurementMonth", "\(a.measurementMonth)")
            put("MeasurementYear", "\(a.measurementYear)")
            string("AssociatedRecordType", a.associatedRecordType)
            string("AssociatedRecord", a.associatedRecord)
            string("GlobalUserName", a.globalUserName)
            string("FQAN", a.fqan)
            string("SiteName", a.siteName)
            number("Count", a.count)
            if a.cores != 0 { put("Cores", "\(a.cores)") }
            if a.hasActiveDuration { put("ActiveDuration", "\(a.activeDuration.seconds)") }
            if a.hasAvailableDuration { put("AvailableDuration", "\(a.availableDuration.seconds)") }
            string("BenchmarkType", a.benchmarkType)
            if a.benchmark != 0 { number("Benchmark", a.benchmark) }
            string("Type", a.acceleratorType)
            string("Model", a.model)
            return "{" + parts.joined(separator: ", ") + "}"
        }
        return "{\"Type\": \"\(type)\", \"Version\": \"\(version)\", \"UsageRecords\": [" + entries.joined(separator: ", ") + "]}\n"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
