import ProtoCompiler

/// Emits an open enum: one case per distinct number, `UNRECOGNIZED(Int32)` for the rest, aliases as
/// static constants.
struct EnumEmitter {
    let enumDescriptor: EnumDescriptor
    let swiftName: String
    let path: [Int32]
    let access: String
    let comments: [[Int32]: String]

    var localName: String { String(swiftName.split(separator: ".").last ?? "") }

    /// Distinct numbers with their first name, and aliases.
    var cases: (primary: [(name: String, value: EnumValueDescriptor, index: Int)], aliases: [(name: String, value: EnumValueDescriptor, target: String)]) {
        var primary: [(String, EnumValueDescriptor, Int)] = []
        var aliases: [(String, EnumValueDescriptor, String)] = []
        var byNumber: [Int32: String] = [:]
        var used = Set<String>()
        for (i, v) in enumDescriptor.values.enumerated() {
            var name = Naming.enumCaseName(v.name, enumName: enumDescriptor.name)
            while used.contains(name) || name == "UNRECOGNIZED" { name += "_" }
            used.insert(name)
            if let target = byNumber[v.number] {
                aliases.append((name, v, target))
            } else {
                byNumber[v.number] = name
                primary.append((name, v, i))
            }
        }
        return (primary, aliases)
    }

    func comment(_ p: [Int32]) -> String? { comments[p] }

    func emit(_ w: inout CodeWriter) {
        let (primary, aliases) = cases
        w.docComment(comment(path))
        w.block("\(access) enum \(localName): ProtoEnum, CaseIterable") { w in
            for c in primary {
                w.docComment(comment(path + [2, Int32(c.index)]))
                w.line("case \(Naming.escaped(c.name))")
            }
            w.line("/// A value this build does not know; kept so that it survives a round trip.")
            w.line("case UNRECOGNIZED(Int32)")
            for a in aliases {
                w.line("/// Alias of `\(a.target)` (\(a.value.name)).")
                w.line("\(access) static let \(Naming.escaped(a.name)): Self = .\(Naming.escaped(a.target))")
            }
            w.line()
            w.line("\(access) static let allCases: [Self] = [\(primary.map { "." + Naming.escaped($0.name) }.joined(separator: ", "))]")
            w.line()
            w.line("\(access) init() { self = .\(Naming.escaped(primary.first?.name ?? "UNRECOGNIZED(0)")) }")
        }
    }

    func emitExtension(_ w: inout CodeWriter) {
        let (primary, aliases) = cases
        w.line()
        w.block("extension \(swiftName)") { w in
            w.block("\(access) init(rawValue: Int32)") { w in
                w.block("switch rawValue") { w in
                    for c in primary { w.line("case \(c.value.number): self = .\(Naming.escaped(c.name))") }
                    w.line("default: self = .UNRECOGNIZED(rawValue)")
                }
            }
            w.line()
            w.block("\(access) var rawValue: Int32") { w in
                w.block("switch self") { w in
                    for c in primary { w.line("case .\(Naming.escaped(c.name)): return \(c.value.number)") }
                    w.line("case .UNRECOGNIZED(let v): return v")
                }
            }
            w.line()
            w.block("\(access) init?(protoName: String)") { w in
                w.block("switch protoName") { w in
                    for c in primary { w.line("case \(Naming.stringLiteral(c.value.name)): self = .\(Naming.escaped(c.name))") }
                    for a in aliases { w.line("case \(Naming.stringLiteral(a.value.name)): self = .\(Naming.escaped(a.target))") }
                    w.line("default: return nil")
                }
            }
            w.line()
            w.block("\(access) var protoName: String?") { w in
                w.block("switch self") { w in
                    for c in primary { w.line("case .\(Naming.escaped(c.name)): return \(Naming.stringLiteral(c.value.name))") }
                    w.line("case .UNRECOGNIZED: return nil")
                }
            }
        }
    }
}
