import ProtoCompiler

/// Emits one message: the struct (with nested types) and an extension with its codecs.
struct MessageEmitter {
    let message: MessageDescriptor
    let fullName: String
    let swiftName: String
    let path: [Int32]
    let file: FileDescriptor
    let table: TypeTable
    let access: String
    let comments: [[Int32]: String]
    /// The fields' models, built once.
    let fields: [FieldModel]

    init(message: MessageDescriptor, fullName: String, swiftName: String, path: [Int32], file: FileDescriptor,
         table: TypeTable, access: String, comments: [[Int32]: String]) {
        self.message = message
        self.fullName = fullName
        self.swiftName = swiftName
        self.path = path
        self.file = file
        self.table = table
        self.access = access
        self.comments = comments
        self.fields = FieldModel.models(for: message, fullName: fullName, path: path, file: file, table: table)
    }
    var protoFullName: String { String(fullName.dropFirst()) }
    /// Swift's name for the type inside its own declaration.
    var localName: String { String(swiftName.split(separator: ".").last ?? "") }

    /// Real oneofs (not proto3 `optional` synthetics) and their members.
    var oneofs: [(index: Int, decl: OneofDescriptor, swiftName: String, typeName: String, members: [FieldModel])] {
        let fs = fields
        return message.oneofDecls.enumerated().compactMap { i, d in
            let members = fs.filter { if case .oneof(let idx) = $0.storage { return idx == i } else { return false } }
            guard !members.isEmpty else { return nil }
            let name = Naming.fieldName(d.name)
            return (i, d, name, "OneOf_" + Naming.upperCamel(d.name), members)
        }
    }

    func comment(_ p: [Int32]) -> String? { comments[p] }

    // MARK: - Declaration

    func emitDeclaration(_ w: inout CodeWriter) {
        w.docComment(comment(path))
        if message.options?.bool(Options.MessageField.deprecated) == true { w.line("@available(*, deprecated)") }
        w.block("\(access) struct \(localName): ProtoMessage") { w in
            w.line("\(access) static let protoMessageName = \(Naming.stringLiteral(protoFullName))")
            w.line()
            let fs = fields
            for f in fs { emitProperty(f, &w) }
            for o in oneofs {
                w.docComment(comment(path + [8, Int32(o.index)]))
                w.line("\(access) var \(o.swiftName): \(o.typeName)? = nil")
                w.line()
                let indirect = o.members.contains { $0.isMessage && table.needsBox(owner: fullName, target: $0.typeFullName ?? "") }
                w.docComment(comment(path + [8, Int32(o.index)]))
                w.block("\(access) \(indirect ? "indirect " : "")enum \(o.typeName): Sendable, Hashable") { w in
                    for m in o.members {
                        w.docComment(comment(m.path))
                        w.line("case \(Naming.escaped(m.swiftName))(\(m.swiftType))")
                    }
                }
                w.line()
            }
            w.line("\(access) var unknownFields = UnknownFields()")
            w.line()
            w.line("\(access) init() {}")
            // Nested types.
            for (i, e) in message.enumTypes.enumerated() {
                w.line()
                EnumEmitter(enumDescriptor: e, swiftName: swiftName + "." + e.name, path: path + [4, Int32(i)], access: access, comments: comments)
                    .emit(&w)
            }
            for (i, n) in message.nestedTypes.enumerated() where !n.isMapEntry {
                w.line()
                nested(n, index: i).emitDeclaration(&w)
            }
        }
    }

    func nested(_ n: MessageDescriptor, index: Int) -> MessageEmitter {
        MessageEmitter(message: n, fullName: fullName + "." + n.name, swiftName: swiftName + "." + n.name,
                       path: path + [3, Int32(index)], file: file, table: table, access: access, comments: comments)
    }

