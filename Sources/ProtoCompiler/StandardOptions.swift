// The standard options of descriptor.proto (protobuf 3.21): which names exist on which `*Options`
// message, their field numbers and their types. Custom (extension) options are not supported.

/// Which `*Options` message an `option` statement or `[…]` list targets.
enum OptionsKind: Sendable {
    case file, message, field, oneof, enumType, enumValue, service, method, extensionRange

    /// The options message's full name, for error messages.
    var messageName: String {
        switch self {
        case .file: return "google.protobuf.FileOptions"
        case .message: return "google.protobuf.MessageOptions"
        case .field: return "google.protobuf.FieldOptions"
        case .oneof: return "google.protobuf.OneofOptions"
        case .enumType: return "google.protobuf.EnumOptions"
        case .enumValue: return "google.protobuf.EnumValueOptions"
        case .service: return "google.protobuf.ServiceOptions"
        case .method: return "google.protobuf.MethodOptions"
        case .extensionRange: return "google.protobuf.ExtensionRangeOptions"
        }
    }

    /// The known options of this kind, by name.
    var fields: [String: StandardOption] { StandardOption.table(for: self) }
}

/// One standard option field.
struct StandardOption: Sendable {
    /// The value type of an option.
    enum ValueType: Sendable {
        case bool
        case string
        /// An enum: its full name and values by name.
        case enumeration(String, [String: UInt64])
    }

    /// The field number in the options message.
    var number: Int32
    /// The value type.
    var type: ValueType

    private static let optimizeMode = ValueType.enumeration(
        "google.protobuf.FileOptions.OptimizeMode", ["SPEED": 1, "CODE_SIZE": 2, "LITE_RUNTIME": 3])
    private static let cType = ValueType.enumeration(
        "google.protobuf.FieldOptions.CType", ["STRING": 0, "CORD": 1, "STRING_PIECE": 2])
    private static let jsType = ValueType.enumeration(
        "google.protobuf.FieldOptions.JSType", ["JS_NORMAL": 0, "JS_STRING": 1, "JS_NUMBER": 2])
    private static let idempotency = ValueType.enumeration(
        "google.protobuf.MethodOptions.IdempotencyLevel",
        ["IDEMPOTENCY_UNKNOWN": 0, "NO_SIDE_EFFECTS": 1, "IDEMPOTENT": 2])

    /// The table for one options message.
    static func table(for kind: OptionsKind) -> [String: StandardOption] {
        switch kind {
        case .file:
            return [
                "java_package": .init(number: 1, type: .string),
                "java_outer_classname": .init(number: 8, type: .string),
                "java_multiple_files": .init(number: 10, type: .bool),
                "java_generate_equals_and_hash": .init(number: 20, type: .bool),
                "java_string_check_utf8": .init(number: 27, type: .bool),
                "optimize_for": .init(number: 9, type: optimizeMode),
                "go_package": .init(number: 11, type: .string),
                "cc_generic_services": .init(number: 16, type: .bool),
                "java_generic_services": .init(number: 17, type: .bool),
                "py_generic_services": .init(number: 18, type: .bool),
                "php_generic_services": .init(number: 42, type: .bool),
                "deprecated": .init(number: 23, type: .bool),
                "cc_enable_arenas": .init(number: 31, type: .bool),
                "objc_class_prefix": .init(number: 36, type: .string),
                "csharp_namespace": .init(number: 37, type: .string),
                "swift_prefix": .init(number: 39, type: .string),
                "php_class_prefix": .init(number: 40, type: .string),
                "php_namespace": .init(number: 41, type: .string),
                "php_metadata_namespace": .init(number: 44, type: .string),
                "ruby_package": .init(number: 45, type: .string),
            ]
        case .message:
            return [
                "message_set_wire_format": .init(number: 1, type: .bool),
                "no_standard_descriptor_accessor": .init(number: 2, type: .bool),
                "deprecated": .init(number: 3, type: .bool),
                "map_entry": .init(number: 7, type: .bool),
            ]
        case .field:
            return [
                "ctype": .init(number: 1, type: cType),
                "packed": .init(number: 2, type: .bool),
                "jstype": .init(number: 6, type: jsType),
                "lazy": .init(number: 5, type: .bool),
                "unverified_lazy": .init(number: 15, type: .bool),
                "deprecated": .init(number: 3, type: .bool),
                "weak": .init(number: 10, type: .bool),
            ]
        case .oneof, .extensionRange:
            return [:]
        case .enumType:
            return [
                "allow_alias": .init(number: 2, type: .bool),
                "deprecated": .init(number: 3, type: .bool),
            ]
        case .enumValue:
            return ["deprecated": .init(number: 1, type: .bool)]
        case .service:
            return ["deprecated": .init(number: 33, type: .bool)]
        case .method:
            return [
                "deprecated": .init(number: 33, type: .bool),
                "idempotency_level": .init(number: 34, type: idempotency),
            ]
        }
    }
}
