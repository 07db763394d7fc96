// Binary encoding of descriptors, byte-identical to protoc's `--descriptor_set_out`: fields in
// field-number order (as protoc's C++ serializer writes them), only set fields, packed
// `path`/`span`, negative int32 values as 10-byte varints.

/// A minimal protobuf writer.
private struct Writer {
    var bytes: [UInt8] = []

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int32, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func int32(_ field: Int32, _ v: Int32?) {
        guard let v else { return }
        tag(field, 0); varint(UInt64(bitPattern: Int64(v)))
    }

    mutating func bool(_ field: Int32, _ v: Bool?) {
        guard let v else { return }
        tag(field, 0); varint(v ? 1 : 0)
    }

    mutating func string(_ field: Int32, _ v: String?) {
        guard let v else { return }
        bytes(field, Array(v.utf8))
    }

    mutating func bytes(_ field: Int32, _ v: [UInt8]) {
        tag(field, 2); varint(UInt64(v.count)); bytes += v
    }

    mutating func message(_ field: Int32, _ build: (inout Writer) -> Void) {
        var inner = Writer()
        build(&inner)
        bytes(field, inner.bytes)
    }

    mutating func packed(_ field: Int32, _ values: [Int32]) {
        guard !values.isEmpty else { return }
        var inner = Writer()
        for v in values { inner.varint(UInt64(bitPattern: Int64(v))) }
        bytes(field, inner.bytes)
    }
}

extension FileDescriptorSet {
    /// The serialized `FileDescriptorSet`, as protoc writes it.
    /// - Parameter includeSourceInfo: write `source_code_info` (protoc's `--include_source_info`).
    public func serializedBytes(includeSourceInfo: Bool = false) -> [UInt8] {
        var w = Writer()
        for f in files { w.bytes(1, f.serializedBytes(includeSourceInfo: includeSourceInfo)) }
        return w.bytes
    }
}

extension FileDescriptor {
    /// The serialized `FileDescriptorProto`, as protoc writes it.
    /// - Parameter includeSourceInfo: write `source_code_info` when the descriptor has it.
    public func serializedBytes(includeSourceInfo: Bool = false) -> [UInt8] {
        var w = Writer()
        w.string(1, name)
        w.string(2, package)
        for d in dependencies { w.string(3, d) }
        for m in messageTypes { w.message(4) { m.encode(&$0) } }
        for e in enumTypes { w.message(5) { e.encode(&$0) } }
        for s in services { w.message(6) { s.encode(&$0) } }
        for x in extensions { w.message(7) { x.encode(&$0) } }
        if let options { w.message(8) { options.encode(&$0) } }
        if includeSourceInfo, let sourceCodeInfo { w.message(9) { sourceCodeInfo.encode(&$0) } }
        for p in publicDependencies { w.int32(10, p) }
        for d in weakDependencies { w.int32(11, d) }
        w.string(12, syntax)
        return w.bytes
    }
}

extension MessageDescriptor {
    fileprivate func encode(_ w: inout Writer) {
        w.string(1, name)
        for f in fields { w.message(2) { f.encode(&$0) } }
        for m in nestedTypes { w.message(3) { m.encode(&$0) } }
        for e in enumTypes { w.message(4) { e.encode(&$0) } }
        for r in extensionRanges {
            w.message(5) { w in
                w.int32(1, r.start); w.int32(2, r.end)
                if let o = r.options { w.message(3) { o.encode(&$0) } }
            }
        }
        for x in extensions { w.message(6) { x.encode(&$0) } }
        if let options { w.message(7) { options.encode(&$0) } }
        for o in oneofDecls {
            w.message(8) { w in
                w.string(1, o.name)
                if let opts = o.options { w.message(2) { opts.encode(&$0) } }
            }
        }
        for r in reservedRanges { w.message(9) { w in w.int32(1, r.start); w.int32(2, r.end) } }
        for n in reservedNames { w.string(10, n) }
    }
}

extension FieldDescriptor {
    fileprivate func encode(_ w: inout Writer) {
        w.string(1, name)
        w.string(2, extendee)
        w.int32(3, number)
        w.int32(4, label.rawValue)
        w.int32(5, type?.rawValue)
        w.string(6, typeName)
        w.string(7, defaultValue)
        if let options { w.message(8) { options.encode(&$0) } }
        w.int32(9, oneofIndex)
        w.string(10, jsonName)
        w.bool(17, proto3Optional)
    }
}

extension EnumDescriptor {
    fileprivate func encode(_ w: inout Writer) {
        w.string(1, name)
        for v in values {
            w.message(2) { w in
                w.string(1, v.name); w.int32(2, v.number)
                if let o = v.options { w.message(3) { o.encode(&$0) } }
            }
        }
        if let options { w.message(3) { options.encode(&$0) } }
        for r in reservedRanges { w.message(4) { w in w.int32(1, r.start); w.int32(2, r.end) } }
        for n in reservedNames { w.string(5, n) }
    }
}

extension ServiceDescriptor {
    fileprivate func encode(_ w: inout Writer) {
        w.string(1, name)
        for m in methods {
            w.message(2) { w in
                w.string(1, m.name); w.string(2, m.inputType); w.string(3, m.outputType)
                if let o = m.options { w.message(4) { o.encode(&$0) } }
                w.bool(5, m.clientStreaming == true ? true : nil)
                w.bool(6, m.serverStreaming == true ? true : nil)
            }
        }
        if let options { w.message(3) { options.encode(&$0) } }
    }
}

extension Options {
    fileprivate func encode(_ w: inout Writer) {
        // Stable sort: field-number order, as the C++ serializer writes known fields.
        for f in fields.enumerated().sorted(by: { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }) {
            switch f.element.value {
            case .varint(let v): w.tag(f.element.number, 0); w.varint(v)
            case .string(let s): w.string(f.element.number, s)
            }
        }
    }
}

extension SourceCodeInfo {
    fileprivate func encode(_ w: inout Writer) {
        for l in locations {
            w.message(1) { w in
                w.packed(1, l.path)
                w.packed(2, l.span)
                w.string(3, l.leadingComments)
                w.string(4, l.trailingComments)
                for d in l.leadingDetachedComments { w.string(6, d) }
            }
        }
    }
}
