import Foundation
import Gen

/// APEL's value forms in text messages: nulls, integers, decimals, epoch or ISO 8601 times,
/// and the `{Type: value, …}` maps of v0.4 messages. Each parser returns a reason on failure.
enum TextValue {
    /// APEL's nulls (`check_for_null`): "", "None" and "NULL" in any case.
    static func isNull(_ value: String) -> Bool {
        // Bytes first: only strings of at most 16 bytes can lowercase to "none" or "null", and an
        // ASCII one only by ASCII case folding.
        let count = value.utf8.count
        if count == 0 { return true }
        if count > 16 { return false }
        let ascii = value.utf8.withContiguousStorageIfAvailable { b -> Bool? in
            b.contains { $0 >= 0x80 } ? nil : ASCII.isNullWord(b, 0..<b.count)
        }
        if case let isNull?? = ascii { return isNull }
        switch value.lowercased() {
        case "", "none", "null": return true
        default: return false
        }
    }

    /// `text.trimmingCharacters(in: .whitespaces)`, without Foundation when there is nothing to trim
    /// (the usual case: the lexer already trimmed the value).
    static func trimmed(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last else { return text }
        // Space and tab are the ASCII members of the set; a non-ASCII end may be a member too.
        func plain(_ c: UInt8) -> Bool { c < 0x80 && !ASCII.isBlank(c) }
        if plain(first) && plain(last) { return text }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// A decimal integer with an optional sign; overflow is an error, never a trap.
    static func int64(_ text: String) -> Result<Int64, ValueError> {
        let s = trimmed(text)
        var utf8 = Substring(s).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty else { return .failure(ValueError("not an integer: \(text)")) }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return .failure(ValueError("not an integer: \(text)")) }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            if o1 || o2 { return .failure(ValueError("integer out of range: \(text)")) }
            value = next
        }
        return .success(value)
    }

    /// An integer that must fit 32 bits (months, years, core counts).
    static func int32(_ text: String) -> Result<Int32, ValueError> {
        int64(text).flatMap { v in
            Int32(exactly: v).map { .success($0) } ?? .failure(ValueError("integer out of range: \(text)"))
        }
    }

    /// A finite decimal number.
    static func double(_ text: String) -> Result<Double, ValueError> {
        let s = trimmed(text)
        guard s.utf8.count <= 64, let v = Double(s), v.isFinite else { return .failure(ValueError("not a number: \(text)")) }
        return .success(v)
    }

    /// A time: epoch seconds (APEL text messages) or ISO 8601 (what APEL also accepts, and StAR uses).
    static func time(_ text: String) -> Result<Google_Protobuf_Timestamp, ValueError> {
        let s = trimmed(text)
        if case .success(let seconds) = int64(s) {
            // Ten thousand years either way is more than any record needs and keeps arithmetic safe.
            // Compared both ways rather than with abs, which traps on Int64.min.
            guard seconds >= -253_402_300_799, seconds <= 253_402_300_799 else { return .failure(ValueError("time out of range: \(text)")) }
            return .success(EpochTime.timestamp(seconds))
        }
        if let t = ISO8601.parse(s) { return .success(t) }
        return .failure(ValueError("not a time: \(text)"))
    }

    /// A v0.4 map such as "{hepspec: 11.4, HEPscore23: 15.3}" (braces optional, as in APEL).
    static func map<V>(_ text: String, value: (String) -> Result<V, ValueError>) -> Result<[(String, V)], ValueError> {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("{") { s = s.dropFirst() }
        if s.hasSuffix("}") { s = s.dropLast() }
        var out: [(String, V)] = []
        for element in s.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = element.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return .failure(ValueError("not a {Type: value} map: \(text)")) }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { return .failure(ValueError("not a {Type: value} map: \(text)")) }
            if out.contains(where: { $0.0 == key }) { return .failure(ValueError("duplicate key \(key) in \(text)")) }
            switch value(parts[1].trimmingCharacters(in: .whitespaces)) {
            case .success(let v): out.append((key, v))
            case .failure(let e): return .failure(e)
            }
        }
        return .success(out)
    }

    /// How a Double is written: Swift's shortest round-tripping form ("10.0", "1006.3").
    static func format(_ value: Double) -> String { "\(value)" }
}

/// Why one value could not be read.
struct ValueError: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// ISO 8601 date-times as StAR and CAR write them: "2012-10-30T17:20:04Z", with optional
/// fractional seconds and a "Z", "+hh:mm" or no zone (taken as UTC, as APEL does).
enum ISO8601 {
    static func parse(_ text: String) -> Google_Protobuf_Timestamp? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") && i + 1 == b.count {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let h = number(i + 1, 2), let m = number(i + 4, 2), h < 24, m < 60
                else { return nil }
                offset = (h * 3600 + m * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
                i += 6
            } else {
                return nil
            }
        }
        let seconds = EpochTime.days(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second - offset
        var t = EpochTime.timestamp(seconds)
        t.nanos = Int32(nanos)
        return t
    }

    /// "2012-10-30T17:20:04Z" (whole seconds, UTC), the form APEL writes.
    static func format(_ t: Google_Protobuf_Timestamp) -> String {
        let s = min(max(t.seconds, -62_135_596_800), 253_402_300_799)
        let day = s >= 0 ? s / 86400 : (s - 86399) / 86400
        let rest = s - day * 86400
        let c = EpochTime.civil(days: day)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(c.year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        return "\(paddedYear)-\(two(c.month))-\(two(c.day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}
