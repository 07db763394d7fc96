/// JSON for the well-known types whose proto3 JSON form is not a plain object of their fields.
struct WellKnownJSONEmitter {
    enum Kind {
        case timestamp, duration, fieldMask, wrapper, structValue, value, listValue, any
    }

    let kind: Kind
    let emitter: MessageEmitter

    init?(fullName: String, emitter: MessageEmitter) {
        switch fullName {
        case ".google.protobuf.Timestamp": kind = .timestamp
        case ".google.protobuf.Duration": kind = .duration
        case ".google.protobuf.FieldMask": kind = .fieldMask
        case ".google.protobuf.DoubleValue", ".google.protobuf.FloatValue", ".google.protobuf.Int64Value",
             ".google.protobuf.UInt64Value", ".google.protobuf.Int32Value", ".google.protobuf.UInt32Value",
             ".google.protobuf.BoolValue", ".google.protobuf.StringValue", ".google.protobuf.BytesValue":
            kind = .wrapper
        case ".google.protobuf.Struct": kind = .structValue
        case ".google.protobuf.Value": kind = .value
        case ".google.protobuf.ListValue": kind = .listValue
        case ".google.protobuf.Any": kind = .any
        default: return nil
        }
        self.emitter = emitter
    }

    func emit(_ w: inout CodeWriter) {
        let a = emitter.access
        let enc = "\(a) func _encodeJSON(to j: inout JSONWriter) throws(ProtoJSONError)"
        let dec = "\(a) mutating func _decodeJSON(from x: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError)"
        switch kind {
        case .timestamp:
            w.line("\(enc) { j.string(try WellKnownJSON.formatTimestamp(seconds: seconds, nanos: nanos)) }")
            w.line("\(dec) { (seconds, nanos) = try WellKnownJSON.parseTimestamp(try JSONScalar.string(x)) }")
        case .duration:
            w.line("\(enc) { j.string(try WellKnownJSON.formatDuration(seconds: seconds, nanos: nanos)) }")
            w.line("\(dec) { (seconds, nanos) = try WellKnownJSON.parseDuration(try JSONScalar.string(x)) }")
        case .fieldMask:
            w.line("\(enc) { j.string(try WellKnownJSON.formatFieldMask(paths)) }")
            w.line("\(dec) { paths = WellKnownJSON.parseFieldMask(try JSONScalar.string(x)) }")
        case .wrapper:
            guard let f = emitter.fields.first else { return }
            w.line("\(enc) { \(CodecSnippets.writeJSON(f, "value")) }")
            w.line("\(dec) { value = \(CodecSnippets.readJSON(f, "x")) }")
        case .structValue:
            w.block(enc) { w in
                w.line("j.beginObject()")
                w.line("for (k, v) in fields.sorted(by: { $0.key < $1.key }) { j.key(k); do { try v._encodeJSON(to: &j) } catch { throw error.within(k) } }")
                w.line("j.endObject()")
            }
            w.block(dec) { w in
                w.line("for (k, v) in try JSONScalar.object(x, Self.protoMessageName) { do { fields[k] = try Google_Protobuf_Value(json: v, context: &context) } catch { throw error.within(k) } }")
            }
        case .listValue:
            w.block(enc) { w in
                w.line("j.beginArray()")
                w.line("for v in values { try v._encodeJSON(to: &j) }")
                w.line("j.endArray()")
            }
            w.line("\(dec) { for v in try JSONScalar.array(x) { values.append(try Google_Protobuf_Value(json: v, context: &context)) } }")
        case .value:
            w.block(enc) { w in
                w.block("switch kind") { w in
                    w.line("case .nullValue?: j.null()")
                    w.line("case .numberValue(let v)?:")
                    w.line("    guard v.isFinite else { throw ProtoJSONError(\"google.protobuf.Value cannot hold \\(v) in JSON\") }")
                    w.line("    j.double(v)")
                    w.line("case .stringValue(let v)?: j.string(v)")
                    w.line("case .boolValue(let v)?: j.bool(v)")
                    w.line("case .structValue(let v)?: try v._encodeJSON(to: &j)")
                    w.line("case .listValue(let v)?: try v._encodeJSON(to: &j)")
                    w.line("case nil: throw ProtoJSONError(\"google.protobuf.Value has no kind set\")")
                }
            }
            w.block(dec) { w in
                w.block("switch x") { w in
                    w.line("case .null: kind = .nullValue(.init(rawValue: 0))")
                    w.line("case .number: kind = .numberValue(try JSONScalar.double(x))")
                    w.line("case .string(let s): kind = .stringValue(s)")
                    w.line("case .bool(let b): kind = .boolValue(b)")
                    w.line("case .object: kind = .structValue(try Google_Protobuf_Struct(json: x, context: &context))")
                    w.line("case .array: kind = .listValue(try Google_Protobuf_ListValue(json: x, context: &context))")
                }
            }
        case .any:
            w.line("\(enc) { try WellKnownJSON.encodeAny(typeURL: typeUrl, value: value, to: &j) }")
            w.line("\(dec) { (typeUrl, value) = try WellKnownJSON.decodeAny(x, context: &context) }")
        }
    }
}
