// The recursive-descent parser: builds an unresolved `FileDescriptor` and protoc-identical source
// locations from tokens.
//
// The grammar walk follows protoc's so that locations are created in the same order with the same
// spans: an element's location is opened before its first token and closed after its last. Type
// names stay as written (`type` nil for named types) until the linker resolves them.

/// The result of parsing one file.
struct ParsedFile {
    /// The descriptor with unresolved type names.
    var descriptor: FileDescriptor
    /// Source locations, option paths already renamed.
    var locations: SourceInfoRecorder
    /// Errors protoc reports after parsing (while interpreting options), in source order.
    var optionErrors: [SourceError]
}

/// Parses one `.proto` file; see `ProtoParser.parse`.
struct ProtoParser {
    private var lexer: Lexer
    private var rec = SourceInfoRecorder()
    private var upcomingDoc = ""
    private var upcomingDetached: [String] = []
    private var syntax = "proto2"
    private var renames: [[Int32]: [Int32]] = [:]
    private var optionErrors: [SourceError] = []

    private init(source: [UInt8]) { lexer = Lexer(source) }

    /// Parses `source` as the file `name`. Throws the first syntax error.
    static func parse(name: String, source: [UInt8]) throws(SourceError) -> ParsedFile {
        var parser = ProtoParser(source: source)
        var file = FileDescriptor(name: name)
        try parser.parseFile(&file)
        parser.rec.applyInterpretedOptions(parser.renames)
        return ParsedFile(descriptor: file, locations: parser.rec, optionErrors: parser.optionErrors)
    }

    // MARK: Token helpers

    private var current: Token { lexer.current }

    private func error(_ message: String) -> SourceError {
        SourceError(line: current.line, column: current.column, message: message)
    }

    private func error(_ message: String, at token: Token) -> SourceError {
        SourceError(line: token.line, column: token.column, message: message)
    }

    private mutating func advance() throws(SourceError) {
        lexer.next()
        if let e = lexer.error { throw SourceError(line: e.line, column: e.column, message: e.message) }
    }

    private func lookingAt(_ text: String) -> Bool { current.text == text && current.kind != .string }
    private var atEnd: Bool { current.kind == .end }

    private mutating func tryConsume(_ text: String) throws(SourceError) -> Bool {
        guard lookingAt(text) else { return false }
        try advance()
        return true
    }

    private mutating func consume(_ text: String, _ message: String? = nil) throws(SourceError) {
        if try !tryConsume(text) { throw error(message ?? "Expected \"\(text)\".") }
    }

    private mutating func consumeIdentifier(_ message: String) throws(SourceError) -> String {
        guard current.kind == .identifier else { throw error(message) }
        let text = current.text
        try advance()
        return text
    }

    /// Consumes one or more adjacent string literals and concatenates them.
    private mutating func consumeString(_ message: String) throws(SourceError) -> [UInt8] {
        guard current.kind == .string else { throw error(message) }
        var bytes: [UInt8] = []
        while current.kind == .string {
            bytes += Literals.decodeString(current.text)
            try advance()
        }
        return bytes
    }

    private mutating func consumeInteger64(max: UInt64, _ message: String) throws(SourceError) -> UInt64 {
        guard current.kind == .integer else { throw error(message) }
        guard let v = Literals.parseInteger(current.text, max: max) else { throw error("Integer out of range.") }
        try advance()
        return v
    }

    private mutating func consumeInteger(_ message: String) throws(SourceError) -> Int32 {
        Int32(try consumeInteger64(max: UInt64(Int32.max), message))
    }

    private mutating func consumeSignedInteger(_ message: String) throws(SourceError) -> Int32 {
        var max = UInt64(Int32.max)
        let negative = try tryConsume("-")
        if negative { max += 1 }
        let v = try consumeInteger64(max: max, message)
        return negative ? Int32(truncatingIfNeeded: 0 &- v) : Int32(v)
    }

    private mutating func consumeNumber(_ message: String) throws(SourceError) -> Double {
        switch current.kind {
        case .float:
            let v = Literals.parseFloat(current.text)
            try advance(); return v
        case .integer:
            guard let v = Literals.parseInteger(current.text, max: .max) else { throw error("Integer out of range.") }
            try advance(); return Double(v)
        default:
            if lookingAt("inf") { try advance(); return .infinity }
            if lookingAt("nan") { try advance(); return .nan }
            throw error(message)
        }
    }

    // MARK: Locations and comments

    private mutating func begin(_ path: [Int32]) -> Int { rec.begin(path, at: current) }
    private mutating func finish(_ handle: Int) { rec.finish(handle, lexer.previous) }

