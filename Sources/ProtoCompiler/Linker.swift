// The linker: turns a parsed file into a complete `FileDescriptor` the way protoc's
// DescriptorBuilder does — registers names, resolves type names with protoc's scoping rules,
// fills `json_name` and normalized defaults, and checks names and numbers.

/// What a fully qualified name refers to.
struct Symbol: Sendable {
    /// The kinds of named things.
    enum Kind: Sendable, Equatable { case package, message, enumType, enumValue, field, oneof, service, method }
    /// What it is.
    var kind: Kind
    /// The file defining it (the first one, for packages).
    var file: String
    /// For enums: whether the defining file is proto3 (closed/open enum checks).
    var isProto3 = false

    /// Whether a field may have this symbol as its type.
    var isType: Bool { kind == .message || kind == .enumType }
    /// Whether names may be looked up inside it.
    var isAggregate: Bool { kind == .message || kind == .package || kind == .enumType || kind == .service }
}

/// Every symbol defined by the files linked so far in one compilation.
struct SymbolTable: Sendable {
    /// Symbols by full name (no leading dot).
    var symbols: [String: Symbol] = [:]
    /// For each package name (and each prefix of one): the files that declare it.
    var packageFiles: [String: Set<String>] = [:]
    /// Enum value names by enum full name, for default value checks.
    var enumValues: [String: [String]] = [:]
}

/// Links one parsed file against its already-linked dependencies.
struct Linker {
    private let parsed: ParsedFile
    private var file: FileDescriptor
    private let fileName: String
    private let package: String
    /// Files whose symbols this file may use: itself, its imports and their public imports.
    private let visibleFiles: Set<String>
    private var table: SymbolTable

    /// Links `parsed`. `visibleFiles` are the names of the direct imports plus their transitive
    /// public imports; `table` holds the symbols of all files linked before. Returns the finished
    /// descriptor (source info included) and the table with this file's symbols added.
    static func link(_ parsed: ParsedFile, visibleFiles: Set<String>, table: SymbolTable) throws(SourceError) -> (FileDescriptor, SymbolTable) {
        var linker = Linker(parsed: parsed, visibleFiles: visibleFiles, table: table)
        try linker.run()
        return (linker.file, linker.table)
    }

    private init(parsed: ParsedFile, visibleFiles: Set<String>, table: SymbolTable) {
        self.parsed = parsed
        self.file = parsed.descriptor
        self.fileName = parsed.descriptor.name
        self.package = parsed.descriptor.package ?? ""
        self.visibleFiles = visibleFiles.union([parsed.descriptor.name])
        self.table = table
    }

    // MARK: Errors

    /// An error at the start of the first location whose path is `path` (or its nearest parent).
    private func error(_ path: [Int32], _ message: String) -> SourceError {
        var p = path
        while true {
            if let start = parsed.locations.start(of: p) {
                return SourceError(line: start.line, column: start.column, message: message)
            }
            if p.isEmpty { return SourceError(line: -1, column: -1, message: message) }
            p.removeLast()
        }
    }

    private func qualify(_ scope: String, _ name: String) -> String { scope.isEmpty ? name : scope + "." + name }

    // MARK: Driver

