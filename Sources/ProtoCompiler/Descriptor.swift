// The descriptor model: plain Swift mirrors of `google/protobuf/descriptor.proto`.
//
// The compiler cannot use generated code for descriptors (it is the thing that generates code), so
// these types are written by hand, like protoc's own bootstrap descriptors. Field numbers in the
// comments are the ones `DescriptorEncoding.swift` writes; they must match descriptor.proto exactly
// so that our `FileDescriptorSet` bytes equal protoc's.

/// A set of files, as `protoc --descriptor_set_out` writes it (`FileDescriptorSet.file` = 1).
public struct FileDescriptorSet: Sendable, Hashable {
    /// The files, dependencies first when imports are included.
    public var files: [FileDescriptor]

    /// Creates a set from files in output order.
    public init(files: [FileDescriptor]) { self.files = files }
}

/// `google.protobuf.FileDescriptorProto`.
public struct FileDescriptor: Sendable, Hashable {
    /// 1: the path relative to its import root, e.g. `grpc/health/v1/health.proto`.
    public var name: String
    /// 2: the package, or nil when the file declares none.
    public var package: String?
    /// 3: imported files, in declaration order.
    public var dependencies: [String] = []
    /// 10: indexes into `dependencies` of `import public` lines.
    public var publicDependencies: [Int32] = []
    /// 11: indexes into `dependencies` of `import weak` lines.
    public var weakDependencies: [Int32] = []
    /// 4: top-level messages.
    public var messageTypes: [MessageDescriptor] = []
    /// 5: top-level enums.
    public var enumTypes: [EnumDescriptor] = []
    /// 6: services.
    public var services: [ServiceDescriptor] = []
    /// 7: top-level `extend` fields.
    public var extensions: [FieldDescriptor] = []
    /// 8: `option …;` statements at file level.
    public var options: Options?
    /// 9: comments and spans; kept always, written only when asked for.
    public var sourceCodeInfo: SourceCodeInfo?
    /// 12: `"proto3"`, or nil for proto2 (protoc leaves the field unset for proto2).
    public var syntax: String?

    /// Creates an empty file descriptor with a name.
    public init(name: String) { self.name = name }

    /// Whether the file is proto3.
    public var isProto3: Bool { syntax == "proto3" }
}

/// `google.protobuf.DescriptorProto`: a message type.
public struct MessageDescriptor: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2
    public var fields: [FieldDescriptor] = []
    /// 6: `extend` blocks nested in this message.
    public var extensions: [FieldDescriptor] = []
    /// 3: includes synthesized map entry types (`FooEntry`, option `map_entry = true`).
    public var nestedTypes: [MessageDescriptor] = []
    /// 4
    public var enumTypes: [EnumDescriptor] = []
    /// 5
    public var extensionRanges: [ExtensionRange] = []
    /// 8: includes synthetic oneofs (`_name`) for proto3 `optional` fields, after the real ones.
    public var oneofDecls: [OneofDescriptor] = []
    /// 7
    public var options: Options?
    /// 9: half-open ranges `[start, end)`.
    public var reservedRanges: [ReservedRange] = []
    /// 10
    public var reservedNames: [String] = []

    /// Creates a message descriptor with a name.
    public init(name: String) { self.name = name }

    /// Whether this is a synthesized map entry message.
    public var isMapEntry: Bool { options?.bool(Options.MessageField.mapEntry) ?? false }
}

/// `DescriptorProto.ExtensionRange`: `[start, end)` plus options (3).
public struct ExtensionRange: Sendable, Hashable {
    /// 1: inclusive.
    public var start: Int32
    /// 2: exclusive.
    public var end: Int32
    /// 3
    public var options: Options?
    /// Creates a range.
    public init(start: Int32, end: Int32, options: Options? = nil) {
        self.start = start; self.end = end; self.options = options
    }
}