    /// Consumes `text` if present, moving comments: the pending leading comment and detached
    /// comments go to `location`, and the comment after `text` trails it.
    private mutating func tryConsumeEndOfDeclaration(_ text: String, _ location: Int?) throws(SourceError) -> Bool {
        guard lookingAt(text) else { return false }
        let c = lexer.nextWithComments()
        if let e = lexer.error { throw SourceError(line: e.line, column: e.column, message: e.message) }
        let leading = upcomingDoc
        upcomingDoc = c.leading
        if let location {
            let detached = upcomingDetached
            upcomingDetached = c.detached
            rec.attach(location, leading: leading, trailing: c.trailing, detached: detached)
        } else if text == "}" {
            upcomingDetached = c.detached
        } else {
            upcomingDetached += c.detached
        }
        return true
    }

    private mutating func consumeEndOfDeclaration(_ text: String, _ location: Int?) throws(SourceError) {
        if try !tryConsumeEndOfDeclaration(text, location) { throw error("Expected \"\(text)\".") }
    }

    // MARK: File

    private mutating func parseFile(_ file: inout FileDescriptor) throws(SourceError) {
        if current.kind == .start {
            let c = lexer.nextWithComments()
            if let e = lexer.error { throw SourceError(line: e.line, column: e.column, message: e.message) }
            upcomingDetached = c.detached
            upcomingDoc = c.leading
        }
        let root = begin([])
        if lookingAt("syntax") {
            try parseSyntax()
            if syntax == "proto3" { file.syntax = "proto3" }
        }
        while !atEnd {
            try parseTopLevelStatement(&file)
        }
        finish(root)
    }

    private mutating func parseSyntax() throws(SourceError) {
        let loc = begin([12])
        try consume("syntax", "File must begin with a syntax statement, e.g. 'syntax = \"proto2\";'.")
        try consume("=")
        let token = current
        let value = String(decoding: try consumeString("Expected syntax identifier."), as: UTF8.self)
        try consumeEndOfDeclaration(";", loc)
        finish(loc)
        guard value == "proto2" || value == "proto3" else {
            throw error("Unrecognized syntax identifier \"\(value)\".  This parser only recognizes \"proto2\" and \"proto3\".", at: token)
        }
        syntax = value
    }

    private mutating func parseTopLevelStatement(_ file: inout FileDescriptor) throws(SourceError) {
        if try tryConsumeEndOfDeclaration(";", nil) { return }
        if lookingAt("message") {
            let loc = begin([4, Int32(file.messageTypes.count)])
            var message = MessageDescriptor(name: "")
            try parseMessageDefinition(&message, loc)
            file.messageTypes.append(message)
            finish(loc)
        } else if lookingAt("enum") {
            let loc = begin([5, Int32(file.enumTypes.count)])
            var e = EnumDescriptor(name: "")
            try parseEnumDefinition(&e, loc)
            file.enumTypes.append(e)
            finish(loc)
        } else if lookingAt("service") {
            let loc = begin([6, Int32(file.services.count)])
            var s = ServiceDescriptor(name: "")
            try parseService(&s, loc)
            file.services.append(s)
            finish(loc)
        } else if lookingAt("extend") {
            let loc = begin([7])
            try parseExtend(&file.extensions, &file.messageTypes, parentPath: [], nestedField: 4, loc)
            finish(loc)
        } else if lookingAt("import") {
            try parseImport(&file)
        } else if lookingAt("package") {
            try parsePackage(&file)
        } else if lookingAt("option") {
            let loc = begin([8])
            try parseOption(&file.options, .file, loc, statement: true)
            finish(loc)
        } else {
            throw error("Expected top-level statement (e.g. \"message\").")
        }
    }

    private mutating func parseImport(_ file: inout FileDescriptor) throws(SourceError) {
        let loc = begin([3, Int32(file.dependencies.count)])
        try consume("import")
        if lookingAt("public") {
            let p = begin([10, Int32(file.publicDependencies.count)])
            try consume("public")
            finish(p)
            file.publicDependencies.append(Int32(file.dependencies.count))
        } else if lookingAt("weak") {
            let w = begin([11, Int32(file.weakDependencies.count)])
            try consume("weak")
            finish(w)
            file.weakDependencies.append(Int32(file.dependencies.count))
        }
        let name = try consumeString("Expected a string naming the file to import.")
        file.dependencies.append(String(decoding: name, as: UTF8.self))
        try consumeEndOfDeclaration(";", loc)
        finish(loc)
    }

