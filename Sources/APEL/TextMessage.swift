/// The lexical shape of an APEL text message: a header line, then records of "Key: Value" lines,
/// each record ended by a line "%%".
///
/// Differences from APEL's loader, all on the side of refusing damaged input: a record must be
/// ended by "%%" (so a truncated message is noticed), "%%" separates records only as a whole line
/// (APEL splits the text at every "%%", even inside a value), and a key given twice in a record
/// is refused (APEL keeps the last). Lines may end in CRLF; blank lines and lines starting with
/// "#" are skipped.
struct TextMessage {
    /// One "Key: Value" line.
    struct Field {
        var value: String
        var line: Int
    }

    /// One record: its fields by key, and where it starts.
    struct Record {
        var number: Int
        var line: Int
        var fields: [String: Field] = [:]
    }

    var header: String
    var headerLine: Int
    var records: [Record]

    /// Splits `text` into header and records, or says which line is wrong. `knownHeader` is asked
    /// about the header line first, so that a message of an unknown kind is named as such.
    static func lex(_ text: String, knownHeader: (String) -> Bool) -> Result<TextMessage, LexError> {
        var header: (String, Int)? = nil
        var records: [Record] = []
        var current: Record? = nil
        var lineNumber = 0
        var lastLine = 0
        // Lines are cut on UTF-8 bytes: as Characters, "\r\n" is one grapheme and would not split at "\n".
        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = rawLine[...]
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            let line = Substring(String(decoding: bytes, as: UTF8.self))
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            lastLine = lineNumber
            guard header != nil else {
                guard knownHeader(trimmed) else {
                    return .failure(LexError(line: lineNumber, record: nil, field: "", reason: "unknown message header: \(trimmed.prefix(100))"))
                }
                header = (trimmed, lineNumber)
                continue
            }
            if trimmed == "%%" {
                if let record = current { records.append(record) }
                current = nil
                continue
            }
            if current == nil { current = Record(number: records.count + 1, line: lineNumber) }
            guard let colon = line.firstIndex(of: ":") else {
                return .failure(LexError(line: lineNumber, record: current?.number, field: "", reason: "line without a key-value pair: \(trimmed.prefix(80))"))
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                return .failure(LexError(line: lineNumber, record: current?.number, field: "", reason: "line without a key: \(trimmed.prefix(80))"))
            }
            if current?.fields[key] != nil {
                return .failure(LexError(line: lineNumber, record: current?.number, field: key, reason: "duplicate key"))
            }
            current?.fields[key] = Field(value: value, line: lineNumber)
        }
        guard let (headerText, headerLine) = header else {
            return .failure(LexError(line: max(lineNumber, 1), record: nil, field: "", reason: "empty message"))
        }
        if let record = current {
            return .failure(LexError(line: lastLine, record: record.number, field: "", reason: "record not ended by %% (truncated message?)"))
        }
        return .success(TextMessage(header: headerText, headerLine: headerLine, records: records))
    }
}

/// A lexical error: where and why.
struct LexError: Error {
    var line: Int
    var record: Int?
    var field: String
    var reason: String
}