/// `DescriptorProto.ReservedRange` (half-open) or `EnumDescriptorProto.EnumReservedRange` (inclusive).
public struct ReservedRange: Sendable, Hashable {
    /// 1
    public var start: Int32
    /// 2
    public var end: Int32
    /// Creates a range.
    public init(start: Int32, end: Int32) { self.start = start; self.end = end }
}

/// `google.protobuf.FieldDescriptorProto`.
public struct FieldDescriptor: Sendable, Hashable {
    /// `FieldDescriptorProto.Label`.
    public enum Label: Int32, Sendable, Hashable {
        case optional = 1, required = 2, repeated = 3
    }

    /// `FieldDescriptorProto.Type`.
    public enum FieldType: Int32, Sendable, Hashable, CaseIterable {
        case double = 1, float = 2, int64 = 3, uint64 = 4, int32 = 5, fixed64 = 6, fixed32 = 7
        case bool = 8, string = 9, group = 10, message = 11, bytes = 12, uint32 = 13, `enum` = 14
        case sfixed32 = 15, sfixed64 = 16, sint32 = 17, sint64 = 18
    }

    /// 1
    public var name: String
    /// 3
    public var number: Int32
    /// 4: always set by protoc (proto3 singular fields are `optional`).
    public var label: Label
    /// 5: set once types are resolved (message or enum for named types).
    public var type: FieldType?
    /// 6: fully qualified with a leading dot once resolved, e.g. `.grpc.health.v1.HealthCheckRequest`.
    public var typeName: String?
    /// 2: for extensions, the fully qualified extended message.
    public var extendee: String?
    /// 7: proto2 `[default = …]` in protoc's textual form (bytes C-escaped, enums by name).
    public var defaultValue: String?
    /// 9: index into the containing message's `oneofDecls`.
    public var oneofIndex: Int32?
    /// 10: protoc always fills it (lowerCamelCase of `name`, or the `json_name` option).
    public var jsonName: String?
    /// 8
    public var options: Options?
    /// 17: a proto3 `optional` field (it also gets a synthetic oneof).
    public var proto3Optional: Bool?

    /// Creates a field.
    public init(name: String, number: Int32, label: Label, type: FieldType? = nil, typeName: String? = nil) {
        self.name = name; self.number = number; self.label = label; self.type = type; self.typeName = typeName
    }
}

/// `google.protobuf.OneofDescriptorProto`.
public struct OneofDescriptor: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2
    public var options: Options?
    /// Creates a oneof.
    public init(name: String, options: Options? = nil) { self.name = name; self.options = options }
}

/// `google.protobuf.EnumDescriptorProto`.
public struct EnumDescriptor: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2
    public var values: [EnumValueDescriptor] = []
    /// 3
    public var options: Options?
    /// 4: inclusive ranges.
    public var reservedRanges: [ReservedRange] = []
    /// 5
    public var reservedNames: [String] = []
    /// Creates an enum.
    public init(name: String) { self.name = name }
}

/// `google.protobuf.EnumValueDescriptorProto`.
public struct EnumValueDescriptor: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2
    public var number: Int32
    /// 3
    public var options: Options?
    /// Creates an enum value.
    public init(name: String, number: Int32, options: Options? = nil) {
        self.name = name; self.number = number; self.options = options
    }
}

/// `google.protobuf.ServiceDescriptorProto`.
public struct ServiceDescriptor: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2
    public var methods: [MethodDescriptorProto] = []
    /// 3
    public var options: Options?
    /// Creates a service.
    public init(name: String) { self.name = name }
}

/// `google.protobuf.MethodDescriptorProto`.
public struct MethodDescriptorProto: Sendable, Hashable {
    /// 1
    public var name: String
    /// 2: fully qualified with a leading dot once resolved.
    public var inputType: String
    /// 3: fully qualified with a leading dot once resolved.
    public var outputType: String
    /// 4
    public var options: Options?
    /// 5: protoc sets it only when true.
    public var clientStreaming: Bool?
    /// 6: protoc sets it only when true.
    public var serverStreaming: Bool?
    /// Creates a method.
    public init(name: String, inputType: String, outputType: String) {
        self.name = name; self.inputType = inputType; self.outputType = outputType
    }
}

