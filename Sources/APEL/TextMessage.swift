import Foundation

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

    /// The fields of one record in line order. Looked up by linear search: a record has a couple
    /// of dozen keys, usually in the order the decoders read them, so a lookup that starts where
    /// the previous one matched is nearly always a hit on the first comparison (no hashing).
    struct Fields {
        var keys: [String] = []
        var values: [Field] = []

        var count: Int { keys.count }

        /// The position of `key` (String equality, as a dictionary key), searching from `hint` on.
        func index(of key: String, hint: Int = 0) -> Int? {
            let n = keys.count
            guard n > 0 else { return nil }
            var i = hint < n && hint >= 0 ? hint : 0
            for _ in 0..<n {
                if keys[i] == key { return i }
                i += 1
                if i == n { i = 0 }
            }
            return nil
        }

        subscript(key: String) -> Field? {
            index(of: key).map { values[$0] }
        }
    }

    /// One record: its fields by key, and where it starts.
    struct Record {
        var number: Int
        var line: Int
        var fields = Fields()
    }

    var header: String
    var headerLine: Int
    var records: [Record]

    /// Splits `text` into header and records, or says which line is wrong. `knownHeader` is asked
    /// about the header line first, so that a message of an unknown kind is named as such.
    static func lex(_ text: String, knownHeader: (String) -> Bool) -> Result<TextMessage, LexError> {
        var text = text
        text.makeContiguousUTF8()
        if let result = text.utf8.withContiguousStorageIfAvailable({ lex(bytes: $0, knownHeader: knownHeader) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBufferPointer { lex(bytes: $0, knownHeader: knownHeader) }
    }

    @inline(__always) static func string(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
    }

    /// One bit of a 64-bit filter for the bytes of a non-empty ASCII key.
    @inline(__always) static func keyFilterBit(_ k: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let h = k.count &* 31 &+ Int(k[0]) &* 7 &+ Int(k[k.count - 1]) &+ Int(k[k.count / 2])
        return 1 << UInt64(h & 63)
    }

    /// The lexer over the (already validated) UTF-8 bytes of the message. Lines are cut on bytes: as
    /// Characters, "\r\n" is one grapheme and would not split at "\n". Lines of ASCII only — nearly
    /// all — are trimmed and split on bytes, which gives what the Character/Foundation operations
    /// give (ASCII has no combining sequences but CR LF, and no other characters equivalent to it);
    /// a line with any other byte takes the general String path.
    private static func lex(bytes b: UnsafeBufferPointer<UInt8>, knownHeader: (String) -> Bool) -> Result<TextMessage, LexError> {
        var header: (String, Int)? = nil
        var records: [Record] = []
        var current: Record? = nil
        var lineNumber = 0
        var lastLine = 0
        // Sizes of the previous record, to reserve the next one's arrays at once.
        var expectedFields = 0
        // Per record: a 64-bit filter of the ASCII keys seen (cheap duplicate test) and whether a
        // non-ASCII key was seen (then every key is compared with String equality).
        var seenFilter: UInt64 = 0
        var sawNonASCIIKey = false
        let end = b.count
        var lineStart = 0
        while lineStart <= end {
            // One pass over the line: its end and whether it is all ASCII.
            var i = lineStart
            var high: UInt8 = 0
            while i < end {
                let c = b[i]
                if c == 0x0A { break }
                high |= c
                i += 1
            }
            let nextStart = i + 1
            lineNumber += 1
            var lineEnd = i
            if lineEnd > lineStart, b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            defer { lineStart = nextStart }

            // An ASCII line is trimmed and split on bytes; any other line on Characters.
            let ascii = high < 0x80
            var trimmed = lineStart..<lineStart
            var slowLine: Substring = ""
            var slowTrimmed = ""
            if ascii {
                trimmed = ASCII.trimmed(b, lineStart..<lineEnd)
                if trimmed.isEmpty || b[trimmed.lowerBound] == UInt8(ascii: "#") { continue }
            } else {
                slowLine = Substring(string(b, lineStart, lineEnd))
                slowTrimmed = slowLine.trimmingCharacters(in: .whitespaces)
                if slowTrimmed.isEmpty || slowTrimmed.hasPrefix("#") { continue }
            }
            func lineText() -> String { ascii ? string(b, trimmed.lowerBound, trimmed.upperBound) : slowTrimmed }
            lastLine = lineNumber
            guard header != nil else {
                let t = lineText()
                guard knownHeader(t) else {
                    return .failure(LexError(line: lineNumber, record: nil, field: "", reason: "unknown message header: \(t.prefix(100))"))
                }
                header = (t, lineNumber)
                continue
            }
            let isEnd = ascii ? ASCII.equalsIgnoringCase(b, trimmed, "%%") : slowTrimmed == "%%"
            if isEnd {
                if let record = current {
                    expectedFields = max(expectedFields, record.fields.count)
                    records.append(record)
                }
                current = nil
                continue
            }
            if current == nil {
                var record = Record(number: records.count + 1, line: lineNumber)
                record.fields.keys.reserveCapacity(expectedFields)
                record.fields.values.reserveCapacity(expectedFields)
                current = record
                seenFilter = 0
                sawNonASCIIKey = false
            }
            var key = ""
            var value = ""
            var hasColon = false
            var filterBit: UInt64 = 0
            if ascii, let colon = b[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":")) {
                hasColon = true
                let keyRange = ASCII.trimmed(b, lineStart..<colon)
                let valueRange = ASCII.trimmed(b, colon + 1..<lineEnd)
                key = string(b, keyRange.lowerBound, keyRange.upperBound)
                value = string(b, valueRange.lowerBound, valueRange.upperBound)
                if !keyRange.isEmpty { filterBit = keyFilterBit(UnsafeBufferPointer(rebasing: b[keyRange])) }
            } else if !ascii, let colon = slowLine.firstIndex(of: ":") {
                hasColon = true
                key = slowLine[..<colon].trimmingCharacters(in: .whitespaces)
                value = slowLine[slowLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if key.utf8.contains(where: { $0 >= 0x80 }) {
                    sawNonASCIIKey = true
                } else if !key.isEmpty {
                    filterBit = Array(key.utf8).withUnsafeBufferPointer(keyFilterBit)
                }
            }
            guard hasColon else {
                return .failure(LexError(line: lineNumber, record: current?.number, field: "", reason: "line without a key-value pair: \(lineText().prefix(80))"))
            }
            guard !key.isEmpty else {
                return .failure(LexError(line: lineNumber, record: current?.number, field: "", reason: "line without a key: \(lineText().prefix(80))"))
            }
            // Duplicate keys: String equality, as the keys of a dictionary. An ASCII key can only
            // equal a key of the same bytes, so the filter rules out most comparisons; once a
            // non-ASCII key is in the record, every key is compared.
            let mayRepeat = sawNonASCIIKey || filterBit == 0 || seenFilter & filterBit != 0
            seenFilter |= filterBit
            if mayRepeat, current?.fields.index(of: key) != nil {
                return .failure(LexError(line: lineNumber, record: current?.number, field: key, reason: "duplicate key"))
            }
            current?.fields.keys.append(key)
            current?.fields.values.append(Field(value: value, line: lineNumber))
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
