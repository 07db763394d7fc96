import Foundation
import Gen
import WeftProtobuf

/// Calendar arithmetic on epoch seconds (UTC, proleptic Gregorian), without Foundation's Calendar.
enum EpochTime {
    /// Days since 1970-01-01 of a civil date.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 { WellKnownJSON.days(fromCivil: year, month, day) }

    /// Year, month and day of a day count since 1970-01-01.
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let (y, m, d) = WellKnownJSON.civil(fromDays: days)
        return (y, m, d)
    }

    /// Epoch seconds of the first second of a month (month 1–12, year within ±1e6).
    static func monthStart(year: Int64, month: Int64) -> Int64 { days(year: year, month: month, day: 1) * 86400 }

    /// Year and month (UTC) of epoch seconds; seconds are clamped to ±1e14 so that nothing overflows.
    static func yearMonth(ofSeconds seconds: Int64) -> (year: Int64, month: Int64) {
        let s = min(max(seconds, -100_000_000_000_000), 100_000_000_000_000)
        let day = s >= 0 ? s / 86400 : (s - 86399) / 86400
        let c = civil(days: day)
        return (c.year, c.month)
    }

    /// A Timestamp of whole epoch seconds.
    static func timestamp(_ seconds: Int64) -> Google_Protobuf_Timestamp {
        var t = Google_Protobuf_Timestamp()
        t.seconds = seconds
        return t
    }

    /// A Duration of whole seconds.
    static func duration(_ seconds: Int64) -> Google_Protobuf_Duration {
        var d = Google_Protobuf_Duration()
        d.seconds = seconds
        return d
    }
}