    func emitProperty(_ f: FieldModel, _ w: inout CodeWriter) {
        let name = Naming.escaped(f.swiftName)
        let cap = Naming.upperCamel(f.swiftName)
        let deprecated = f.descriptor.options?.bool(Options.FieldField.deprecated) == true
        func doc() {
            w.docComment(comment(f.path))
            if deprecated { w.line("@available(*, deprecated)") }
        }
        switch f.storage {
        case .implicit:
            doc()
            w.line("\(access) var \(name): \(f.swiftType) = \(f.zeroValue(table))")
        case .repeated:
            doc()
            w.line("\(access) var \(name): [\(f.swiftType)] = []")
        case let .map(k, v):
            doc()
            w.line("\(access) var \(name): [\(k.swiftType): \(v.swiftType)] = [:]")
        case .optional:
            doc()
            w.line("\(access) var \(name): \(f.swiftType) {")
            w.line("    get { _\(f.swiftName) ?? \(f.defaultValue(table)) }")
            w.line("    set { _\(f.swiftName) = newValue }")
            w.line("}")
            w.line("/// Whether `\(f.swiftName)` has been set.")
            w.line("\(access) var has\(cap): Bool { _\(f.swiftName) != nil }")
            w.line("/// Clears `\(f.swiftName)`.")
            w.line("\(access) mutating func clear\(cap)() { _\(f.swiftName) = nil }")
            w.line("@usableFromInline var _\(f.swiftName): \(f.swiftType)? = nil")
        case .boxed:
            doc()
            w.line("\(access) var \(name): \(f.swiftType) {")
            w.line("    get { _\(f.swiftName)?.value ?? \(f.swiftType)() }")
            w.line("    set { _\(f.swiftName) = ProtoBox(newValue) }")
            w.line("}")
            w.line("/// Whether `\(f.swiftName)` has been set.")
            w.line("\(access) var has\(cap): Bool { _\(f.swiftName) != nil }")
            w.line("/// Clears `\(f.swiftName)`.")
            w.line("\(access) mutating func clear\(cap)() { _\(f.swiftName) = nil }")
            w.line("@usableFromInline var _\(f.swiftName): ProtoBox<\(f.swiftType)>? = nil")
        case .oneof(let idx):
            guard let o = oneofs.first(where: { $0.index == idx }) else { return }
            doc()
            w.line("\(access) var \(name): \(f.swiftType) {")
            w.line("    get { if case .\(Naming.escaped(f.swiftName))(let v)? = \(Naming.escaped(o.swiftName)) { return v }; return \(f.zeroValue(table)) }")
            w.line("    set { \(Naming.escaped(o.swiftName)) = .\(Naming.escaped(f.swiftName))(newValue) }")
            w.line("}")
        }
        w.line()
    }

    // MARK: - Codecs

    func emitCodecs(_ w: inout CodeWriter) {
        w.line()
        w.block("extension \(swiftName)") { w in
            emitEncode(&w)
            w.line()
            emitDecode(&w)
            w.line()
            emitFieldName(&w)
            w.line()
            if let special = WellKnownJSONEmitter(fullName: fullName, emitter: self) {
                special.emit(&w)
            } else {
                emitEncodeJSON(&w)
                w.line()
                emitDecodeJSON(&w)
            }
        }
        for (i, n) in message.nestedTypes.enumerated() where !n.isMapEntry {
            nested(n, index: i).emitCodecs(&w)
        }
        for (i, e) in message.enumTypes.enumerated() {
            EnumEmitter(enumDescriptor: e, swiftName: swiftName + "." + e.name, path: path + [4, Int32(i)], access: access, comments: comments)
                .emitExtension(&w)
        }
    }

