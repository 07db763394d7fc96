#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Conversions from JSON values to protobuf scalars, with proto3 JSON's rules: integers may be numbers
/// or strings, 64-bit integers are usually strings, floats accept `"NaN"` and `"Infinity"`, bytes are
/// standard or URL-safe base64.
public enum JSONScalar {
    static func mismatch(_ expected: String, _ v: JSONValue) -> ProtoJSONError {
        ProtoJSONError("expected \(expected), found \(v.kindName)")
    }

    /// The text of a number given as a JSON number or string.
    static func numberText(_ v: JSONValue, _ expected: String) throws(ProtoJSONError) -> String {
        switch v {
        case .number(let t): return t
        case .string(let s) where !s.isEmpty && s.first?.isWhitespace != true && s.last?.isWhitespace != true: return s
        default: throw mismatch(expected, v)
        }
    }

    /// Parses an integer that may be written with a fraction or exponent (`1e2`, `5.0`) as long as it
    /// is integral and exact.
    static func integer<T: FixedWidthInteger>(_ v: JSONValue, _ type: T.Type, _ name: String) throws(ProtoJSONError) -> T {
        let text = try numberText(v, name)
        if let x = T(text) { return x }
        guard let d = Double(text), d.isFinite, d == d.rounded(),
              let x = T(exactly: d) else {
            throw ProtoJSONError("\(text) is not a valid \(name)")
        }
        // Doubles above 2^53 are inexact: refuse rather than corrupt.
        guard abs(d) <= 9_007_199_254_740_992 else { throw ProtoJSONError("\(text) is not an exact \(name)") }
        return x
    }

    /// int32, sint32, sfixed32.
    public static func int32(_ v: JSONValue) throws(ProtoJSONError) -> Int32 { try integer(v, Int32.self, "int32") }
    /// uint32, fixed32.
    public static func uint32(_ v: JSONValue) throws(ProtoJSONError) -> UInt32 { try integer(v, UInt32.self, "uint32") }
    /// int64, sint64, sfixed64.
    public static func int64(_ v: JSONValue) throws(ProtoJSONError) -> Int64 { try integer(v, Int64.self, "int64") }
    /// uint64, fixed64.
    public static func uint64(_ v: JSONValue) throws(ProtoJSONError) -> UInt64 { try integer(v, UInt64.self, "uint64") }

    /// double.
    public static func double(_ v: JSONValue) throws(ProtoJSONError) -> Double {
        if case .string(let s) = v {
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: break
            }
        }
        let text = try numberText(v, "double")
        guard let d = Double(text), d.isFinite else { throw ProtoJSONError("\(text) is not a valid double") }
        return d
    }

    /// float (out-of-range values are refused rather than turned into infinity).
    public static func float(_ v: JSONValue) throws(ProtoJSONError) -> Float {
        let d = try double(v)
        if d.isNaN || d.isInfinite { return Float(d) }
        guard abs(d) <= Double(Float.greatestFiniteMagnitude) else { throw ProtoJSONError("\(d) is out of range for float") }
        return Float(d)
    }

    /// bool: only `true` or `false`.
    public static func bool(_ v: JSONValue) throws(ProtoJSONError) -> Bool {
        guard case .bool(let b) = v else { throw mismatch("true or false", v) }
        return b
    }

    /// string.
    public static func string(_ v: JSONValue) throws(ProtoJSONError) -> String {
        guard case .string(let s) = v else { throw mismatch("a string", v) }
        return s
    }

    /// bytes: base64, standard or URL-safe, padded or not.
    public static func bytes(_ v: JSONValue) throws(ProtoJSONError) -> Data {
        guard case .string(let s) = v else { throw mismatch("a base64 string", v) }
        var t = String(s.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while t.utf8.count % 4 != 0 { t += "=" }
        guard let d = Data(base64Encoded: t) else { throw ProtoJSONError("not valid base64") }
        return d
    }

    /// An enum: its value name or its number.
    public static func enumValue<E: ProtoEnum>(_ v: JSONValue, _ type: E.Type) throws(ProtoJSONError) -> E {
        switch v {
        case .string(let s):
            guard let e = E(protoName: s) else { throw ProtoJSONError("unknown value \"\(s)\" for enum \(E.self)") }
            return e
        case .number:
            return E(rawValue: try int32(v))
        default:
            throw mismatch("an enum name or number", v)
        }
    }

    /// A map key, which JSON always writes as a string.
    public static func mapKey<K: FixedWidthInteger>(_ s: String, _ type: K.Type) throws(ProtoJSONError) -> K {
        guard let k = K(s) else { throw ProtoJSONError("map key \"\(s)\" is not a valid \(K.self)") }
        return k
    }

    /// A bool map key (`"true"` or `"false"`).
    public static func boolMapKey(_ s: String) throws(ProtoJSONError) -> Bool {
        switch s {
        case "true": return true
        case "false": return false
        default: throw ProtoJSONError("map key \"\(s)\" is not a bool")
        }
    }

    /// The members of an object, or an error naming the message type.
    public static func object(_ v: JSONValue, _ typeName: String) throws(ProtoJSONError) -> [(String, JSONValue)] {
        guard case .object(let members) = v else { throw mismatch("an object for \(typeName)", v) }
        return members
    }

    /// The elements of an array.
    public static func array(_ v: JSONValue) throws(ProtoJSONError) -> [JSONValue] {
        guard case .array(let a) = v else { throw mismatch("an array", v) }
        return a
    }
}
