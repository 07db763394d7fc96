/// Benchmark names and the factors that turn CPU and wall seconds into normalised seconds.
///
/// APEL accepts three benchmark types, case-insensitively: SpecInt2000 ("si2k"), HEPSPEC06
/// ("HEPSPEC") and HEPscore23. Summaries are in HEPSPEC06-hours for the first two: a si2k value
/// is converted with HS06 = si2k / 250. HEPscore23 is defined so that it equals HS06 on the
/// reference machine, so its value is used as is, and it is kept under its own name.
///
/// APEL's mistake, which Weft does not repeat: until February 2025 APEL's summarising procedures
/// (`SummariseJobs`, `NormaliseSummaries` in `schemas/server.sql`) computed the factor as
/// `IF(ServiceLevelType = "HEPSPEC", ServiceLevel, ServiceLevel / 250)` — every type that was not
/// literally HEPSPEC, HEPscore23 included, was taken for si2k and divided by 250, so HEPscore23
/// sites were accounted 250 times too little (apel/apel issue #397, fixed by commit c4d5f2b whose
/// message even says "2500"; the rollback script and the `SpecInt2000`/`HepSpec06` columns of
/// `server-extra.sql` still treat anything not si2k as HS06). Weft only divides si2k, compares
/// names case-insensitively, and never relabels HEPscore23 as HEPSPEC.
public enum Normalisation {
    /// The canonical spelling of a known benchmark type ("si2k", "HEPSPEC", "HEPscore23"), or nil.
    public static func canonicalType(_ type: String) -> String? {
        switch type.utf8.withContiguousStorageIfAvailable(canonicalASCII) {
        case .known(let name)?: return name
        case .unknown?: return nil
        case .notASCII?, nil: return canonicalGeneral(type)
        }
    }

    private enum ASCIIResult { case known(String), unknown, notASCII }

    /// What `canonicalGeneral` gives for an ASCII name, compared on bytes without building the
    /// trimmed, lowercased String.
    private static func canonicalASCII(_ b: UnsafeBufferPointer<UInt8>) -> ASCIIResult {
        if b.contains(where: { $0 >= 0x80 }) { return .notASCII }
        let name = ASCII.trimmed(b, 0..<b.count)
        if ASCII.equalsIgnoringCase(b, name, "si2k") { return .known("si2k") }
        if ASCII.equalsIgnoringCase(b, name, "hepspec") { return .known("HEPSPEC") }
        if ASCII.equalsIgnoringCase(b, name, "hepscore23") { return .known("HEPscore23") }
        return .unknown
    }

    /// The canonical type on Characters (names that are not ASCII).
    private static func canonicalGeneral(_ type: String) -> String? {
        switch type.trimmingCharacters(in: .whitespaces).lowercased() {
        case "si2k": return "si2k"
        case "hepspec": return "HEPSPEC"
        case "hepscore23": return "HEPscore23"
        default: return nil
        }
    }

    /// For one benchmark of a record (type as given, per-core value): the canonical benchmark type summaries use and the factor durations are multiplied by (si2k → HEPSPEC with value/250; HEPSPEC as is; HEPscore23 as is — correctly, see README), or nil for an unknown type or a value that is negative or not finite.
    public static func normalise(type: String, value: Double) -> (type: String, factor: Double)? {
        guard value.isFinite, value >= 0, let canonical = canonicalType(type) else { return nil }
        switch canonical {
        case "si2k": return ("HEPSPEC", value / 250)
        default: return (canonical, value)  // HEPSPEC, and HEPscore23 unconverted (not / 250).
        }
    }

    /// The benchmark a record's summaries use when it carries several, by APEL's priority
    /// (HEPscore23, then HEPSPEC, then si2k; names compared case-insensitively, unknown ones ignored).
    /// The type returned is canonical; the value is as given (not converted).
    public static func preferred(_ serviceLevels: [String: Double]) -> (type: String, value: Double)? {
        var found: [String: Double] = [:]
        // Sorted so that two spellings of one type resolve the same way every time.
        for (type, value) in serviceLevels.sorted(by: { $0.key < $1.key }) {
            if let canonical = canonicalType(type), found[canonical] == nil { found[canonical] = value }
        }
        for type in priority { if let value = found[type] { return (type, value) } }
        return nil
    }

    /// APEL's benchmark priority, canonical names, best first.
    public static let priority = ["HEPscore23", "HEPSPEC", "si2k"]
}