    private mutating func parsePackage(_ file: inout FileDescriptor) throws(SourceError) {
        if file.package != nil { throw error("Multiple package definitions.") }
        let loc = begin([2])
        try consume("package")
        var name = ""
        while true {
            name += try consumeIdentifier("Expected identifier.")
            if try !tryConsume(".") { break }
            name += "."
        }
        file.package = name
        try consumeEndOfDeclaration(";", loc)
        finish(loc)
    }

    // MARK: Messages

    private mutating func parseMessageDefinition(_ message: inout MessageDescriptor, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("message")
        let nameLoc = begin(path + [1])
        message.name = try consumeIdentifier("Expected message name.")
        finish(nameLoc)
        try parseMessageBlock(&message, loc)
        if syntax == "proto3" { Self.addSyntheticOneofs(&message) }
    }

    /// protoc adds a oneof `_name` (prefixed with `X` while taken) for each proto3 `optional` field.
    private static func addSyntheticOneofs(_ message: inout MessageDescriptor) {
        var names = Set(message.oneofDecls.map(\.name))
        for i in message.fields.indices where message.fields[i].proto3Optional == true {
            var name = "_" + message.fields[i].name
            while names.contains(name) { name = "X" + name }
            names.insert(name)
            message.fields[i].oneofIndex = Int32(message.oneofDecls.count)
            message.oneofDecls.append(OneofDescriptor(name: name))
        }
    }

    private mutating func parseMessageBlock(_ message: inout MessageDescriptor, _ loc: Int) throws(SourceError) {
        try consumeEndOfDeclaration("{", loc)
        while try !tryConsumeEndOfDeclaration("}", nil) {
            if atEnd { throw error("Reached end of input in message definition (missing '}').") }
            try parseMessageStatement(&message, loc)
        }
        let isMessageSet = message.options?.bool(1) ?? false
        let maxEnd: Int32 = isMessageSet ? Int32.max : 536_870_912
        for i in message.extensionRanges.indices where message.extensionRanges[i].end == -1 {
            message.extensionRanges[i].end = maxEnd
        }
        for i in message.reservedRanges.indices where message.reservedRanges[i].end == -1 {
            message.reservedRanges[i].end = maxEnd
        }
    }

    private mutating func parseMessageStatement(_ message: inout MessageDescriptor, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        if try tryConsumeEndOfDeclaration(";", nil) { return }
        if lookingAt("message") {
            let l = begin(path + [3, Int32(message.nestedTypes.count)])
            var nested = MessageDescriptor(name: "")
            try parseMessageDefinition(&nested, l)
            message.nestedTypes.append(nested)
            finish(l)
        } else if lookingAt("enum") {
            let l = begin(path + [4, Int32(message.enumTypes.count)])
            var e = EnumDescriptor(name: "")
            try parseEnumDefinition(&e, l)
            message.enumTypes.append(e)
            finish(l)
        } else if lookingAt("extensions") {
            let l = begin(path + [5])
            try parseExtensions(&message, l)
            finish(l)
        } else if lookingAt("reserved") {
            try parseReserved(&message.reservedRanges, &message.reservedNames, path: path,
                              rangeField: 9, nameField: 10, isEnum: false)
        } else if lookingAt("extend") {
            let l = begin(path + [6])
            try parseExtend(&message.extensions, &message.nestedTypes, parentPath: path, nestedField: 3, l)
            finish(l)
        } else if lookingAt("option") {
            let l = begin(path + [7])
            try parseOption(&message.options, .message, l, statement: true)
            finish(l)
        } else if lookingAt("oneof") {
            let index = Int32(message.oneofDecls.count)
            let l = begin(path + [8, index])
            message.oneofDecls.append(OneofDescriptor(name: ""))
            try parseOneof(&message, index: Int(index), l, messagePath: path)
            finish(l)
        } else {
            let l = begin(path + [2, Int32(message.fields.count)])
            var field = FieldDescriptor(name: "", number: 0, label: .optional)
            try parseMessageField(&field, &message.nestedTypes, parentPath: path, nestedField: 3, l, hasExtendee: false)
            message.fields.append(field)
            finish(l)
        }
    }

    private mutating func parseOneof(_ message: inout MessageDescriptor, index: Int, _ loc: Int,
                                     messagePath: [Int32]) throws(SourceError) {
        let path = rec.path(loc)
        try consume("oneof")
        let nameLoc = begin(path + [1])
        message.oneofDecls[index].name = try consumeIdentifier("Expected oneof name.")
        finish(nameLoc)
        try consumeEndOfDeclaration("{", loc)
        repeat {
            if atEnd { throw error("Reached end of input in oneof definition (missing '}').") }
            if lookingAt("option") {
                let l = begin(path + [2])
                try parseOption(&message.oneofDecls[index].options, .oneof, l, statement: true)
                finish(l)
                continue
            }
            if lookingAt("required") || lookingAt("optional") || lookingAt("repeated") {
                throw error("Fields in oneofs must not have labels (required / optional / repeated).")
            }
            let l = begin(messagePath + [2, Int32(message.fields.count)])
            var field = FieldDescriptor(name: "", number: 0, label: .optional)
            field.oneofIndex = Int32(index)
            try parseMessageFieldNoLabel(&field, &message.nestedTypes, hasLabel: true, inOneof: true,
                                         hasExtendee: false, l)
            message.fields.append(field)
            finish(l)
        } while try !tryConsumeEndOfDeclaration("}", nil)
    }