    private mutating func run() throws(SourceError) {
        try registerPackage()
        for (i, m) in file.messageTypes.enumerated() { try register(message: m, scope: package, path: [4, Int32(i)]) }
        for (i, e) in file.enumTypes.enumerated() { try register(enum: e, scope: package, path: [5, Int32(i)]) }
        for (i, s) in file.services.enumerated() {
            let full = qualify(package, s.name)
            try add(full, .service, path: [6, Int32(i), 1], scope: package)
            for (j, m) in s.methods.enumerated() {
                try add(qualify(full, m.name), .method, path: [6, Int32(i), 2, Int32(j), 1], scope: full)
            }
        }
        for (i, x) in file.extensions.enumerated() {
            try add(qualify(package, x.name), .field, path: [7, Int32(i), 1], scope: package)
        }

        var messages = file.messageTypes
        for i in messages.indices {
            try resolve(message: &messages[i], scope: qualify(package, messages[i].name), path: [4, Int32(i)])
        }
        file.messageTypes = messages
        var extensions = file.extensions
        for i in extensions.indices {
            try resolve(field: &extensions[i], scope: package, path: [7, Int32(i)])
        }
        file.extensions = extensions
        for i in file.services.indices {
            let serviceName = qualify(package, file.services[i].name)
            for j in file.services[i].methods.indices {
                let path: [Int32] = [6, Int32(i), 2, Int32(j)]
                let scope = qualify(serviceName, file.services[i].methods[j].name)
                file.services[i].methods[j].inputType = try resolveMessage(file.services[i].methods[j].inputType, scope: scope, path: path + [2])
                file.services[i].methods[j].outputType = try resolveMessage(file.services[i].methods[j].outputType, scope: scope, path: path + [3])
            }
        }

        for i in file.messageTypes.indices {
            try validate(message: file.messageTypes[i], scope: qualify(package, file.messageTypes[i].name), path: [4, Int32(i)])
        }
        for (i, e) in file.enumTypes.enumerated() { try validate(enum: e, path: [5, Int32(i)]) }
        try validateExtensions(file.extensions, path: [7])

        if let first = parsed.optionErrors.first { throw first }
        file.sourceCodeInfo = parsed.locations.sourceCodeInfo
    }

    // MARK: Symbols

    private mutating func registerPackage() throws(SourceError) {
        guard !package.isEmpty else { return }
        var prefix = ""
        for part in package.split(separator: ".", omittingEmptySubsequences: false) {
            prefix = prefix.isEmpty ? String(part) : prefix + "." + part
            if let existing = table.symbols[prefix], existing.kind != .package {
                throw error([2], "\"\(prefix)\" is already defined (as something other than a package) in file \"\(existing.file)\".")
            }
            if table.symbols[prefix] == nil { table.symbols[prefix] = Symbol(kind: .package, file: fileName) }
            table.packageFiles[prefix, default: []].insert(fileName)
        }
    }

    private mutating func add(_ fullName: String, _ kind: Symbol.Kind, path: [Int32], scope: String, isProto3: Bool = false) throws(SourceError) {
        if let existing = table.symbols[fullName] {
            let short = fullName.split(separator: ".").last.map(String.init) ?? fullName
            if existing.file != fileName {
                throw error(path, "\"\(fullName)\" is already defined in file \"\(existing.file)\".")
            } else if scope.isEmpty {
                throw error(path, "\"\(short)\" is already defined.")
            } else {
                throw error(path, "\"\(short)\" is already defined in \"\(scope)\".")
            }
        }
        table.symbols[fullName] = Symbol(kind: kind, file: fileName, isProto3: isProto3)
    }

    private mutating func register(message: MessageDescriptor, scope: String, path: [Int32]) throws(SourceError) {
        let full = qualify(scope, message.name)
        try add(full, .message, path: path + [1], scope: scope)
        if file.isProto3 { try checkJsonNames(message, path: path) }
        for (i, o) in message.oneofDecls.enumerated() { try add(qualify(full, o.name), .oneof, path: path + [8, Int32(i), 1], scope: full) }
        for (i, f) in message.fields.enumerated() { try add(qualify(full, f.name), .field, path: path + [2, Int32(i), 1], scope: full) }
        for (i, e) in message.enumTypes.enumerated() { try register(enum: e, scope: full, path: path + [4, Int32(i)]) }
        for (i, m) in message.nestedTypes.enumerated() { try register(message: m, scope: full, path: path + [3, Int32(i)]) }
        for (i, x) in message.extensions.enumerated() { try add(qualify(full, x.name), .field, path: path + [6, Int32(i), 1], scope: full) }
    }

    /// proto3 forbids two fields whose JSON names differ only in case.
    private func checkJsonNames(_ message: MessageDescriptor, path: [Int32]) throws(SourceError) {
        var jsonNames: [String: String] = [:]
        for (i, f) in message.fields.enumerated() {
            let lower = Literals.jsonName(f.name).lowercased()
            if let other = jsonNames[lower] {
                throw error(path + [2, Int32(i), 1], "The JSON camel-case name of field \"\(f.name)\" conflicts with field \"\(other)\". This is not allowed in proto3.")
            }
            jsonNames[lower] = f.name
        }
    }

