#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a message could not be converted to or from JSON, and where.
public struct ProtoJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// JSON member names from the root to the failing field.
    public var path: [String]

    /// Creates an error.
    public init(_ message: String, path: [String] = []) {
        self.message = message
        self.path = path
    }

    /// Returns the error with `field` prepended to the path.
    public func within(_ field: String) -> ProtoJSONError {
        var e = self
        e.path.insert(field, at: 0)
        return e
    }

    public var description: String { path.isEmpty ? message : "\(path.joined(separator: ".")): \(message)" }
}

/// Settings and state shared by a JSON decode.
public struct JSONDecodingContext: Sendable {
    /// Message types that `google.protobuf.Any` may name.
    public var registry: ProtoTypeRegistry
    /// Skip members that name no field instead of failing.
    public var ignoreUnknownFields: Bool

    /// Creates a context.
    public init(registry: ProtoTypeRegistry = .init(), ignoreUnknownFields: Bool = false) {
        self.registry = registry
        self.ignoreUnknownFields = ignoreUnknownFields
    }
}

/// Writes compact canonical proto3 JSON.
///
/// Separators are derived from the previous byte (no comma after `{` or `[`), so generated code only
/// says what to write.
public struct JSONWriter: Sendable {
    /// The UTF-8 output so far.
    public private(set) var bytes: [UInt8] = []
    /// Types that `google.protobuf.Any` values may contain.
    public var registry: ProtoTypeRegistry

    /// Creates an empty writer.
    public init(registry: ProtoTypeRegistry = .init()) {
        self.registry = registry
        bytes.reserveCapacity(128)
    }

    /// The output as a string.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always)
    mutating func separator() {
        if let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "["), last != UInt8(ascii: ":") {
            bytes.append(UInt8(ascii: ","))
        }
    }

    /// Writes `{`.
    public mutating func beginObject() { separator(); bytes.append(UInt8(ascii: "{")) }
    /// Writes `}`.
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")) }
    /// Writes `[`.
    public mutating func beginArray() { separator(); bytes.append(UInt8(ascii: "[")) }
    /// Writes `]`.
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")) }

    /// Writes a member name and the colon.
    public mutating func key(_ name: String) {
        separator()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes raw JSON text as one value (a number or literal).
    public mutating func raw(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends bytes verbatim (already-formed JSON, no separator).
    public mutating func appendRaw(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// Writes `null`.
    public mutating func null() { raw("null") }
    /// Writes a string value.
    public mutating func string(_ s: String) { separator(); appendQuoted(s) }
    /// Writes a bool.
    public mutating func bool(_ b: Bool) { raw(b ? "true" : "false") }
    /// Writes an int32 as a number.
    public mutating func int32(_ v: Int32) { raw(String(v)) }
    /// Writes a uint32 as a number.
    public mutating func uint32(_ v: UInt32) { raw(String(v)) }
    /// Writes an int64 as a quoted decimal string (proto3 JSON).
    public mutating func int64(_ v: Int64) { string(String(v)) }
    /// Writes a uint64 as a quoted decimal string (proto3 JSON).
    public mutating func uint64(_ v: UInt64) { string(String(v)) }
    /// Writes bytes as standard base64 with padding.
    public mutating func bytes(_ d: Data) { string(d.base64EncodedString()) }

    /// Writes a double: shortest round-trip text, or `"NaN"`/`"Infinity"`/`"-Infinity"`.
    public mutating func double(_ v: Double) {
        if v.isNaN { string("NaN") } else if v.isInfinite { string(v < 0 ? "-Infinity" : "Infinity") } else { raw(Self.numberText(v.description)) }
    }

    /// Writes a float: shortest round-trip text for the float, or the special strings.
    public mutating func float(_ v: Float) {
        if v.isNaN { string("NaN") } else if v.isInfinite { string(v < 0 ? "-Infinity" : "Infinity") } else { raw(Self.numberText(v.description)) }
    }

    /// Drops Swift's `.0` on integral values (`1.0` → `1`) and turns `1e-05` into JSON-valid `1e-05`.
    static func numberText(_ s: String) -> String {
        if s.hasSuffix(".0") { return String(s.dropLast(2)) }
        return s
    }

    /// Writes a string with JSON escapes.
    mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
