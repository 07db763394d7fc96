import Foundation
import Gen
import WeftProtobuf

extension Google_Protobuf_Timestamp {
    /// The timestamp of `date`.
    public init(date: Date) {
        self.init()
        let t = date.timeIntervalSince1970
        var s = t.rounded(.down)
        var n = ((t - s) * 1e9).rounded()
        if n >= 1e9 { s += 1; n -= 1e9 }
        seconds = Int64(s)
        nanos = Int32(n)
    }

    /// The current time.
    public static var now: Google_Protobuf_Timestamp { .init(date: Date()) }

    /// This timestamp as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9) }

    /// Nanoseconds since the Unix epoch.
    public var unixNanos: Int64 { seconds &* 1_000_000_000 &+ Int64(nanos) }

    /// RFC 3339 in UTC with nine fractional digits, as Kubernetes log timestamps
    /// (`2026-11-25T15:30:00.123456789Z`).
    public var rfc3339Nano: String { RFC3339.format(unixNanos: unixNanos) }
}

extension Google_Protobuf_Duration {
    /// A duration of `seconds` (fractional allowed).
    public init(seconds value: Double) {
        self.init()
        let s = value.rounded(.towardZero)
        seconds = Int64(s)
        nanos = Int32(((value - s) * 1e9).rounded())
    }

    /// The duration in seconds.
    public var timeInterval: Double { Double(seconds) + Double(nanos) / 1e9 }
}

/// RFC 3339 timestamps without Foundation formatters (they are slow and locale-sensitive).
public enum RFC3339 {
    /// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    public static func format(unixNanos: Int64) -> String {
        let secs = unixNanos >= 0 ? unixNanos / 1_000_000_000 : (unixNanos - 999_999_999) / 1_000_000_000
        let nanos = unixNanos - secs * 1_000_000_000
        let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let rem = secs - days * 86400
        let (y, m, d) = WellKnownJSON.civil(fromDays: days)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2)).\(pad(nanos, 9))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into nanoseconds since the epoch.
    public static func parse(_ text: some StringProtocol) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32, let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58,
              let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 48); digits += 1 }
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) {
            offset = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = WellKnownJSON.days(fromCivil: y, mo, d)
        return ((days * 86400 + h * 3600 + mi * 60 + s) - offset) * 1_000_000_000 + nanos
    }
}