    private mutating func register(enum e: EnumDescriptor, scope: String, path: [Int32]) throws(SourceError) {
        let full = qualify(scope, e.name)
        try add(full, .enumType, path: path + [1], scope: scope, isProto3: file.isProto3)
        table.enumValues[full] = e.values.map(\.name)
        for (i, v) in e.values.enumerated() {
            // Enum values are siblings of their enum, not children of it (C++ scoping).
            let valueName = qualify(scope, v.name)
            if let existing = table.symbols[valueName], existing.file == fileName, existing.kind == .enumValue {
                let scopeText = scope.isEmpty ? "the global scope" : "\"\(scope)\""
                let defined = scope.isEmpty ? "\"\(v.name)\" is already defined." : "\"\(v.name)\" is already defined in \"\(scope)\"."
                throw error(path + [2, Int32(i), 1], defined + " Note that enum values use C++ scoping rules, meaning that enum values are siblings of their type, not children of it.  Therefore, \"\(v.name)\" must be unique within \(scopeText), not just within \"\(e.name)\".")
            }
            try add(valueName, .enumValue, path: path + [2, Int32(i), 1], scope: scope)
        }
    }

    // MARK: Lookup

    /// Finds `fullName` among the visible files; non-visible hits are remembered for the error.
    private func findVisible(_ fullName: String, notImported: inout (String, String)?) -> Symbol? {
        guard let symbol = table.symbols[fullName] else { return nil }
        if visibleFiles.contains(symbol.file) { return symbol }
        if symbol.kind == .package, let files = table.packageFiles[fullName], !files.isDisjoint(with: visibleFiles) {
            return symbol
        }
        notImported = (fullName, symbol.file)
        return nil
    }

    private enum LookupResult {
        case found(String, Symbol)
        case notFound
        case resolvedToUndefined(String)
    }

    /// protoc's scoping: an absolute name (leading dot) is looked up as is; a relative name's first
    /// component is searched from the innermost scope outwards, then the rest inside what it found.
    private func lookup(_ name: String, scope: String, typesOnly: Bool, notImported: inout (String, String)?) -> LookupResult {
        if name.hasPrefix(".") {
            let full = String(name.dropFirst())
            return findVisible(full, notImported: &notImported).map { .found(full, $0) } ?? .notFound
        }
        let firstPart = name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? name
        var scopeToTry = scope
        while true {
            guard let dot = scopeToTry.lastIndex(of: ".") else {
                return findVisible(name, notImported: &notImported).map { .found(name, $0) } ?? .notFound
            }
            scopeToTry = String(scopeToTry[..<dot])
            let candidate = scopeToTry + "." + firstPart
            if let symbol = findVisible(candidate, notImported: &notImported) {
                if firstPart.count < name.count {
                    if symbol.isAggregate {
                        let full = scopeToTry + "." + name
                        if let s = findVisible(full, notImported: &notImported) { return .found(full, s) }
                        return .resolvedToUndefined(full)
                    }
                } else if !typesOnly || symbol.isType {
                    return .found(candidate, symbol)
                }
            }
        }
    }

    private func undefinedError(_ name: String, path: [Int32], result: LookupResult, notImported: (String, String)?) -> SourceError {
        if case .resolvedToUndefined(let full) = result {
            return error(path, "\"\(name)\" is resolved to \"\(full)\", which is not defined. The innermost scope is searched first in name resolution. Consider using a leading '.'(i.e., \".\(name)\") to start from the outermost scope.")
        }
        if let (symbolName, otherFile) = notImported {
            return error(path, "\"\(symbolName)\" seems to be defined in \"\(otherFile)\", which is not imported by \"\(fileName)\".  To use it here, please add the necessary import.")
        }
        return error(path, "\"\(name)\" is not defined.")
    }

    /// Resolves a method's input or output type, which must be a message.
    private func resolveMessage(_ name: String, scope: String, path: [Int32]) throws(SourceError) -> String {
        var notImported: (String, String)?
        let result = lookup(name, scope: scope, typesOnly: false, notImported: &notImported)
        guard case .found(let full, let symbol) = result else {
            throw undefinedError(name, path: path, result: result, notImported: notImported)
        }
        guard symbol.kind == .message else { throw error(path, "\"\(name)\" is not a message type.") }
        return "." + full
    }

