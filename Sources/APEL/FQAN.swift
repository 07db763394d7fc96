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
