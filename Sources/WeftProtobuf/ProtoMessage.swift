#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A generated protobuf message.
///
/// The underscored requirements are implemented by generated code; use the binary and JSON APIs in
/// the extension below.
public protocol ProtoMessage: Sendable, Hashable {
    /// Creates a message with every field at its default.
    init()
    /// The fully qualified protobuf name, e.g. `grpc.health.v1.HealthCheckRequest`.
    static var protoMessageName: String { get }
    /// Fields that were read but not recognised, re-emitted byte for byte.
    var unknownFields: UnknownFields { get set }

    /// Writes the message's fields back to front (see ``ProtoWriter``).
    func _encode(to writer: inout ProtoWriter)
    /// Merges fields read from `reader` until it is exhausted.
    mutating func _decode(from reader: inout ProtoReader) throws(ProtoDecodingError)
    /// Writes the message as a canonical proto3 JSON value.
    func _encodeJSON(to writer: inout JSONWriter) throws(ProtoJSONError)
    /// Merges fields from a parsed JSON value.
    mutating func _decodeJSON(from value: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError)
}

extension ProtoMessage {
    /// A message built by `populate` from the defaults: `.with { $0.name = "x" }`.
    @inlinable
    public static func with(_ populate: (inout Self) throws -> Void) rethrows -> Self {
        var message = Self()
        try populate(&message)
        return message
    }

    /// The fully qualified protobuf name of this message's type.
    @inlinable
    public var protoMessageName: String { Self.protoMessageName }

    /// Decodes a message from its binary encoding.
    @inlinable
    public init(serializedBytes bytes: some ContiguousBytes) throws(ProtoDecodingError) {
        self.init()
        try merge(serializedBytes: bytes)
    }

    /// Merges fields from a binary encoding into this message.
    @inlinable
    public mutating func merge(serializedBytes bytes: some ContiguousBytes) throws(ProtoDecodingError) {
        let result: Result<Void, ProtoDecodingError> = bytes.withUnsafeBytes { raw in
            var reader = ProtoReader(raw)
            do throws(ProtoDecodingError) {
                try self._decode(from: &reader)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// The binary encoding as an array of bytes.
    @inlinable
    public func serializedBytes() -> [UInt8] {
        var w = ProtoWriter()
        _encode(to: &w)
        return w.bytes()
    }

    /// The binary encoding as `Data`.
    @inlinable
    public func serializedData() -> Data {
        var w = ProtoWriter()
        _encode(to: &w)
        return w.takeData()
    }

    /// Number of bytes of the binary encoding.
    public var serializedSize: Int {
        var w = ProtoWriter()
        _encode(to: &w)
        return w.count
    }

    /// The canonical proto3 JSON encoding.
    public func jsonString() throws(ProtoJSONError) -> String {
        var w = JSONWriter()
        try _encodeJSON(to: &w)
        return w.string
    }

    /// Decodes a message from a parsed JSON value (used by generated code for nested messages).
    @inlinable
    public init(json value: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError) {
        self.init()
        try _decodeJSON(from: value, context: &context)
    }

    /// The canonical proto3 JSON encoding, resolving `google.protobuf.Any` contents with `registry`.
    public func jsonString(registry: ProtoTypeRegistry) throws(ProtoJSONError) -> String {
        var w = JSONWriter(registry: registry)
        try _encodeJSON(to: &w)
        return w.string
    }

    /// Decodes a message from proto3 JSON.
    ///
    /// - Parameters:
    ///   - registry: message types that `google.protobuf.Any` values may name.
    ///   - ignoreUnknownFields: skip unknown field names instead of failing.
    public init(jsonString: String, registry: ProtoTypeRegistry = .init(), ignoreUnknownFields: Bool = false) throws(ProtoJSONError) {
        self.init()
        let value = try JSONValue.parse(jsonString)
        var context = JSONDecodingContext(registry: registry, ignoreUnknownFields: ignoreUnknownFields)
        try _decodeJSON(from: value, context: &context)
    }
}

/// A generated protobuf enum. Open: values not known to this build are kept as `UNRECOGNIZED`.
public protocol ProtoEnum: Sendable, Hashable, RawRepresentable where RawValue == Int32 {
    /// Creates the case for a raw value; unknown numbers become `UNRECOGNIZED(n)`.
    init(rawValue: Int32)
    /// Creates the case with a protobuf value name (`SERVING`), or nil.
    init?(protoName: String)
    /// The protobuf value name, or nil for an unrecognised number.
    var protoName: String? { get }
}

/// Immutable heap storage that breaks recursion between message structs (`Node { Node? parent }`).
public final class ProtoBox<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The boxed value.
    public let value: Value
    /// Boxes a value.
    @inlinable
    public init(_ value: Value) { self.value = value }
    public static func == (a: ProtoBox, b: ProtoBox) -> Bool { a === b || a.value == b.value }
    public func hash(into h: inout Hasher) { value.hash(into: &h) }
}

/// Message types by full name, for `google.protobuf.Any` in JSON and for reflection.
public struct ProtoTypeRegistry: Sendable {
    /// Registered types by fully qualified name.
    public private(set) var types: [String: any ProtoMessage.Type]

    /// Creates a registry of `types`.
    public init(_ types: [any ProtoMessage.Type] = []) {
        var d: [String: any ProtoMessage.Type] = [:]
        for t in types { d[t.protoMessageName] = t }
        self.types = d
    }

    /// Returns a registry with the types of both.
    public func merging(_ other: ProtoTypeRegistry) -> ProtoTypeRegistry {
        var r = self
        r.types.merge(other.types) { a, _ in a }
        return r
    }

    /// Looks a type up by a type URL (`type.googleapis.com/pkg.Msg`) or a full name.
    public func type(forURL url: String) -> (any ProtoMessage.Type)? {
        let name = url.split(separator: "/").last.map(String.init) ?? url
        return types[name]
    }
}

/// What one generated `.proto` file declares: for reflection and for type registries.
public struct ProtoFileInfo: Sendable {
    /// The file's path relative to its import root, e.g. `grpc/health/v1/health.proto`.
    public let name: String
    /// The files it imports.
    public let dependencies: [String]
    /// Fully qualified names of its services.
    public let services: [String]
    /// Every message type it declares, nested ones included.
    public let messageTypes: [any ProtoMessage.Type]
    /// Its serialized `google.protobuf.FileDescriptorProto` (without source info).
    public let serializedDescriptor: [UInt8]
    /// Fully qualified names of everything it declares: messages, enums, services and methods
    /// (`pkg.Service.Method`), for reflection's "file containing symbol".
    public let symbols: [String]

    /// Creates file info (generated code calls this).
    public init(name: String, dependencies: [String], services: [String], messageTypes: [any ProtoMessage.Type],
                serializedDescriptor: [UInt8], symbols: [String] = []) {
        self.symbols = symbols
        self.name = name
        self.dependencies = dependencies
        self.services = services
        self.messageTypes = messageTypes
        self.serializedDescriptor = serializedDescriptor
    }
}
