/// Swift expressions and statements that encode and decode one value of a field's type.
enum CodecSnippets {
    /// Statements that write value `v` (without tag) with writer `w`.
    static func writeValue(_ f: FieldModel, _ v: String) -> String {
        switch f.type {
        case .int32: "w.writeVarint(\(v))"
        case .enum: "w.writeVarint(\(v).rawValue)"
        case .int64: "w.writeVarint(UInt64(bitPattern: \(v)))"
        case .uint32: "w.writeVarint(UInt64(\(v)))"
        case .uint64: "w.writeVarint(\(v))"
        case .bool: "w.writeByte(\(v) ? 1 : 0)"
        case .sint32, .sint64: "w.writeZigZag(\(v))"
        case .fixed32: "w.writeFixed32(\(v))"
        case .sfixed32: "w.writeFixed32(UInt32(bitPattern: \(v)))"
        case .float: "w.writeFixed32(\(v).bitPattern)"
        case .fixed64: "w.writeFixed64(\(v))"
        case .sfixed64: "w.writeFixed64(UInt64(bitPattern: \(v)))"
        case .double: "w.writeFixed64(\(v).bitPattern)"
        case .string, .bytes: "w.writeLengthDelimited(\(v))"
        case .message, .group: "do { let m = w.count; \(v)._encode(to: &w); w.writeLength(since: m) }"
        }
    }

    /// An expression that reads one (non-message) value with reader `r`.
    static func readValue(_ f: FieldModel) -> String {
        switch f.type {
        case .int32: "try r.readInt32()"
        case .enum: "\(f.swiftType)(rawValue: try r.readInt32())"
        case .int64: "try r.readInt64()"
        case .uint32: "try r.readUInt32()"
        case .uint64: "try r.readUInt64()"
        case .bool: "try r.readBool()"
        case .sint32: "try r.readSInt32()"
        case .sint64: "try r.readSInt64()"
        case .fixed32: "try r.readFixed32()"
        case .sfixed32: "try r.readSFixed32()"
        case .float: "try r.readFloat()"
        case .fixed64: "try r.readFixed64()"
        case .sfixed64: "try r.readSFixed64()"
        case .double: "try r.readDouble()"
        case .string: "try r.readString()"
        case .bytes: "try r.readBytes()"
        case .message, .group: "try r.readMessage(\(f.swiftType).self)"
        }
    }

    /// A condition that is true when an implicit-presence value differs from the proto3 default.
    static func isNonDefault(_ f: FieldModel, _ v: String) -> String {
        switch f.type {
        case .string, .bytes: "!\(v).isEmpty"
        case .bool: v
        case .float, .double: "\(v).bitPattern != 0"
        case .enum: "\(v).rawValue != 0"
        default: "\(v) != 0"
        }
    }

    /// Statements that write `v` as a JSON value with writer `j`.
    static func writeJSON(_ f: FieldModel, _ v: String) -> String {
        switch f.type {
        case .int32, .sint32, .sfixed32: "j.int32(\(v))"
        case .uint32, .fixed32: "j.uint32(\(v))"
        case .int64, .sint64, .sfixed64: "j.int64(\(v))"
        case .uint64, .fixed64: "j.uint64(\(v))"
        case .float: "j.float(\(v))"
        case .double: "j.double(\(v))"
        case .bool: "j.bool(\(v))"
        case .string: "j.string(\(v))"
        case .bytes: "j.bytes(\(v))"
        case .enum:
            f.typeFullName == ".google.protobuf.NullValue"
                ? "j.null()"
                : "if let n = \(v).protoName { j.string(n) } else { j.int32(\(v).rawValue) }"
        case .message, .group: "try \(v)._encodeJSON(to: &j)"
        }
    }

    /// An expression converting JSON value `x` to the field's Swift type.
    static func readJSON(_ f: FieldModel, _ x: String) -> String {
        switch f.type {
        case .int32, .sint32, .sfixed32: "try JSONScalar.int32(\(x))"
        case .uint32, .fixed32: "try JSONScalar.uint32(\(x))"
        case .int64, .sint64, .sfixed64: "try JSONScalar.int64(\(x))"
        case .uint64, .fixed64: "try JSONScalar.uint64(\(x))"
        case .float: "try JSONScalar.float(\(x))"
        case .double: "try JSONScalar.double(\(x))"
        case .bool: "try JSONScalar.bool(\(x))"
        case .string: "try JSONScalar.string(\(x))"
        case .bytes: "try JSONScalar.bytes(\(x))"
        case .enum:
            f.typeFullName == ".google.protobuf.NullValue"
                ? "\(f.swiftType)(rawValue: 0)"
                : "try JSONScalar.enumValue(\(x), \(f.swiftType).self)"
        case .message, .group: "try \(f.swiftType)(json: \(x), context: &context)"
        }
    }

    /// A map key in JSON text.
    static func jsonMapKey(_ f: FieldModel, _ k: String) -> String {
        f.type == .string ? k : "String(\(k))"
    }

    /// Converts a JSON object key string `k` to the map's key type.
    static func readJSONMapKey(_ f: FieldModel, _ k: String) -> String {
        switch f.type {
        case .string: k
        case .bool: "try JSONScalar.boolMapKey(\(k))"
        default: "try JSONScalar.mapKey(\(k), \(f.swiftType).self)"
        }
    }

    /// Whether JSON `null` for this field means "set to the type's null value" rather than "absent".
    static func acceptsNull(_ f: FieldModel) -> Bool {
        f.typeFullName == ".google.protobuf.Value" || f.typeFullName == ".google.protobuf.NullValue"
    }
}
