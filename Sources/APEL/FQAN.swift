/// A VOMS FQAN split the way APEL's `parse_fqan` splits it.
///
/// Only the first FQAN of a `;`-separated list counts. An FQAN that does not start with `/`
/// is taken whole as the VO (APEL's rule for non-standard values). Otherwise the VO is the first
/// component, the group is every component before the first `Role=` (any case), and the role is
/// that component; empty when there is none (APEL stores the string "None" there).
public struct FQAN: Sendable, Hashable {
    /// The VO, e.g. "atlas".
    public var vo: String
    /// The VO group, e.g. "/atlas" or "/atlas/uk"; empty for a non-standard FQAN.
    public var group: String
    /// The role component as written, e.g. "Role=production"; empty when absent.
    public var role: String

    /// Splits `fqan`; nil for an empty or null ("None"/"NULL") FQAN.
    public init?(_ fqan: String) {
        // ASCII FQANs (all real ones) are split in one pass over their bytes.
        if let parsed = fqan.utf8.withContiguousStorageIfAvailable(FQAN.parseASCII) {
            switch parsed {
            case .null: return nil
            case .parsed(let v): self = v; return
            case .notASCII: break
            }
        }
        self.init(general: fqan)
    }

    private init(vo: String, group: String, role: String) {
        self.vo = vo
        self.group = group
        self.role = role
    }

    private enum Parsed {
        case null
        case parsed(FQAN)
        case notASCII
    }

    /// What `init(general:)` gives, for an FQAN whose first element is ASCII; `.notASCII` otherwise.
    /// On ASCII, Character and byte operations agree: no ASCII character but CR LF combines, and
    /// the only non-ASCII characters equal to ";" (U+037E) are caught as non-ASCII.
    private static func parseASCII(_ b: UnsafeBufferPointer<UInt8>) -> Parsed {
        var end = 0
        while end < b.count, b[end] != UInt8(ascii: ";") {
            if b[end] >= 0x80 { return .notASCII }
            end += 1
        }
        // A combining mark after ";" would make it a different Character.
        if end + 1 < b.count, b[end + 1] >= 0x80 { return .notASCII }
        func string(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self) }
        if end == 0 || ASCII.isNullWord(b, 0..<end) { return .null }
        guard b[0] == UInt8(ascii: "/") else { return .parsed(FQAN(vo: string(0, end), group: "", role: "")) }
        // Components between "/"s; the VO is the first (even if empty), the group every non-empty
        // one before the first "Role=" (any case), which is the role.
        var vo: String? = nil
        var group: [UInt8] = []
        var role = ""
        var start = 1
        while start <= end {
            var stop = start
            while stop < end, b[stop] != UInt8(ascii: "/") { stop += 1 }
            if vo == nil { vo = string(start, stop) }
            if stop > start {
                if stop - start >= 5, ASCII.equalsIgnoringCase(b, start..<start + 5, "role=") {
                    role = string(start, stop)
                    break
                }
                group.append(UInt8(ascii: "/"))
                group.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<stop]))
            }
            start = stop + 1
        }
        return .parsed(FQAN(vo: vo ?? "", group: String(decoding: group, as: UTF8.self), role: role))
    }

    /// The general split, on Characters.
    private init?(general fqan: String) {
        let first = fqan.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if first.isEmpty || TextValue.isNull(first) { return nil }
        guard first.hasPrefix("/") else {
            vo = first; group = ""; role = ""
            return
        }
        let pieces = first.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        vo = pieces.count > 1 ? pieces[1] : ""
        var group = ""
        var role = ""
        for piece in pieces where !piece.isEmpty {
            if piece.lowercased().hasPrefix("role=") { role = piece; break }
            group += "/" + piece
        }
        self.group = group
        self.role = role
    }
}
