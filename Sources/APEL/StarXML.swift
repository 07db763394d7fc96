import Foundation
import Gen

/// StAR, the OGF storage accounting record, as APEL's `star_parser.py` reads it.
///
/// Elements are found anywhere inside a StorageUsageRecord (APEL uses getElementsByTagNameNS, so
/// `Site` inside `SubjectIdentity` counts too); times are ISO 8601; the group's subgroup and role
/// come from `GroupAttribute` elements with `attributeType` "subgroup" and "role". Other group
/// attributes (APEL's GroupAttributeRecords) have no place in the record and are not kept.
enum StarXML {
    static let namespace = "http://eu-emi.eu/namespaces/2011/02/storagerecord"

    /// The records of a StAR document, each with the line of its start tag.
    static func decode(_ root: XMLElement) -> Result<[(Weft_Accounting_V1_UsageRecord, Int)], APELParseErrorParts> {
        guard root.namespace == namespace else {
            return .failure(APELParseErrorParts(line: root.line, record: nil, field: "", reason: "XML format not recognised: namespace \"\(root.namespace)\""))
        }
        let elements = root.all("StorageUsageRecord", in: namespace)
        guard !elements.isEmpty else {
            return .failure(APELParseErrorParts(line: root.line, record: nil, field: "", reason: "document contains no StAR records"))
        }
        var out: [(Weft_Accounting_V1_UsageRecord, Int)] = []
        for (index, element) in elements.enumerated() {
            switch record(element) {
            case .success(let r):
                var u = Weft_Accounting_V1_UsageRecord()
                u.record = .storage(r)
                u.format = .star
                out.append((u, element.line))
            case .failure(let e):
                return .failure(APELParseErrorParts(line: e.line ?? element.line, record: index + 1, field: e.field, reason: e.reason))
            }
        }
        return .success(out)
    }

    private static func record(_ e: XMLElement) -> Result<Weft_Accounting_V1_StorageRecord, FieldError> {
        var s = Weft_Accounting_V1_StorageRecord()
        func text(_ name: String) -> (String, Int)? {
            guard let found = e.first(name, in: namespace) else { return nil }
            let value = found.text.trimmingCharacters(in: .whitespacesAndNewlines)
            return TextValue.isNull(value) ? nil : (value, found.line)
        }
        func int(_ name: String) throws(FieldError) -> Int64? {
            guard let (value, line) = text(name) else { return nil }
            switch TextValue.int64(value) {
            case .success(let v): return v
            case .failure(let err): throw FieldError(field: name, reason: err.reason, line: line)
            }
        }
        func time(_ field: String, _ value: String?, _ line: Int) throws(FieldError) -> Google_Protobuf_Timestamp? {
            guard let value, !TextValue.isNull(value) else { return nil }
            guard let t = ISO8601.parse(value.trimmingCharacters(in: .whitespaces)) else {
                throw FieldError(field: field, reason: "not an ISO 8601 time: \(value)", line: line)
            }
            return t
        }
        do throws(FieldError) {
            if let identity = e.first("RecordIdentity", in: namespace) {
                s.recordId = identity.attributes["recordId"] ?? ""
                if let t = try time("CreateTime", identity.attributes["createTime"], identity.line) { s.createTime = t }
            }
            s.storageSystem = text("StorageSystem")?.0 ?? ""
            s.site = text("Site")?.0 ?? ""
            s.storageShare = text("StorageShare")?.0 ?? ""
            s.storageMedia = text("StorageMedia")?.0 ?? ""
            s.storageClass = text("StorageClass")?.0 ?? ""
            s.fileCount = try int("FileCount") ?? 0
            s.directoryPath = text("DirectoryPath")?.0 ?? ""
            s.localUser = text("LocalUser")?.0 ?? ""
            s.localGroup = text("LocalGroup")?.0 ?? ""
            s.userIdentity = text("UserIdentity")?.0 ?? ""
            s.voGroupName = text("Group")?.0 ?? ""
            for attribute in e.all("GroupAttribute", in: namespace) {
                let value = attribute.text.trimmingCharacters(in: .whitespacesAndNewlines)
                switch attribute.attributes["attributeType"] {
                case "subgroup" where s.subGroup.isEmpty: s.subGroup = value
                case "role" where s.role.isEmpty: s.role = value
                default: break
                }
            }
            if let (v, line) = text("StartTime"), let t = try time("StartTime", v, line) { s.startTime = t }
            if let (v, line) = text("EndTime"), let t = try time("EndTime", v, line) { s.endTime = t }
            guard let used = try int("ResourceCapacityUsed") else {
                throw FieldError(field: "ResourceCapacityUsed", reason: "missing mandatory field", line: e.line)
            }
            s.resourceCapacityUsed = used
            s.logicalCapacityUsed = try int("LogicalCapacityUsed") ?? 0
            s.resourceCapacityAllocated = try int("ResourceCapacityAllocated") ?? 0
        } catch {
            return .failure(error)
        }
        return .success(s)
    }