/// The contents of any `*Options` message, kept generically as (field number, value) pairs.
///
/// Only the standard options are interpreted (custom options are rejected by the parser). Values are
/// written in field-number order, which is the order protoc uses.
public struct Options: Sendable, Hashable {
    /// A scalar option value, already typed for its field.
    public enum Value: Sendable, Hashable {
        /// A varint field (bool, enum, int32/int64/uint…).
        case varint(UInt64)
        /// A length-delimited string field.
        case string(String)
    }

    /// Set options in the order they were written in the source.
    public var fields: [(number: Int32, value: Value)] = []

    /// Creates empty options.
    public init() {}

    /// Returns the last value set for `number`.
    public func value(_ number: Int32) -> Value? { fields.last(where: { $0.number == number })?.value }

    /// Returns a bool option, or nil when unset.
    public func bool(_ number: Int32) -> Bool? {
        if case .varint(let v)? = value(number) { return v != 0 }
        return nil
    }

    /// Returns a string option, or nil when unset.
    public func string(_ number: Int32) -> String? {
        if case .string(let s)? = value(number) { return s }
        return nil
    }

    public static func == (a: Options, b: Options) -> Bool {
        a.fields.map(\.number) == b.fields.map(\.number) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    public func hash(into h: inout Hasher) {
        for f in fields { h.combine(f.number); h.combine(f.value) }
    }

    /// Field numbers in `MessageOptions`.
    public enum MessageField {
        /// `map_entry`
        public static let mapEntry: Int32 = 7
        /// `deprecated`
        public static let deprecated: Int32 = 3
    }

    /// Field numbers in `FieldOptions`.
    public enum FieldField {
        /// `packed`
        public static let packed: Int32 = 2
        /// `deprecated`
        public static let deprecated: Int32 = 3
    }

    /// Field numbers in `FileOptions`, `EnumValueOptions`, `ServiceOptions`, `MethodOptions`, `EnumOptions` share
    /// `deprecated` numbers that differ per message; see `DescriptorEncoding.swift` for the full tables.
    public enum EnumField {
        /// `allow_alias`
        public static let allowAlias: Int32 = 2
        /// `deprecated`
        public static let deprecated: Int32 = 3
    }
}

/// `google.protobuf.SourceCodeInfo`.
public struct SourceCodeInfo: Sendable, Hashable {
    /// `SourceCodeInfo.Location`.
    public struct Location: Sendable, Hashable {
        /// 1 (packed): the path of field numbers and indexes from the `FileDescriptorProto` root.
        public var path: [Int32]
        /// 2 (packed): `[startLine, startColumn, endLine, endColumn]` or, on one line,
        /// `[startLine, startColumn, endColumn]`; zero-based.
        public var span: [Int32]
        /// 3
        public var leadingComments: String?
        /// 4
        public var trailingComments: String?
        /// 6
        public var leadingDetachedComments: [String] = []

        /// Creates a location.
        public init(path: [Int32], span: [Int32]) { self.path = path; self.span = span }
    }

    /// 1: in the order protoc emits them.
    public var locations: [Location] = []

    /// Creates source info.
    public init(locations: [Location] = []) { self.locations = locations }

    /// Leading comments by location path (the first location of a path wins, as protoc lists
    /// them). Build it once per file: looking paths up one by one is a scan of every location.
    public func leadingCommentsByPath() -> [[Int32]: String] {
        var index: [[Int32]: String] = [:]
        for l in locations {
            if let c = l.leadingComments, index[l.path] == nil { index[l.path] = c }
        }
        return index
    }
}
