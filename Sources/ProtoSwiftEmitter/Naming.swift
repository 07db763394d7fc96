/// Swift spellings of protobuf names.
enum Naming {
    /// Words Swift reserves in declarations and expressions; such names are written in backticks.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer",
        "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
        "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
        "Type", "Protocol", "some", "any", "package", "consume", "copy", "discard", "borrowing", "consuming",
    ]

    /// Member names the generated code itself declares on messages.
    static let reservedMembers: Set<String> = [
        "unknownFields", "protoMessageName", "hashValue", "description", "debugDescription", "serializedBytes",
        "serializedData", "serializedSize", "jsonString", "merge", "hash",
    ]

    /// `foo_bar2_baz` → `FooBar2Baz`.
    static func upperCamel(_ s: String) -> String {
        var out = ""
        var upper = true
        for ch in s {
            if ch == "_" { upper = true; continue }
            out += upper ? ch.uppercased() : String(ch)
            upper = ch.isNumber
        }
        return out
    }

    /// `foo_bar` → `fooBar`, `FooBar` → `fooBar`, `URL` → `url`.
    static func lowerCamel(_ s: String) -> String {
        let u = upperCamel(s)
        // Lower the leading run of capitals, keeping the last one if a lower-case letter follows (`URLPath` → `urlPath`).
        let chars = Array(u)
        var i = 0
        while i < chars.count, chars[i].isUppercase { i += 1 }
        if i == 0 { return u }
        if i == chars.count || i == 1 { return String(chars[..<i]).lowercased() + String(chars[i...]) }
        return String(chars[..<(i - 1)]).lowercased() + String(chars[(i - 1)...])
    }

    /// Escapes a keyword with backticks.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// A field's Swift property name.
    static func fieldName(_ protoName: String) -> String {
        let n = lowerCamel(protoName)
        if reservedMembers.contains(n) { return n + "_p" }
        return n
    }

    /// `grpc.health.v1` → `Grpc_Health_V1_`.
    static func packagePrefix(_ package: String?) -> String {
        guard let package, !package.isEmpty else { return "" }
        return package.split(separator: ".").map { upperCamel(String($0)) }.joined(separator: "_") + "_"
    }

    /// `SERVING_STATUS_NOT_SERVING` in enum `ServingStatus` → `notServing`.
    static func enumCaseName(_ value: String, enumName: String) -> String {
        let prefix = screamingSnake(enumName) + "_"
        var v = value
        if v.uppercased().hasPrefix(prefix), v.count > prefix.count {
            let rest = String(v.dropFirst(prefix.count))
            if let f = rest.first, !f.isNumber { v = rest }
        }
        let camel = lowerCamel(v.lowercased())
        return camel.isEmpty ? "_" : camel
    }

    /// `ServingStatus` → `SERVING_STATUS`.
    static func screamingSnake(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        for (i, ch) in chars.enumerated() {
            if ch.isUppercase, i > 0, chars[i - 1].isLowercase || chars[i - 1].isNumber { out += "_" }
            out += ch.uppercased()
        }
        return out
    }

    /// A Swift identifier for a proto file path: `grpc/health/v1/health.proto` → `grpc_health_v1_health`.
    static func fileIdentifier(_ path: String) -> String {
        var base = path
        if base.hasSuffix(".proto") { base.removeLast(6) }
        return String(base.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// A Swift string literal for arbitrary text.
    static func stringLiteral(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// Accumulates indented Swift source.
struct CodeWriter {
    private(set) var text = ""
    private var indent = ""

    mutating func line(_ s: String = "") {
        if s.isEmpty { text += "\n" } else { text += indent + s + "\n" }
    }

    mutating func block(_ opener: String, _ body: (inout CodeWriter) -> Void) {
        line(opener + " {")
        indent += "    "
        body(&self)
        indent.removeLast(4)
        line("}")
    }

    mutating func indented(_ body: (inout CodeWriter) -> Void) {
        indent += "    "
        body(&self)
        indent.removeLast(4)
    }

    /// Writes a protobuf comment as a `///` doc comment.
    mutating func docComment(_ comment: String?) {
        guard let comment, !comment.isEmpty else { return }
        var lines = comment.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        for l in lines {
            let t = l.hasPrefix(" ") ? String(l.dropFirst()) : l
            line(t.isEmpty ? "///" : "/// " + t)
        }
    }
}