    // MARK: Fields

    private static let scalarTypes: [String: FieldDescriptor.FieldType] = [
        "double": .double, "float": .float, "int64": .int64, "uint64": .uint64, "int32": .int32,
        "fixed64": .fixed64, "fixed32": .fixed32, "bool": .bool, "string": .string, "group": .group,
        "bytes": .bytes, "uint32": .uint32, "sfixed32": .sfixed32, "sfixed64": .sfixed64,
        "sint32": .sint32, "sint64": .sint64,
    ]

    private mutating func parseMessageField(_ field: inout FieldDescriptor, _ messages: inout [MessageDescriptor],
                                            parentPath: [Int32], nestedField: Int32, _ loc: Int,
                                            hasExtendee: Bool) throws(SourceError) {
        let path = rec.path(loc)
        var hasLabel = false
        if lookingAt("optional") || lookingAt("repeated") || lookingAt("required") {
            let l = begin(path + [4])
            if try tryConsume("optional") {
                field.label = .optional
                if syntax == "proto3" { field.proto3Optional = true }
            } else if try tryConsume("repeated") {
                field.label = .repeated
            } else {
                try consume("required")
                field.label = .required
            }
            finish(l)
            hasLabel = true
        }
        try parseMessageFieldNoLabel(&field, &messages, hasLabel: hasLabel, inOneof: false, hasExtendee: hasExtendee, loc)
    }

    private mutating func parseMessageFieldNoLabel(_ field: inout FieldDescriptor, _ messages: inout [MessageDescriptor],
                                                   hasLabel: Bool, inOneof: Bool, hasExtendee: Bool,
                                                   _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        var isMap = false
        var keyType: (FieldDescriptor.FieldType?, String?) = (nil, nil)
        var valueType: (FieldDescriptor.FieldType?, String?) = (nil, nil)
        let typeLoc = begin(path)
        var typeParsed = false
        var typeName: String?
        var scalar: FieldDescriptor.FieldType?
        if try tryConsume("map") {
            if lookingAt("<") { isMap = true } else { typeParsed = true; typeName = "map" }
        }
        if isMap {
            if inOneof { throw error("Map fields are not allowed in oneofs.") }
            if hasLabel { throw error("Field labels (required/optional/repeated) are not allowed on map fields.") }
            if hasExtendee { throw error("Map fields are not allowed to be extensions.") }
            field.label = .repeated
            try consume("<")
            keyType = try parseType()
            try consume(",")
            valueType = try parseType()
            try consume(">")
            rec.addPath(typeLoc, 6)
        } else {
            if !hasLabel && syntax == "proto2" && !inOneof {
                throw error("Expected \"required\", \"optional\", or \"repeated\".")
            }
            if !typeParsed { (scalar, typeName) = try parseType() }
            if let scalar {
                if scalar == .group { throw error("Groups are not supported by weft-protoc; use a nested message instead.", at: lexer.previous) }
                rec.addPath(typeLoc, 5)
                field.type = scalar
            } else {
                rec.addPath(typeLoc, 6)
                field.typeName = typeName
            }
        }
        finish(typeLoc)

        let nameLoc = begin(path + [1])
        field.name = try consumeIdentifier("Expected field name.")
        finish(nameLoc)
        try consume("=", "Missing field number.")
        let numberLoc = begin(path + [3])
        field.number = try consumeInteger("Expected field number.")
        finish(numberLoc)

        try parseFieldOptions(&field, loc)
        try consumeEndOfDeclaration(";", loc)

        if isMap {
            let entryName = Literals.mapEntryName(field.name)
            field.typeName = entryName
            var entry = MessageDescriptor(name: entryName)
            var options = Options()
            options.fields.append((number: Options.MessageField.mapEntry, value: .varint(1)))
            entry.options = options
            entry.fields = [
                FieldDescriptor(name: "key", number: 1, label: .optional, type: keyType.0, typeName: keyType.1),
                FieldDescriptor(name: "value", number: 2, label: .optional, type: valueType.0, typeName: valueType.1),
            ]
            messages.append(entry)
        }
    }

