import Foundation
import Gen

/// A parsed message: its format and records, each with `format` set.
public struct APELMessage: Sendable {
    /// The format the message was written in.
    public var format: Weft_Accounting_V1_ApelFormat
    /// The records in message order, validated and completed by `RecordRules`.
    public var records: [Weft_Accounting_V1_UsageRecord]

    /// A message of `format` holding `records`.
    public init(format: Weft_Accounting_V1_ApelFormat, records: [Weft_Accounting_V1_UsageRecord]) {
        self.format = format
        self.records = records
    }
}

/// Why a message was refused: where (source name, 1-based line when known, 1-based record number when known), the APEL field, and the reason. description like "jobs.txt:14: record 3: EndTime: EndTime is before StartTime".
public struct APELParseError: Error, Sendable, CustomStringConvertible {
    /// Where the message came from (a file name, a peer), as the caller named it.
    public var source: String
    /// 1-based line of the problem, when known.
    public var line: Int?
    /// 1-based number of the record within the message, when the problem is in a record.
    public var recordNumber: Int?
    /// The APEL key of the field at fault; "" for the message or the whole record.
    public var field: String
    /// Why.
    public var reason: String

    /// An error at `source`, `line`, in record `recordNumber`, about `field`.
    public init(source: String, line: Int?, recordNumber: Int?, field: String, reason: String) {
        self.source = source
        self.line = line
        self.recordNumber = recordNumber
        self.field = field
        self.reason = reason
    }

    /// "source:line: record n: Field: reason", leaving out what is not known.
    public var description: String {
        var s = source
        if let line { s += ":\(line)" }
        s += ": "
        if let recordNumber { s += "record \(recordNumber): " }
        if !field.isEmpty { s += "\(field): " }
        return s + reason
    }
}

/// Reads APEL messages of every format Weft knows.
public enum APELParser {
    /// Detects the format (APEL text header line such as "APEL-individual-job-message: v0.3", StAR XML, or APEL-accelerator v0.1 JSON), parses every record and validates each with RecordRules. Any bad record fails the whole message (nothing of it is usable) with the record number, field and reason.
    public static func parse(_ data: [UInt8], source: String, now: Date = Date()) throws(APELParseError) -> APELMessage {
        func error(_ p: APELParseErrorParts) -> APELParseError {
            APELParseError(source: source, line: p.line, recordNumber: p.record, field: p.field, reason: p.reason)
        }
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }  // UTF-8 byte order mark
        let first = bytes.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
        switch first {
        case UInt8(ascii: "<"):
            switch XMLElement.parse(Data(bytes)).mapError({ APELParseErrorParts(line: $0.line, record: nil, field: "", reason: $0.reason) })
                .flatMap(StarXML.decode)
            {
            case .failure(let p): throw error(p)
            case .success(let records):
                var out: [Weft_Accounting_V1_UsageRecord] = []
                for (index, (record, line)) in records.enumerated() {
                    out.append(try validated(record, number: index + 1, line: { _ in line }, now: now, source: source))
                }
                return APELMessage(format: .star, records: out)
            }
        case UInt8(ascii: "{"):
            switch AcceleratorJSON.decode(Data(bytes)) {
            case .failure(let p): throw error(p)
            case .success(let records):
                var out: [Weft_Accounting_V1_UsageRecord] = []
                for (index, record) in records.enumerated() {
                    out.append(try validated(record, number: index + 1, line: { _ in nil }, now: now, source: source))
                }
                return APELMessage(format: .acceleratorV01, records: out)
            }
        default:
            return try parseText(bytes, source: source, now: now)
        }
    }

    private static func parseText(_ bytes: ArraySlice<UInt8>, source: String, now: Date) throws(APELParseError) -> APELMessage {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APELParseError(source: source, line: nil, recordNumber: nil, field: "", reason: "not UTF-8 text")
        }
        let message: TextMessage
        switch TextMessage.lex(text, knownHeader: { TextCodec.format(ofHeader: $0) != nil }) {
        case .success(let m): message = m
        case .failure(let e): throw APELParseError(source: source, line: e.line, recordNumber: e.record, field: e.field, reason: e.reason)
        }
        guard let format = TextCodec.format(ofHeader: message.header) else {
            throw APELParseError(
                source: source, line: message.headerLine, recordNumber: nil, field: "",
                reason: "unknown message header: \(message.header.prefix(100))")
        }
        var out: [Weft_Accounting_V1_UsageRecord] = []
        out.reserveCapacity(message.records.count)
        for record in message.records {
            let decoded: Weft_Accounting_V1_UsageRecord
            do throws(FieldError) {
                decoded = try TextCodec.decode(record, format: format)
            } catch {
                throw APELParseError(source: source, line: error.line ?? record.line, recordNumber: record.number, field: error.field, reason: error.reason)
            }
            // v0.4 messages carry the benchmark type inside "ServiceLevel"; name that key.
            let v04 = format == .jobV04 || format == .summaryV04
            do throws(APELParseError) {
                out.append(try validated(decoded, number: record.number, line: { record.fields[$0]?.line ?? record.line }, now: now, source: source))
            } catch where v04 && error.field == "ServiceLevelType" {
                throw APELParseError(
                    source: source, line: record.fields["ServiceLevel"]?.line ?? record.line, recordNumber: record.number,
                    field: "ServiceLevel", reason: error.reason)
            }
        }
        return APELMessage(format: format, records: out)
    }

    /// Applies RecordRules; the first problem, with the line of its field, fails the message.
    private static func validated(
        _ record: Weft_Accounting_V1_UsageRecord, number: Int, line: (String) -> Int?, now: Date, source: String
    ) throws(APELParseError) -> Weft_Accounting_V1_UsageRecord {
        var record = record
        if let problem = RecordRules.validate(&record, now: now).first {
            throw APELParseError(source: source, line: line(problem.field), recordNumber: number, field: problem.field, reason: problem.reason)
        }
        return record
    }
}
