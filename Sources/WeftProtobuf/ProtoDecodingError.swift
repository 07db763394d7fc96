/// Why bytes could not be decoded as a message, and where.
///
/// `path` names the fields from the outermost message inwards (`pod.spec.containers.image`), so that
/// an operator can find the bad part of a large message.
public struct ProtoDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The input ended in the middle of a value.
        case truncated
        /// A varint longer than ten bytes.
        case malformedVarint
        /// A length-delimited field declares more bytes than remain.
        case lengthBeyondBuffer(declared: UInt64, remaining: Int)
        /// A tag with field number 0 or a wire type that does not exist.
        case invalidTag(UInt64)
        /// A string field that is not valid UTF-8.
        case invalidUTF8
        /// Messages nested deeper than the limit.
        case nestingTooDeep(limit: Int)
        /// An end-group tag without a matching start, or a group that never ends.
        case unbalancedGroup
        /// A packed field whose length is not a multiple of the element size.
        case malformedPackedField
    }

    /// What went wrong.
    public var reason: Reason
    /// Field names from the root message to the failing field.
    public var path: [String]

    /// Creates an error with an empty path.
    public init(_ reason: Reason, path: [String] = []) {
        self.reason = reason
        self.path = path
    }

    /// Returns the error with `field` prepended to the path (used by generated code while unwinding).
    @inlinable
    public func within(_ field: String) -> ProtoDecodingError {
        var e = self
        e.path.insert(field, at: 0)
        return e
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated: what = "input ends in the middle of a value"
        case .malformedVarint: what = "malformed varint (more than 10 bytes)"
        case let .lengthBeyondBuffer(declared, remaining):
            what = "declared length \(declared) exceeds the \(remaining) bytes that remain"
        case let .invalidTag(t): what = "invalid tag \(t)"
        case .invalidUTF8: what = "string is not valid UTF-8"
        case let .nestingTooDeep(limit): what = "messages nested deeper than \(limit) levels"
        case .unbalancedGroup: what = "unbalanced group"
        case .malformedPackedField: what = "packed field length is not a multiple of its element size"
        }
        return path.isEmpty ? what : "\(path.joined(separator: ".")): \(what)"
    }
}
