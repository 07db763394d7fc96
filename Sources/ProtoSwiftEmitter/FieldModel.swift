import ProtoCompiler

/// What the emitter needs to know about one field: its Swift type, storage and wire encoding.
struct FieldModel {
    indirect enum Storage {
        /// proto3 field without presence: a plain stored property, written when not the default.
        case implicit
        /// A field with presence (proto2 optional/required, proto3 `optional`, messages): `_x: T?`.
        case optional
        /// A message field that closes a recursion: `_x: ProtoBox<T>?`.
        case boxed
        /// `[T]`
        case repeated(packed: Bool)
        /// `[K: V]`
        case map(key: FieldModel, value: FieldModel)
        /// A member of a real oneof: a case of `oneofSwiftType`.
        case oneof(index: Int)
    }

    let descriptor: FieldDescriptor
    let type: FieldDescriptor.FieldType
    let swiftName: String
    /// The element's Swift type (for repeated fields, the element; for maps, unused).
    let swiftType: String
    let storage: Storage
    let typeFullName: String?
    /// Path in source info, for doc comments.
    let path: [Int32]

    var number: Int { Int(descriptor.number) }
    var jsonName: String { descriptor.jsonName ?? Naming.lowerCamel(descriptor.name) }
    var protoName: String { descriptor.name }

    /// Whether the field's value is a message.
    var isMessage: Bool { type == .message || type == .group }

    var wireType: Int {
        switch type {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .bool, .enum: 0
        case .fixed64, .sfixed64, .double: 1
        case .string, .bytes, .message, .group: 2
        case .fixed32, .sfixed32, .float: 5
        }
    }

    /// Whether repeated values of this type may be packed.
    var isPackable: Bool { wireType == 0 || wireType == 1 || wireType == 5 }

    func tag(wireType wt: Int) -> UInt32 { UInt32(number) << 3 | UInt32(wt) }
    var tag: UInt32 { tag(wireType: wireType) }

    static func scalarSwiftType(_ t: FieldDescriptor.FieldType) -> String? {
        switch t {
        case .double: "Double"
        case .float: "Float"
        case .int64, .sint64, .sfixed64: "Int64"
        case .uint64, .fixed64: "UInt64"
        case .int32, .sint32, .sfixed32: "Int32"
        case .uint32, .fixed32: "UInt32"
        case .bool: "Bool"
        case .string: "String"
        case .bytes: "Data"
        case .message, .group, .enum: nil
        }
    }

    /// The proto3 zero value (or the enum's first value) as a Swift expression.
    func zeroValue(_ table: TypeTable) -> String {
        switch type {
        case .double, .float, .int64, .sint64, .sfixed64, .uint64, .fixed64, .int32, .sint32, .sfixed32, .uint32, .fixed32: "0"
        case .bool: "false"
        case .string: "\"\""
        case .bytes: "Data()"
        case .enum:
            "\(swiftType)(rawValue: \(table.enums[typeFullName ?? ""]?.descriptor.values.first?.number ?? 0))"
        case .message, .group: "\(swiftType)()"
        }
    }

    /// The default value, honouring proto2 `[default = …]`.
    func defaultValue(_ table: TypeTable) -> String {
        guard let d = descriptor.defaultValue else { return zeroValue(table) }
        switch type {
        case .string: return Naming.stringLiteral(d)
        case .bytes: return "Data(\(Self.unescapeBytes(d)))"
        case .bool: return d == "true" ? "true" : "false"
        case .enum:
            if let v = table.enums[typeFullName ?? ""]?.descriptor.values.first(where: { $0.name == d }) {
                return "\(swiftType)(rawValue: \(v.number))"
            }
            return zeroValue(table)
        case .float, .double:
            switch d {
            case "inf": return "\(swiftType).infinity"
            case "-inf": return "-\(swiftType).infinity"
            case "nan": return "\(swiftType).nan"
            default: return d
            }
        default: return d
        }
    }

    /// protoc writes bytes defaults C-escaped; turn them into an array literal.
    static func unescapeBytes(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                let c = b[i + 1]
                if c >= 0x30 && c <= 0x37 {
                    var v = 0, n = 0
                    i += 1
                    while n < 3, i < b.count, b[i] >= 0x30, b[i] <= 0x37 { v = v * 8 + Int(b[i] - 0x30); i += 1; n += 1 }
                    out.append(UInt8(truncatingIfNeeded: v))
                    continue
                }
                let map: [UInt8: UInt8] = [UInt8(ascii: "n"): 10, UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9,
                                           UInt8(ascii: "\""): 34, UInt8(ascii: "'"): 39, UInt8(ascii: "\\"): 92]
                out.append(map[c] ?? c)
                i += 2
            } else {
                out.append(b[i]); i += 1
            }
        }
        return "[" + out.map { String($0) }.joined(separator: ", ") + "] as [UInt8]"
    }

    /// Builds the models for a message's fields.
    static func models(for message: MessageDescriptor, fullName: String, path: [Int32], file: FileDescriptor, table: TypeTable) -> [FieldModel] {
        message.fields.enumerated().map { i, f in
            model(f, owner: message, ownerFullName: fullName, path: path + [2, Int32(i)], file: file, table: table)
        }
    }

    static func model(_ f: FieldDescriptor, owner: MessageDescriptor, ownerFullName: String, path: [Int32], file: FileDescriptor, table: TypeTable) -> FieldModel {
        let type = f.type ?? .message
        let swiftType = scalarSwiftType(type) ?? table.swiftName(f.typeName ?? "")
        let storage: Storage
        if f.label == .repeated {
            if type == .message, let t = f.typeName, let entry = table.messages[t], entry.descriptor.isMapEntry,
               entry.descriptor.fields.count == 2 {
                let k = model(entry.descriptor.fields[0], owner: entry.descriptor, ownerFullName: t, path: [], file: file, table: table)
                let v = model(entry.descriptor.fields[1], owner: entry.descriptor, ownerFullName: t, path: [], file: file, table: table)
                storage = .map(key: k, value: v)
            } else {
                let explicit = f.options?.bool(Options.FieldField.packed)
                storage = .repeated(packed: explicit ?? file.isProto3)
            }
        } else if let oi = f.oneofIndex, f.proto3Optional != true {
            storage = .oneof(index: Int(oi))
        } else if type == .message || type == .group {
            storage = table.needsBox(owner: ownerFullName, target: f.typeName ?? "") ? .boxed : .optional
        } else if f.proto3Optional == true || !file.isProto3 {
            storage = .optional
        } else {
            storage = .implicit
        }
        return FieldModel(
            descriptor: f, type: type, swiftName: Naming.fieldName(f.name), swiftType: swiftType,
            storage: storage, typeFullName: f.typeName, path: path)
    }
}
