import Gen
import WeftProtobuf

/// A `PublishRecordsRequest` that is already encoded: the publisher builds batch requests
/// straight from segment bytes, so the records are never decoded or encoded again on the way
/// out. Sent through the generated method descriptor like the typed message would be.
struct EncodedPublishRequest: ProtoMessage {
    static let protoMessageName = Weft_Accounting_V1_PublishRecordsRequest.protoMessageName

    /// The serialized request.
    var bytes: [UInt8] = []
    var unknownFields = UnknownFields()

    init() {}

    init(bytes: [UInt8]) { self.bytes = bytes }

    init(_ message: Weft_Accounting_V1_PublishRecordsRequest) { bytes = message.serializedBytes() }

    func _encode(to writer: inout ProtoWriter) { writer.writeRaw(bytes) }

    mutating func _decode(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        var typed = Weft_Accounting_V1_PublishRecordsRequest()
        try typed._decode(from: &reader)
        bytes = typed.serializedBytes()
    }

    func _encodeJSON(to writer: inout JSONWriter) throws(ProtoJSONError) {
        let typed: Weft_Accounting_V1_PublishRecordsRequest
        do { typed = try Weft_Accounting_V1_PublishRecordsRequest(serializedBytes: bytes) } catch { throw ProtoJSONError("\(error)") }
        try typed._encodeJSON(to: &writer)
    }

    mutating func _decodeJSON(from value: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError) {
        var typed = Weft_Accounting_V1_PublishRecordsRequest()
        try typed._decodeJSON(from: value, context: &context)
        bytes = typed.serializedBytes()
    }
}