    // MARK: Resolution

    private func resolve(message: inout MessageDescriptor, scope: String, path: [Int32]) throws(SourceError) {
        for i in message.fields.indices { try resolve(field: &message.fields[i], scope: scope, path: path + [2, Int32(i)]) }
        for i in message.extensions.indices { try resolve(field: &message.extensions[i], scope: scope, path: path + [6, Int32(i)]) }
        for i in message.nestedTypes.indices {
            try resolve(message: &message.nestedTypes[i], scope: qualify(scope, message.nestedTypes[i].name), path: path + [3, Int32(i)])
        }
    }

    private func resolve(field: inout FieldDescriptor, scope: String, path: [Int32]) throws(SourceError) {
        let fieldScope = qualify(scope, field.name)
        if let extendee = field.extendee {
            field.extendee = try resolveMessage(extendee, scope: fieldScope, path: path + [2])
        }
        if field.type == nil, let name = field.typeName {
            var notImported: (String, String)?
            let result = lookup(name, scope: fieldScope, typesOnly: true, notImported: &notImported)
            guard case .found(let full, let symbol) = result else {
                throw undefinedError(name, path: path + [6], result: result, notImported: notImported)
            }
            guard symbol.isType else { throw error(path + [6], "\"\(name)\" is not a type.") }
            field.type = symbol.kind == .message ? .message : .enum
            field.typeName = "." + full
        }
        if field.jsonName == nil { field.jsonName = Literals.jsonName(field.name) }
        try normalizeDefault(&field, path: path)
    }

    /// Brings `default_value` into protoc's output form and checks it against the resolved type.
    private func normalizeDefault(_ field: inout FieldDescriptor, path: [Int32]) throws(SourceError) {
        guard let value = field.defaultValue, let type = field.type else { return }
        if file.isProto3 { throw error(path + [7], "Explicit default values are not allowed in proto3.") }
        switch type {
        case .message, .group:
            throw error(path + [7], "Messages can't have default values.")
        case .enum:
            let enumName = String((field.typeName ?? "").dropFirst())
            if !(table.enumValues[enumName] ?? []).contains(value) {
                throw error(path + [7], "Enum type \"\(enumName)\" has no value named \"\(value)\".")
            }
        case .float:
            field.defaultValue = Literals.formatFloat(Float(Literals.parseFloat(value)))
        case .double:
            field.defaultValue = Literals.formatDouble(Literals.parseFloat(value))
        default:
            break
        }
    }

    // MARK: Validation

    private func checkNumber(_ field: FieldDescriptor, path: [Int32]) throws(SourceError) {
        if field.number <= 0 { throw error(path + [3], "Field numbers must be positive integers.") }
        if field.number > 536_870_911 {
            throw error(path + [3], "Field numbers cannot be greater than 536870911.")
        }
        if (19000...19999).contains(field.number) {
            throw error(path + [3], "Field numbers 19000 through 19999 are reserved for the protocol buffer library implementation.")
        }
    }

