/// gRPC metadata: an ordered multimap of lower-case keys to text or binary values.
///
/// Keys ending in `-bin` carry binary values (base64 on the HTTP/2 wire); all others carry ASCII text.
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// A metadata value.
    public enum Value: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// Printable ASCII text.
        case string(String)
        /// Arbitrary bytes; the key must end in `-bin`.
        case binary([UInt8])

        /// A text value from a literal.
        public init(stringLiteral value: String) { self = .string(value) }

        public var description: String {
            switch self {
            case .string(let s): s
            case .binary(let b): "<\(b.count) bytes>"
            }
        }
    }

    /// One entry.
    public struct Entry: Sendable, Hashable {
        /// Lower-case key.
        public var key: String
        /// Value.
        public var value: Value
    }

    /// Entries in insertion order.
    public private(set) var entries: [Entry] = []

    /// Creates empty metadata.
    public init() {}

    /// Creates metadata from text pairs.
    public init(dictionaryLiteral elements: (String, Value)...) {
        for (k, v) in elements { add(v, forKey: k) }
    }

    /// Creates metadata from text pairs.
    public init(_ elements: [(String, String)]) {
        for (k, v) in elements { addString(v, forKey: k) }
    }

    /// Appends a text value.
    public mutating func addString(_ value: String, forKey key: String) {
        entries.append(Entry(key: Self.lowercase(key), value: .string(value)))
    }

    /// Appends a binary value (`key` should end in `-bin`).
    public mutating func addBinary(_ value: [UInt8], forKey key: String) {
        entries.append(Entry(key: Self.lowercase(key), value: .binary(value)))
    }

    /// Appends a value.
    public mutating func add(_ value: Value, forKey key: String) {
        entries.append(Entry(key: Self.lowercase(key), value: value))
    }

    /// `key` in lower case; keys almost always are already, and then no new String is made.
    static func lowercase(_ key: String) -> String {
        key.utf8.contains { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 >= 0x80 } ? key.lowercased() : key
    }

    /// Appends a value under a key the caller knows to be lower case already (HTTP/2 header names).
    package mutating func append(lowercasedKey key: String, _ value: Value) {
        entries.append(Entry(key: key, value: value))
    }

    /// Removes every value for `key`.
    public mutating func removeAll(forKey key: String) {
        let k = Self.lowercase(key)
        entries.removeAll { $0.key == k }
    }

    /// Replaces every value for `key` with one text value.
    public mutating func replaceOrAddString(_ value: String, forKey key: String) {
        removeAll(forKey: key)
        addString(value, forKey: key)
    }

    /// All text values for `key`.
    public subscript(stringValues key: String) -> [String] {
        let k = Self.lowercase(key)
        return entries.compactMap { e in
            guard e.key == k, case .string(let s) = e.value else { return nil }
            return s
        }
    }

    /// All binary values for `key`.
    public subscript(binaryValues key: String) -> [[UInt8]] {
        let k = Self.lowercase(key)
        return entries.compactMap { e in
            guard e.key == k, case .binary(let b) = e.value else { return nil }
            return b
        }
    }

    /// The first text value for `key`.
    public func first(_ key: String) -> String? { self[stringValues: key].first }

    /// Number of entries.
    public var count: Int { entries.count }
    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// Appends every entry of `other`.
    public mutating func append(contentsOf other: Metadata) { entries.append(contentsOf: other.entries) }

    public var description: String {
        "[" + entries.map { "\($0.key): \($0.key == "authorization" ? "<redacted>" : $0.value.description)" }.joined(separator: ", ") + "]"
    }
}
