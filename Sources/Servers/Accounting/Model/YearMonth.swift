import WeftProtobuf

/// A calendar month in UTC, the period APEL summarises over.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Year, e.g. 2026.
    public var year: Int
    /// Month, 1–12.
    public var month: Int

    /// Creates a month.
    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The month containing `unixSeconds`, in UTC.
    public init(unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86400 : (unixSeconds - 86399) / 86400
        let (y, m, _) = WellKnownJSON.civil(fromDays: days)
        self.init(year: Int(y), month: Int(m))
    }

    /// Months since year 0; orders months and is what range filters compare.
    public var ordinal: Int { year * 12 + (month - 1) }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { a.ordinal < b.ordinal }

    public var description: String { month < 10 ? "\(year)-0\(month)" : "\(year)-\(month)" }
}