    private func validate(message: MessageDescriptor, scope: String, path: [Int32]) throws(SourceError) {
        var byNumber: [Int32: String] = [:]
        for (i, f) in message.fields.enumerated() {
            let fp = path + [2, Int32(i)]
            try checkNumber(f, path: fp)
            if f.label == .repeated, let typeName = f.typeName, typeName.hasPrefix("." + scope + "."),
               let entry = message.nestedTypes.first(where: { $0.isMapEntry && "." + qualify(scope, $0.name) == typeName }),
               let key = entry.fields.first, [.float, .double, .bytes, .message, .enum, .group].contains(key.type) {
                throw error(fp + [6], "Key in map fields cannot be float/double, bytes or message types.")
            }
            if let other = byNumber[f.number] {
                throw error(fp + [3], "Field number \(f.number) has already been used in \"\(scope)\" by field \"\(other)\".")
            }
            byNumber[f.number] = f.name
            if message.reservedRanges.contains(where: { f.number >= $0.start && f.number < $0.end }) {
                // protoc reports this one without a position.
                throw SourceError(line: -1, column: -1, message: "Field \"\(f.name)\" uses reserved number \(f.number).")
            }
            if message.reservedNames.contains(f.name) {
                throw error(fp + [1], "Field name \"\(f.name)\" is reserved.")
            }
            if let r = message.extensionRanges.first(where: { f.number >= $0.start && f.number < $0.end }) {
                throw error(fp + [3], "Extension range \(r.start) to \(r.end - 1) includes field \"\(f.name)\" (\(f.number)).")
            }
            if file.isProto3 {
                if f.label == .required { throw error(fp + [4], "Required fields are not allowed in proto3.") }
                if f.type == .enum, let name = f.typeName, let symbol = table.symbols[String(name.dropFirst())], !symbol.isProto3 {
                    throw error(fp + [6], "Enum type \"\(name.dropFirst())\" is not an open enum, but is used in \"\(scope)\" which is a proto3 message type.")
                }
            }
            if f.options?.value(6) != nil, ![.int64, .uint64, .sint64, .fixed64, .sfixed64].contains(f.type) {
                throw error(fp + [f.typeName == nil ? 5 : 6], "jstype is only allowed on int64, uint64, sint64, fixed64 or sfixed64 fields.")
            }
            if f.options?.bool(Options.FieldField.packed) != nil, !(f.label == .repeated && isPackable(f.type)) {
                throw error(fp + [f.typeName == nil ? 5 : 6], "[packed = true] can only be specified for repeated primitive fields.")
            }
        }
        for (i, r) in message.extensionRanges.enumerated() {
            if let reserved = message.reservedRanges.first(where: { r.start < $0.end && $0.start < r.end }) {
                throw error(path + [5, Int32(i)], "Extension range \(r.start) to \(r.end - 1) overlaps with reserved range \(reserved.start) to \(reserved.end - 1).")
            }
        }
        for (i, m) in message.nestedTypes.enumerated() {
            try validate(message: m, scope: qualify(scope, m.name), path: path + [3, Int32(i)])
        }
        for (i, e) in message.enumTypes.enumerated() { try validate(enum: e, path: path + [4, Int32(i)]) }
        try validateExtensions(message.extensions, path: path + [6])
    }

    private func isPackable(_ type: FieldDescriptor.FieldType?) -> Bool {
        guard let type else { return false }
        return ![.string, .bytes, .message, .group].contains(type)
    }

    private func validateExtensions(_ extensions: [FieldDescriptor], path: [Int32]) throws(SourceError) {
        for (i, x) in extensions.enumerated() {
            try checkNumber(x, path: path + [Int32(i)])
            if file.isProto3, let extendee = x.extendee, !extendee.hasPrefix(".google.protobuf.") || !extendee.hasSuffix("Options") {
                throw error(path + [Int32(i), 2], "Extensions in proto3 are only allowed for defining options.")
            }
        }
    }

    private func validate(enum e: EnumDescriptor, path: [Int32]) throws(SourceError) {
        if file.isProto3, let first = e.values.first, first.number != 0 {
            throw error(path + [2, 0, 2], "The first enum value must be zero in proto3.")
        }
        if e.options?.bool(Options.EnumField.allowAlias) != true {
            var seen: [Int32: String] = [:]
            for (i, v) in e.values.enumerated() {
                if let other = seen[v.number] {
                    throw error(path + [2, Int32(i), 2], "\"\(v.name)\" uses the same enum value as \"\(other)\". If this is intended, set 'option allow_alias = true;' to the enum definition.")
                }
                seen[v.number] = v.name
            }
        }
        for (i, v) in e.values.enumerated() {
            if e.reservedRanges.contains(where: { v.number >= $0.start && v.number <= $0.end }) {
                throw error(path + [2, Int32(i), 2], "Enum value \"\(v.name)\" uses reserved number \(v.number).")
            }
            if e.reservedNames.contains(v.name) {
                throw error(path + [2, Int32(i), 1], "Enum value \"\(v.name)\" is reserved.")
            }
        }
    }
}