    /// Parses a scalar type keyword or a (possibly dotted, possibly absolute) type name.
    private mutating func parseType() throws(SourceError) -> (FieldDescriptor.FieldType?, String?) {
        if let scalar = Self.scalarTypes[current.text], current.kind == .identifier {
            try advance()
            return (scalar, nil)
        }
        return (nil, try parseUserDefinedType())
    }

    private mutating func parseUserDefinedType() throws(SourceError) -> String {
        if Self.scalarTypes[current.text] != nil && current.kind == .identifier {
            throw error("Expected message type.")
        }
        var name = ""
        if try tryConsume(".") { name = "." }
        name += try consumeIdentifier("Expected type name.")
        while try tryConsume(".") {
            name += "." + (try consumeIdentifier("Expected identifier."))
        }
        return name
    }

    private mutating func parseFieldOptions(_ field: inout FieldDescriptor, _ fieldLoc: Int) throws(SourceError) {
        guard lookingAt("[") else { return }
        let fieldPath = rec.path(fieldLoc)
        let loc = begin(fieldPath + [8])
        try consume("[")
        repeat {
            if lookingAt("default") {
                try parseDefault(&field, fieldPath)
            } else if lookingAt("json_name") {
                if field.jsonName != nil { throw error("Already set option \"json_name\".") }
                let l = begin(fieldPath + [10])
                try consume("json_name")
                try consume("=")
                let v = begin(fieldPath + [10])
                let bytes = try consumeString("Expected string for JSON name.")
                field.jsonName = String(decoding: bytes, as: UTF8.self)
                finish(v)
                finish(l)
            } else {
                try parseOption(&field.options, .field, loc, statement: false)
            }
        } while try tryConsume(",")
        try consume("]")
        finish(loc)
    }

    private mutating func parseDefault(_ field: inout FieldDescriptor, _ fieldPath: [Int32]) throws(SourceError) {
        if field.defaultValue != nil { throw error("Already set option \"default\".") }
        try consume("default")
        try consume("=")
        let loc = begin(fieldPath + [7])
        defer { finish(loc) }
        guard let type = field.type else {
            field.defaultValue = try consumeIdentifier("Expected enum identifier.")
            return
        }
        switch type {
        case .int32, .int64, .sint32, .sint64, .sfixed32, .sfixed64:
            var max: UInt64 = [.int32, .sint32, .sfixed32].contains(type) ? UInt64(Int32.max) : UInt64(Int64.max)
            var text = ""
            if try tryConsume("-") { text = "-"; max += 1 }
            text += String(try consumeInteger64(max: max, "Expected integer for field default value."))
            field.defaultValue = text
        case .uint32, .uint64, .fixed32, .fixed64:
            let max: UInt64 = [.uint32, .fixed32].contains(type) ? UInt64(UInt32.max) : .max
            if lookingAt("-") { throw error("Unsigned field can't have negative default value.") }
            field.defaultValue = String(try consumeInteger64(max: max, "Expected integer for field default value."))
        case .float, .double:
            var text = ""
            if try tryConsume("-") { text = "-" }
            text += Literals.formatDouble(try consumeNumber("Expected number."))
            field.defaultValue = text
        case .bool:
            if try tryConsume("true") { field.defaultValue = "true" }
            else if try tryConsume("false") { field.defaultValue = "false" }
            else { throw error("Expected \"true\" or \"false\".") }
        case .string:
            field.defaultValue = String(decoding: try consumeString("Expected string for field default value."), as: UTF8.self)
        case .bytes:
            field.defaultValue = Literals.cEscape(try consumeString("Expected string."))
        case .enum:
            field.defaultValue = try consumeIdentifier("Expected enum identifier for field default value.")
        case .message, .group:
            throw error("Messages can't have default values.")
        }
    }

    // MARK: Ranges

    private mutating func parseExtensions(_ message: inout MessageDescriptor, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("extensions")
        let first = message.extensionRanges.count
        repeat {
            let l = begin(path + [Int32(message.extensionRanges.count)])
            let (start, end) = try parseRange(path + [Int32(message.extensionRanges.count)], firstMessage: "Expected field number range.", isEnum: false)
            message.extensionRanges.append(ExtensionRange(start: start, end: end))
            finish(l)
        } while try tryConsume(",")
        if lookingAt("[") {
            let l = begin(path + [Int32(first), 3])
            try consume("[")
            var options: Options?
            repeat {
                try parseOption(&options, .extensionRange, l, statement: false)
            } while try tryConsume(",")
            try consume("]")
            finish(l)
            for i in first..<message.extensionRanges.count { message.extensionRanges[i].options = options }
        }
        try consumeEndOfDeclaration(";", loc)
    }

