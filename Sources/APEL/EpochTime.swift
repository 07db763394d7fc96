import Foundation
import Gen

/// Calendar arithmetic on epoch seconds (UTC, proleptic Gregorian), without Foundation's Calendar.
enum EpochTime {
    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Year, month and day of a day count since 1970-01-01.
    static func civil(days z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
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
