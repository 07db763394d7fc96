#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WellKnownJSON {
    /// Well-known types whose JSON is not an object; inside `Any` they go under a `"value"` member.
    static let nonObjectJSONTypes: Set<String> = [
        "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
        "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
        "google.protobuf.Any",
    ]

    /// Writes `google.protobuf.Any` as `{"@type": url, …fields of the packed message…}`; the packed
    /// type must be in the writer's registry.
    public static func encodeAny(typeURL: String, value: Data, to j: inout JSONWriter) throws(ProtoJSONError) {
        if typeURL.isEmpty && value.isEmpty { j.beginObject(); j.endObject(); return }
        guard let type = j.registry.type(forURL: typeURL) else {
            throw ProtoJSONError("cannot write google.protobuf.Any as JSON: type \"\(typeURL)\" is not in the registry")
        }
        let message: any ProtoMessage
        do { message = try type.init(serializedBytes: value) } catch { throw ProtoJSONError("google.protobuf.Any value does not decode as \(type.protoMessageName): \(error)") }
        var inner = JSONWriter(registry: j.registry)
        try message._encodeJSON(to: &inner)
        j.beginObject()
        j.key("@type")
        j.string(typeURL)
        if nonObjectJSONTypes.contains(type.protoMessageName) {
            j.key("value")
            j.appendRaw(inner.bytes)
        } else if inner.bytes.count > 2 {
            // Splice the inner object's members after "@type".
            j.appendRaw([UInt8(ascii: ",")] + inner.bytes.dropFirst().dropLast())
        }
        j.endObject()
    }

    /// Reads `google.protobuf.Any` from JSON; the named type must be in the context's registry.
    public static func decodeAny(_ x: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError) -> (String, Data) {
        let members = try JSONScalar.object(x, "google.protobuf.Any")
        if members.isEmpty { return ("", Data()) }
        guard let url = members.first(where: { $0.0 == "@type" }).map(\.1), case .string(let typeURL) = url else {
            throw ProtoJSONError("google.protobuf.Any needs an \"@type\" member")
        }
        guard let type = context.registry.type(forURL: typeURL) else {
            throw ProtoJSONError("type \"\(typeURL)\" of google.protobuf.Any is not in the registry")
        }
        var message = type.init()
        let rest = members.filter { $0.0 != "@type" }
        if nonObjectJSONTypes.contains(type.protoMessageName) {
            guard let v = rest.first(where: { $0.0 == "value" })?.1 else { throw ProtoJSONError("google.protobuf.Any of \(typeURL) needs a \"value\" member") }
            try message._decodeJSON(from: v, context: &context)
        } else {
            try message._decodeJSON(from: .object(rest), context: &context)
        }
        return (typeURL, message.serializedData())
    }
}