    /// One StAR document holding `records` (storage records only).
    static func encode(_ records: [Weft_Accounting_V1_StorageRecord]) -> String {
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sr:StorageUsageRecords xmlns:sr=\"\(namespace)\">\n"
        for s in records {
            x += "  <sr:StorageUsageRecord>\n"
            var identity = "    <sr:RecordIdentity"
            if s.hasCreateTime { identity += " sr:createTime=\"\(ISO8601.format(s.createTime))\"" }
            x += identity + " sr:recordId=\"\(escape(s.recordId))\"/>\n"
            func element(_ name: String, _ value: String, indent: String = "    ") {
                if !value.isEmpty { x += "\(indent)<sr:\(name)>\(escape(value))</sr:\(name)>\n" }
            }
            element("StorageSystem", s.storageSystem)
            element("Site", s.site)
            element("StorageShare", s.storageShare)
            element("StorageMedia", s.storageMedia)
            element("StorageClass", s.storageClass)
            if s.fileCount != 0 { element("FileCount", "\(s.fileCount)") }
            element("DirectoryPath", s.directoryPath)
            let subject = [s.localUser, s.localGroup, s.userIdentity, s.voGroupName, s.subGroup, s.role]
            if subject.contains(where: { !$0.isEmpty }) {
                x += "    <sr:SubjectIdentity>\n"
                element("LocalUser", s.localUser, indent: "      ")
                element("LocalGroup", s.localGroup, indent: "      ")
                element("UserIdentity", s.userIdentity, indent: "      ")
                element("Group", s.voGroupName, indent: "      ")
                if !s.subGroup.isEmpty { x += "      <sr:GroupAttribute sr:attributeType=\"subgroup\">\(escape(s.subGroup))</sr:GroupAttribute>\n" }
                if !s.role.isEmpty { x += "      <sr:GroupAttribute sr:attributeType=\"role\">\(escape(s.role))</sr:GroupAttribute>\n" }
                x += "    </sr:SubjectIdentity>\n"
            }
            if s.hasStartTime { element("StartTime", ISO8601.format(s.startTime)) }
            if s.hasEndTime { element("EndTime", ISO8601.format(s.endTime)) }
            element("ResourceCapacityUsed", "\(s.resourceCapacityUsed)")
            if s.logicalCapacityUsed != 0 { element("LogicalCapacityUsed", "\(s.logicalCapacityUsed)") }
            if s.resourceCapacityAllocated != 0 { element("ResourceCapacityAllocated", "\(s.resourceCapacityAllocated)") }
            x += "  </sr:StorageUsageRecord>\n"
        }
        return x + "</sr:StorageUsageRecords>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// The parts of a parse error before the source name is known.
struct APELParseErrorParts: Error {
    var line: Int?
    var record: Int?
    var field: String
    var reason: String
}