    /// Parses `N`, `N to M` or `N to max` below `path`; returns protoc's stored start and end
    /// (messages: exclusive end, `max` as -1 until fixed up; enums: inclusive end).
    private mutating func parseRange(_ path: [Int32], firstMessage: String, isEnum: Bool) throws(SourceError) -> (Int32, Int32) {
        let startLoc = begin(path + [1])
        let startToken = current
        let start = isEnum ? try consumeSignedInteger(firstMessage) : try consumeInteger(firstMessage)
        finish(startLoc)
        var end: Int32
        if try tryConsume("to") {
            let endLoc = begin(path + [2])
            if try tryConsume("max") {
                end = isEnum ? Int32.max : -2
            } else {
                end = isEnum ? try consumeSignedInteger("Expected integer.") : try consumeInteger("Expected integer.")
            }
            finish(endLoc)
        } else {
            let endLoc = rec.begin(path + [2], at: startToken)
            rec.endAt(endLoc, startToken)
            end = start
        }
        if !isEnum { end = end &+ 1 }
        return (start, end)
    }

    private mutating func parseReserved(_ ranges: inout [ReservedRange], _ names: inout [String], path: [Int32],
                                        rangeField: Int32, nameField: Int32, isEnum: Bool) throws(SourceError) {
        let startToken = current
        try consume("reserved")
        if current.kind == .string {
            let loc = begin(path + [nameField])
            rec.startAt(loc, startToken)
            repeat {
                let l = begin(path + [nameField, Int32(names.count)])
                names.append(String(decoding: try consumeString("Expected field name."), as: UTF8.self))
                finish(l)
            } while try tryConsume(",")
            try consumeEndOfDeclaration(";", loc)
            finish(loc)
        } else {
            let loc = begin(path + [rangeField])
            rec.startAt(loc, startToken)
            var first = true
            repeat {
                let rangePath = path + [rangeField, Int32(ranges.count)]
                let l = begin(rangePath)
                let message = isEnum ? (first ? "Expected enum value or number range." : "Expected enum number range.")
                                     : (first ? "Expected field name or number range." : "Expected field number range.")
                let (start, end) = try parseRange(rangePath, firstMessage: message, isEnum: isEnum)
                ranges.append(ReservedRange(start: start, end: end))
                finish(l)
                first = false
            } while try tryConsume(",")
            try consumeEndOfDeclaration(";", loc)
            finish(loc)
        }
    }

    // MARK: Extend

    private mutating func parseExtend(_ extensions: inout [FieldDescriptor], _ messages: inout [MessageDescriptor],
                                      parentPath: [Int32], nestedField: Int32, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("extend")
        let extendeeStart = current
        let extendee = try parseUserDefinedType()
        let extendeeEnd = lexer.previous
        try consumeEndOfDeclaration("{", loc)
        repeat {
            if atEnd { throw error("Reached end of input in extend definition (missing '}').") }
            let l = begin(path + [Int32(extensions.count)])
            let e = rec.begin(path + [Int32(extensions.count), 2], at: extendeeStart)
            rec.endAt(e, extendeeEnd)
            var field = FieldDescriptor(name: "", number: 0, label: .optional)
            field.extendee = extendee
            try parseMessageField(&field, &messages, parentPath: parentPath, nestedField: nestedField, l, hasExtendee: true)
            extensions.append(field)
            finish(l)
        } while try !tryConsumeEndOfDeclaration("}", nil)
    }

    // MARK: Enums

    private mutating func parseEnumDefinition(_ e: inout EnumDescriptor, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("enum")
        let nameLoc = begin(path + [1])
        e.name = try consumeIdentifier("Expected enum name.")
        finish(nameLoc)
        try consumeEndOfDeclaration("{", loc)
        while try !tryConsumeEndOfDeclaration("}", nil) {
            if atEnd { throw error("Reached end of input in enum definition (missing '}').") }
            if try tryConsumeEndOfDeclaration(";", nil) { continue }
            if lookingAt("option") {
                let l = begin(path + [3])
                try parseOption(&e.options, .enumType, l, statement: true)
                finish(l)
            } else if lookingAt("reserved") {
                try parseReserved(&e.reservedRanges, &e.reservedNames, path: path, rangeField: 4, nameField: 5, isEnum: true)
            } else {
                let l = begin(path + [2, Int32(e.values.count)])
                let valuePath = rec.path(l)
                let nameLoc = begin(valuePath + [1])
                let name = try consumeIdentifier("Expected enum constant name.")
                finish(nameLoc)
                try consume("=", "Missing numeric value for enum constant.")
                let numberLoc = begin(valuePath + [2])
                let number = try consumeSignedInteger("Expected integer.")
                finish(numberLoc)
                var value = EnumValueDescriptor(name: name, number: number)
                if lookingAt("[") {
                    let optionsLoc = begin(valuePath + [3])
                    try consume("[")
                    repeat {
                        try parseOption(&value.options, .enumValue, optionsLoc, statement: false)
                    } while try tryConsume(",")
                    try consume("]")
                    finish(optionsLoc)
                }
                try consumeEndOfDeclaration(";", l)
                e.values.append(value)
                finish(l)
            }
        }
        if e.values.isEmpty { throw error("Enums must contain at least one value.") }
        if e.options?.bool(Options.EnumField.allowAlias) == false {
            throw error("\"\(e.name)\" declares 'option allow_alias = false;' which has no effect. Please remove the declaration.")
        }
    }