    func emitEncode(_ w: inout CodeWriter) {
        let fs = fields.sorted { $0.number > $1.number }  // back to front
        let os = oneofs
        w.block("\(access) func _encode(to w: inout ProtoWriter)") { w in
            w.line("if !unknownFields.isEmpty { w.writeRaw(unknownFields.bytes) }")
            for f in fs {
                let name = "self." + Naming.escaped(f.swiftName)
                switch f.storage {
                case .implicit:
                    w.line("if \(CodecSnippets.isNonDefault(f, name)) { \(CodecSnippets.writeValue(f, name)); w.writeRawTag(\(f.tag)) }")
                case .optional where f.isMessage:
                    // Encoded in place through the optional: no copy of the nested message.
                    w.line("if self._\(f.swiftName) != nil { let m = w.count; self._\(f.swiftName)?._encode(to: &w); w.writeLength(since: m); w.writeRawTag(\(f.tag)) }")
                case .optional:
                    w.line("if let v = self._\(f.swiftName) { \(CodecSnippets.writeValue(f, "v")); w.writeRawTag(\(f.tag)) }")
                case .boxed:
                    w.line("if let v = self._\(f.swiftName)?.value { \(CodecSnippets.writeValue(f, "v")); w.writeRawTag(\(f.tag)) }")
                case .repeated(let packed):
                    if packed && f.isPackable {
                        w.block("if !\(name).isEmpty") { w in
                            w.line("let m = w.count")
                            w.line("for v in \(name).reversed() { \(CodecSnippets.writeValue(f, "v")) }")
                            w.line("w.writeLength(since: m); w.writeRawTag(\(f.tag(wireType: 2)))")
                        }
                    } else {
                        w.line("for v in \(name).reversed() { \(CodecSnippets.writeValue(f, "v")); w.writeRawTag(\(f.tag)) }")
                    }
                case let .map(k, v):
                    w.block("for (k, v) in \(name)") { w in
                        w.line("let m = w.count")
                        w.line("\(CodecSnippets.writeValue(v, "v")); w.writeRawTag(\(v.tag))")
                        w.line("\(CodecSnippets.writeValue(k, "k")); w.writeRawTag(\(k.tag))")
                        w.line("w.writeLength(since: m); w.writeRawTag(\(f.tag))")
                    }
                case .oneof(let idx):
                    guard let o = os.first(where: { $0.index == idx }) else { continue }
                    w.line("if case .\(Naming.escaped(f.swiftName))(let v)? = self.\(Naming.escaped(o.swiftName)) { \(CodecSnippets.writeValue(f, "v")); w.writeRawTag(\(f.tag)) }")
                }
            }
        }
    }

    func emitDecode(_ w: inout CodeWriter) {
        let fs = fields
        let os = oneofs
        w.block("\(access) mutating func _decode(from r: inout ProtoReader) throws(ProtoDecodingError)") { w in
            w.block("while r.hasMore") { w in
                w.line("let tag = try r.readTag()")
                w.block("do throws(ProtoDecodingError)") { w in
                    w.block("switch tag") { w in
                        for f in fs { emitDecodeCases(f, oneofs: os, &w) }
                        w.line("default: try r.skipField(tag: tag, into: &unknownFields)")
                    }
                }
                w.line("catch { throw error.within(Self._fieldName(tag >> 3)) }")
            }
        }
    }

