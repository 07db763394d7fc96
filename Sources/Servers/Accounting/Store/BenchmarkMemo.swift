/// Remembers what APEL's benchmark rules (``WeftAPEL/Normalisation``) make of a service-level
/// map. The records of a session share a handful of maps, and the rules compare benchmark names
/// case-insensitively, which costs far more than a dictionary lookup; so each map is normalised
/// once per session instead of once per record.
public struct BenchmarkMemo: Sendable {
    struct Entry: Sendable {
        var preferred: (type: String, value: Double)
        var factors: [(String, Double)]
    }

    private var entries: [[String: Double]: Entry] = [:]
    /// Maps remembered at most; the memo starts over beyond (a publisher sending ever new
    /// benchmark values should not grow it without bound).
    static let capacity = 256

    /// An empty memo.
    public init() {}

    mutating func lookup(_ levels: [String: Double]) -> Entry {
        if let e = entries[levels] { return e }
        let e = Entry(preferred: PreparedRecord.preferredBenchmark(levels), factors: PreparedRecord.normalisedFactors(levels))
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[levels] = e
        return e
    }
}
