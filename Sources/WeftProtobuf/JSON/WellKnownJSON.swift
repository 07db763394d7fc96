/// The JSON forms of the well-known types whose text is not a plain object: Timestamp (RFC 3339),
/// Duration (`"1.5s"`) and FieldMask (`"a.b,cD"`). Generated code for those types calls these.
public enum WellKnownJSON {
    /// Seconds of 0001-01-01T00:00:00Z relative to the Unix epoch.
    static let minTimestampSeconds: Int64 = -62_135_596_800
    /// Seconds of 9999-12-31T23:59:59Z relative to the Unix epoch.
    static let maxTimestampSeconds: Int64 = 253_402_300_799
    /// The largest duration magnitude proto3 allows (10,000 years).
    static let maxDurationSeconds: Int64 = 315_576_000_000

    /// Formats a timestamp: UTC, `Z`, and 0, 3, 6 or 9 fractional digits.
    public static func formatTimestamp(seconds: Int64, nanos: Int32) throws(ProtoJSONError) -> String {
        guard seconds >= minTimestampSeconds, seconds <= maxTimestampSeconds, nanos >= 0, nanos < 1_000_000_000 else {
            throw ProtoJSONError("timestamp \(seconds)s \(nanos)ns is outside 0001-01-01 … 9999-12-31")
        }
        let days = floorDiv(seconds, 86_400)
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        let hh = secOfDay / 3600, mm = secOfDay / 60 % 60, ss = secOfDay % 60
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(hh, 2) + ":" + pad(mm, 2) + ":" + pad(ss, 2)
            + fraction(nanos) + "Z"
    }

    /// Parses an RFC 3339 timestamp with any offset (`Z`, `+01:00`) into seconds and nanos.
    public static func parseTimestamp(_ s: String) throws(ProtoJSONError) -> (seconds: Int64, nanos: Int32) {
        let bad = ProtoJSONError("\"\(s)\" is not an RFC 3339 timestamp")
        let c = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) throws(ProtoJSONError) -> Int64 {
            guard i + n <= c.count else { throw bad }
            var v: Int64 = 0
            for k in 0..<n {
                let b = c[i + k]
                guard b >= 0x30 && b <= 0x39 else { throw bad }
                v = v * 10 + Int64(b - 0x30)
            }
            i += n
            return v
        }
        func lit(_ ch: UInt8) throws(ProtoJSONError) {
            guard i < c.count, c[i] == ch else { throw bad }
            i += 1
        }
        let y = try digits(4); try lit(UInt8(ascii: "-"))
        let mo = try digits(2); try lit(UInt8(ascii: "-"))
        let d = try digits(2)
        guard i < c.count, c[i] == UInt8(ascii: "T") || c[i] == UInt8(ascii: "t") else { throw bad }
        i += 1
        let h = try digits(2); try lit(UInt8(ascii: ":"))
        let mi = try digits(2); try lit(UInt8(ascii: ":"))
        let se = try digits(2)
        var nanos: Int64 = 0
        if i < c.count, c[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < c.count, c[i] >= 0x30, c[i] <= 0x39 {
                guard n < 9 else { throw bad }
                nanos = nanos * 10 + Int64(c[i] - 0x30)
                n += 1; i += 1
            }
            guard n > 0 else { throw bad }
            for _ in n..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        guard i < c.count else { throw bad }
        if c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z") {
            i += 1
        } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            let sign: Int64 = c[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            let oh = try digits(2); try lit(UInt8(ascii: ":"))
            let om = try digits(2)
            offset = sign * (oh * 3600 + om * 60)
        } else {
            throw bad
        }
        guard i == c.count, (1...12).contains(mo), (1...daysIn(month: mo, year: y)).contains(d), h < 24, mi < 60, se < 60 else { throw bad }
        let seconds = days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset
        guard seconds >= minTimestampSeconds, seconds <= maxTimestampSeconds else {
            throw ProtoJSONError("\"\(s)\" is outside 0001-01-01 … 9999-12-31")
        }
        return (seconds, Int32(nanos))
    }

    /// Formats a duration: `"-1.500s"`, fractional digits 0, 3, 6 or 9.
    public static func formatDuration(seconds: Int64, nanos: Int32) throws(ProtoJSONError) -> String {
        guard abs(seconds) <= maxDurationSeconds, abs(nanos) < 1_000_000_000,
              seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0) else {
            throw ProtoJSONError("duration \(seconds)s \(nanos)ns is out of range or has mixed signs")
        }
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + String(abs(seconds)) + fraction(abs(nanos)) + "s"
    }

    /// Parses `"1.5s"`, `"-0.000001s"`.
    public static func parseDuration(_ s: String) throws(ProtoJSONError) -> (seconds: Int64, nanos: Int32) {
        let bad = ProtoJSONError("\"\(s)\" is not a duration like \"1.5s\"")
        guard s.hasSuffix("s") else { throw bad }
        var body = Substring(s.dropLast())
        var negative = false
        if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCII),
              let secs = Int64(whole), secs <= maxDurationSeconds else { throw bad }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 9, frac.allSatisfy({ $0.isASCII && $0.isNumber }), let f = Int64(frac) else { throw bad }
            nanos = f
            for _ in frac.count..<9 { nanos *= 10 }
        }
        return negative ? (-secs, Int32(-nanos)) : (secs, Int32(nanos))
    }

    /// FieldMask paths (`foo_bar.baz`) to JSON (`fooBar.baz`, comma-joined).
    public static func formatFieldMask(_ paths: [String]) throws(ProtoJSONError) -> String {
        var out: [String] = []
        for p in paths {
            var s = ""
            var upper = false
            for ch in p {
                if ch == "_" { upper = true; continue }
                if ch.isUppercase { throw ProtoJSONError("field mask path \"\(p)\" cannot be written in JSON") }
                s.append(upper ? Character(ch.uppercased()) : ch)
                upper = false
            }
            out.append(s)
        }
        return out.joined(separator: ",")
    }

    /// JSON FieldMask text back to paths (`fooBar` → `foo_bar`).
    public static func parseFieldMask(_ s: String) -> [String] {
        guard !s.isEmpty else { return [] }
        return s.split(separator: ",").map { part in
            var out = ""
            for ch in part {
                if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
            }
            return out
        }
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, days from 1970-01-01)

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Year, month and day of the day `z0` days after 1970-01-01 (Howard Hinnant's algorithm).
    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Days from 1970-01-01 to the given year, month and day.
    public static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func fraction(_ nanos: Int32) -> String {
        if nanos == 0 { return "" }
        if nanos % 1_000_000 == 0 { return "." + pad(Int64(nanos / 1_000_000), 3) }
        if nanos % 1000 == 0 { return "." + pad(Int64(nanos / 1000), 6) }
        return "." + pad(Int64(nanos), 9)
    }
}