    func emitDecodeCases(_ f: FieldModel, oneofs os: [(index: Int, decl: OneofDescriptor, swiftName: String, typeName: String, members: [FieldModel])], _ w: inout CodeWriter) {
        let name = "self." + Naming.escaped(f.swiftName)
        switch f.storage {
        case .implicit:
            w.line("case \(f.tag): \(name) = \(CodecSnippets.readValue(f))")
        case .optional:
            if f.isMessage {
                w.line("case \(f.tag): try r.readMessage(into: &self._\(f.swiftName))")
            } else {
                w.line("case \(f.tag): self._\(f.swiftName) = \(CodecSnippets.readValue(f))")
            }
        case .boxed:
            w.line("case \(f.tag): var m = self._\(f.swiftName)?.value ?? \(f.swiftType)(); try r.readMessage(into: &m); self._\(f.swiftName) = ProtoBox(m)")
        case .repeated:
            if f.isPackable {
                w.line("case \(f.tag): \(name).append(\(CodecSnippets.readValue(f)))")
                w.line("case \(f.tag(wireType: 2)):")
                w.indented { w in
                    w.line("let saved = try r.pushLimit()")
                    w.line("while r.hasMore { \(name).append(\(CodecSnippets.readValue(f))) }")
                    w.line("r.popLimit(saved)")
                }
            } else if f.isMessage && f.tag < 16384 {
                w.line("case \(f.tag): if \(name).isEmpty { \(name).reserveCapacity(r.countConsecutive(tag: \(f.tag))) }; \(name).append(\(CodecSnippets.readValue(f)))")
            } else {
                w.line("case \(f.tag): \(name).append(\(CodecSnippets.readValue(f)))")
            }
        case let .map(k, v):
            w.line("case \(f.tag):")
            w.indented { w in
                if f.tag < 16384 { w.line("if \(name).isEmpty { \(name).reserveCapacity(r.countConsecutive(tag: \(f.tag))) }") }
                w.line("let saved = try r.pushLimit()")
                w.line("var k: \(k.swiftType) = \(k.zeroValue(table))")
                w.line("var v: \(v.swiftType) = \(v.zeroValue(table))")
                w.block("while r.hasMore") { w in
                    w.line("let t = try r.readTag()")
                    w.block("switch t") { w in
                        w.line("case \(k.tag): k = \(CodecSnippets.readValue(k))")
                        if v.isMessage {
                            w.line("case \(v.tag): try r.readMessage(into: &v)")
                        } else {
                            w.line("case \(v.tag): v = \(CodecSnippets.readValue(v))")
                        }
                        w.line("default: var ignored = UnknownFields(); try r.skipField(tag: t, into: &ignored)")
                    }
                }
                w.line("r.popLimit(saved)")
                w.line("\(name)[k] = v")
            }
        case .oneof(let idx):
            guard let o = os.first(where: { $0.index == idx }) else { return }
            let c = Naming.escaped(f.swiftName)
            let on = "self." + Naming.escaped(o.swiftName)
            if f.isMessage {
                w.line("case \(f.tag):")
                w.indented { w in
                    w.line("var m: \(f.swiftType)")
                    w.line("if case .\(c)(let e)? = \(on) { m = e } else { m = \(f.swiftType)() }")
                    w.line("try r.readMessage(into: &m)")
                    w.line("\(on) = .\(c)(m)")
                }
            } else {
                w.line("case \(f.tag): \(on) = .\(c)(\(CodecSnippets.readValue(f)))")
            }
        }
    }

    func emitFieldName(_ w: inout CodeWriter) {
        w.line("/// The proto name of field `number`, for error paths.")
        w.block("\(access) static func _fieldName(_ number: UInt32) -> String") { w in
            w.block("switch number") { w in
                for f in fields { w.line("case \(f.number): return \(Naming.stringLiteral(f.protoName))") }
                w.line("default: return \"#\\(number)\"")
            }
        }
    }