    // MARK: Services

    private mutating func parseService(_ service: inout ServiceDescriptor, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("service")
        let nameLoc = begin(path + [1])
        service.name = try consumeIdentifier("Expected service name.")
        finish(nameLoc)
        try consumeEndOfDeclaration("{", loc)
        while try !tryConsumeEndOfDeclaration("}", nil) {
            if atEnd { throw error("Reached end of input in service definition (missing '}').") }
            if try tryConsumeEndOfDeclaration(";", nil) { continue }
            if lookingAt("option") {
                let l = begin(path + [3])
                try parseOption(&service.options, .service, l, statement: true)
                finish(l)
            } else {
                let l = begin(path + [2, Int32(service.methods.count)])
                var method = MethodDescriptorProto(name: "", inputType: "", outputType: "")
                try parseMethod(&method, l)
                service.methods.append(method)
                finish(l)
            }
        }
    }

    private mutating func parseMethod(_ method: inout MethodDescriptorProto, _ loc: Int) throws(SourceError) {
        let path = rec.path(loc)
        try consume("rpc")
        let nameLoc = begin(path + [1])
        method.name = try consumeIdentifier("Expected method name.")
        finish(nameLoc)
        try consume("(")
        if lookingAt("stream") {
            let l = begin(path + [5])
            method.clientStreaming = true
            try consume("stream")
            finish(l)
        }
        let inLoc = begin(path + [2])
        method.inputType = try parseUserDefinedType()
        finish(inLoc)
        try consume(")")
        try consume("returns")
        try consume("(")
        if lookingAt("stream") {
            let l = begin(path + [6])
            try consume("stream")
            method.serverStreaming = true
            finish(l)
        }
        let outLoc = begin(path + [3])
        method.outputType = try parseUserDefinedType()
        finish(outLoc)
        try consume(")")
        if lookingAt("{") {
            // protoc creates (possibly empty) options for a method with a body.
            if method.options == nil { method.options = Options() }
            try consumeEndOfDeclaration("{", loc)
            while try !tryConsumeEndOfDeclaration("}", nil) {
                if atEnd { throw error("Reached end of input in method options (missing '}').") }
                if try tryConsumeEndOfDeclaration(";", nil) { continue }
                let l = begin(path + [4])
                try parseOption(&method.options, .method, l, statement: true)
                finish(l)
            }
        } else {
            try consumeEndOfDeclaration(";", loc)
        }
    }

    // MARK: Options

    private enum RawValue {
        case identifier(String)
        case positive(UInt64)
        case negative(UInt64)
        case double(Double)
        case string([UInt8])
        case aggregate
    }