    func emitEncodeJSON(_ w: inout CodeWriter) {
        let fs = fields.sorted { $0.number < $1.number }
        let os = oneofs
        w.block("\(access) func _encodeJSON(to j: inout JSONWriter) throws(ProtoJSONError)") { w in
            w.line("j.beginObject()")
            for f in fs {
                let name = "self." + Naming.escaped(f.swiftName)
                let key = "j.key(\(Naming.stringLiteral(f.jsonName)))"
                let wrapIf: (Bool, String) -> String = { isMessage, body in
                    isMessage ? "do { \(body) } catch { throw error.within(\(Naming.stringLiteral(f.jsonName))) }" : body
                }
                let wrap: (String) -> String = { wrapIf(f.isMessage, $0) }
                switch f.storage {
                case .implicit:
                    w.line("if \(CodecSnippets.isNonDefault(f, name)) { \(key); \(CodecSnippets.writeJSON(f, name)) }")
                case .optional:
                    w.line("if let v = self._\(f.swiftName) { \(key); \(wrap(CodecSnippets.writeJSON(f, "v"))) }")
                case .boxed:
                    w.line("if let v = self._\(f.swiftName)?.value { \(key); \(wrap(CodecSnippets.writeJSON(f, "v"))) }")
                case .repeated:
                    w.line("if !\(name).isEmpty { \(key); j.beginArray(); for v in \(name) { \(wrap(CodecSnippets.writeJSON(f, "v"))) }; j.endArray() }")
                case let .map(k, v):
                    w.block("if !\(name).isEmpty") { w in
                        w.line("\(key); j.beginObject()")
                        let order = k.type == .bool ? "!$0.key && $1.key" : "$0.key < $1.key"
                        w.line("for (k, v) in \(name).sorted(by: { \(order) }) { j.key(\(CodecSnippets.jsonMapKey(k, "k"))); \(wrapIf(v.isMessage, CodecSnippets.writeJSON(v, "v"))) }")
                        w.line("j.endObject()")
                    }
                case .oneof(let idx):
                    guard let o = os.first(where: { $0.index == idx }) else { continue }
                    w.line("if case .\(Naming.escaped(f.swiftName))(let v)? = self.\(Naming.escaped(o.swiftName)) { \(key); \(wrap(CodecSnippets.writeJSON(f, "v"))) }")
                }
            }
            w.line("j.endObject()")
        }
    }

    func emitDecodeJSON(_ w: inout CodeWriter) {
        let fs = fields
        let os = oneofs
        w.block("\(access) mutating func _decodeJSON(from value: JSONValue, context: inout JSONDecodingContext) throws(ProtoJSONError)") { w in
            w.block("for (key, \(fs.isEmpty ? "_" : "x")) in try JSONScalar.object(value, Self.protoMessageName)") { w in
                w.block("do throws(ProtoJSONError)") { w in
                    w.block("switch key") { w in
                        for f in fs {
                            var names = [Naming.stringLiteral(f.jsonName)]
                            if f.protoName != f.jsonName { names.append(Naming.stringLiteral(f.protoName)) }
                            w.line("case \(names.joined(separator: ", ")):")
                            w.indented { w in emitDecodeJSONField(f, oneofs: os, &w) }
                        }
                        w.line("default:")
                        w.line("    if !context.ignoreUnknownFields { throw ProtoJSONError(\"unknown field \\\"\\(key)\\\" in \\(Self.protoMessageName)\") }")
                    }
                }
                w.line("catch { throw error.within(key) }")
            }
        }
    }

    func emitDecodeJSONField(_ f: FieldModel, oneofs os: [(index: Int, decl: OneofDescriptor, swiftName: String, typeName: String, members: [FieldModel])], _ w: inout CodeWriter) {
        let name = "self." + Naming.escaped(f.swiftName)
        let nullSkips = !CodecSnippets.acceptsNull(f)
        if nullSkips { w.line("if case .null = x { continue }") }
        switch f.storage {
        case .implicit, .optional, .boxed:
            w.line("\(name) = \(CodecSnippets.readJSON(f, "x"))")
        case .repeated:
            w.line("for e in try JSONScalar.array(x) { \(name).append(\(CodecSnippets.readJSON(f, "e"))) }")
        case let .map(k, v):
            w.line("for (mk, mv) in try JSONScalar.object(x, \"map\") { \(name)[\(CodecSnippets.readJSONMapKey(k, "mk"))] = \(CodecSnippets.readJSON(v, "mv")) }")
        case .oneof(let idx):
            guard let o = os.first(where: { $0.index == idx }) else { return }
            w.line("if self.\(Naming.escaped(o.swiftName)) != nil { throw ProtoJSONError(\"more than one field of oneof \(o.decl.name) is set\") }")
            w.line("self.\(Naming.escaped(o.swiftName)) = .\(Naming.escaped(f.swiftName))(\(CodecSnippets.readJSON(f, "x")))")
        }
    }
}