    /// Parses `option name = value;` (statement) or `name = value` (inside `[…]`) and interprets
    /// it as a standard option of `kind`. Interpretation errors are kept for after parsing.
    private mutating func parseOption(_ options: inout Options?, _ kind: OptionsKind, _ optionsLoc: Int,
                                      statement: Bool) throws(SourceError) {
        let optionsPath = rec.path(optionsLoc)
        let index = Int32(options?.fields.count ?? 0)
        if options == nil { options = Options() }
        let loc = begin(optionsPath + [999, index])
        if statement { try consume("option") }

        let nameLoc = begin(optionsPath + [999, index, 2])
        let nameToken = current
        var nameParts: [(String, Bool)] = []
        repeat {
            let partLoc = begin(optionsPath + [999, index, 2, Int32(nameParts.count)])
            if try tryConsume("(") {
                let inner = begin(optionsPath + [999, index, 2, Int32(nameParts.count), 1])
                var name = ""
                if current.kind == .identifier { name += try consumeIdentifier("Expected identifier.") }
                while try tryConsume(".") { name += "." + (try consumeIdentifier("Expected identifier.")) }
                finish(inner)
                try consume(")")
                nameParts.append((name, true))
            } else {
                let inner = begin(optionsPath + [999, index, 2, Int32(nameParts.count), 1])
                nameParts.append((try consumeIdentifier("Expected identifier."), false))
                finish(inner)
            }
            finish(partLoc)
        } while try tryConsume(".")
        finish(nameLoc)

        try consume("=")

        let valueLoc = begin(optionsPath + [999, index])
        let valueToken = current
        let negative = try tryConsume("-")
        let value: RawValue
        switch current.kind {
        case .end:
            throw error("Unexpected end of stream while parsing option value.")
        case .identifier:
            rec.addPath(valueLoc, 3)
            if negative { throw error("Invalid '-' symbol before identifier.") }
            value = .identifier(try consumeIdentifier("Expected identifier."))
        case .integer:
            let max: UInt64 = negative ? UInt64(Int64.max) + 1 : .max
            let v = try consumeInteger64(max: max, "Expected integer.")
            rec.addPath(valueLoc, negative ? 5 : 4)
            value = negative ? .negative(v) : .positive(v)
        case .float:
            rec.addPath(valueLoc, 6)
            let v = try consumeNumber("Expected number.")
            value = .double(negative ? -v : v)
        case .string:
            rec.addPath(valueLoc, 7)
            if negative { throw error("Invalid '-' symbol before string.") }
            value = .string(try consumeString("Expected string."))
        case .symbol where lookingAt("{"):
            rec.addPath(valueLoc, 8)
            try skipAggregate()
            value = .aggregate
        default:
            throw error("Expected option value.")
        }
        finish(valueLoc)

        if statement { try consumeEndOfDeclaration(";", loc) }
        finish(loc)

        let displayName = nameParts.map { $0.1 ? "(\($0.0))" : $0.0 }.joined(separator: ".")
        let nameError = { (m: String) in SourceError(line: nameToken.line, column: nameToken.column, message: m) }
        let valueError = { (m: String) in SourceError(line: valueToken.line, column: valueToken.column, message: m) }
        if nameParts.contains(where: { $0.1 }) {
            optionErrors.append(nameError("Option \"\(displayName)\": custom options are not supported by weft-protoc."))
            return
        }
        if nameParts.count == 1 && nameParts[0].0 == "uninterpreted_option" {
            optionErrors.append(nameError("Option must not use reserved name \"uninterpreted_option\"."))
            return
        }
        guard let field = kind.fields[nameParts[0].0] else {
            optionErrors.append(nameError("Option \"\(nameParts[0].0)\" unknown. Ensure that your proto definition file imports the proto which defines the option."))
            return
        }
        let fullName = "\(kind.messageName).\(nameParts[0].0)"
        if nameParts.count > 1 {
            optionErrors.append(nameError("Option \"\(nameParts[0].0)\" is an atomic type, not a message."))
            return
        }
        if options?.value(field.number) != nil {
            optionErrors.append(nameError("Option \"\(displayName)\" was already set."))
            return
        }
        let interpreted: Options.Value
        switch (field.type, value) {
        case (.bool, .identifier(let id)) where id == "true" || id == "false":
            interpreted = .varint(id == "true" ? 1 : 0)
        case (.bool, .identifier):
            optionErrors.append(valueError("Value must be \"true\" or \"false\" for boolean option \"\(fullName)\"."))
            return
        case (.bool, _):
            optionErrors.append(valueError("Value must be identifier for boolean option \"\(fullName)\"."))
            return
        case (.string, .string(let bytes)):
            interpreted = .string(String(decoding: bytes, as: UTF8.self))
        case (.string, _):
            optionErrors.append(valueError("Value must be quoted string for string option \"\(fullName)\"."))
            return
        case (.enumeration(let enumName, let values), .identifier(let id)):
            guard let v = values[id] else {
                optionErrors.append(valueError("Enum type \"\(enumName)\" has no value named \"\(id)\" for option \"\(fullName)\"."))
                return
            }
            interpreted = .varint(v)
        case (.enumeration, _):
            optionErrors.append(valueError("Value must be identifier for enum-valued option \"\(fullName)\"."))
            return
        }
        options?.fields.append((number: field.number, value: interpreted))
        renames[optionsPath + [999, index]] = optionsPath + [field.number]
    }

    /// Skips a `{ … }` aggregate option value (only custom message options use them).
    private mutating func skipAggregate() throws(SourceError) {
        try consume("{")
        var depth = 1
        while depth > 0 {
            if atEnd { throw error("Unexpected end of stream while parsing aggregate value.") }
            if lookingAt("{") { depth += 1 } else if lookingAt("}") { depth -= 1 }
            try advance()
        }
    }
}
