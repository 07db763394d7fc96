import Yams

/// A node of a YAML/JSON manifest with the path that led to it, so that every error names the
/// file, line and field (`spec.containers[0].resources.limits.cpu`).
struct ManifestNode {
    let node: Node
    let path: String
    let file: String

    func error(_ message: String) -> ManifestError {
        ManifestError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message: path.isEmpty ? message : "\(path): \(message)")
    }

    var isNull: Bool { node.null != nil }

    /// The child at `key`, nil when absent or null.
    subscript(key: String) -> ManifestNode? {
        guard let child = node.mapping?[key] else { return nil }
        let n = ManifestNode(node: child, path: path.isEmpty ? key : "\(path).\(key)", file: file)
        return n.isNull ? nil : n
    }

    func mapping() throws(ManifestError) -> Node.Mapping {
        guard let m = node.mapping else { throw error("expected a mapping") }
        return m
    }

    func string() throws(ManifestError) -> String {
        guard let s = node.scalar?.string else { throw error("expected a string") }
        return s
    }

    /// An integer; `0o644` and, as Kubernetes' YAML 1.1 reads file modes, `0644` are octal, `0x1F` hex.
    func int() throws(ManifestError) -> Int64 {
        guard let raw = node.scalar?.string else { throw error("expected an integer") }
        let s = raw.trimmingCharacters(in: .whitespaces)
        let value: Int64?
        if s.hasPrefix("0o") || s.hasPrefix("0O") {
            value = Int64(s.dropFirst(2), radix: 8)
        } else if s.hasPrefix("0x") || s.hasPrefix("0X") {
            value = Int64(s.dropFirst(2), radix: 16)
        } else if s.count > 1, s.hasPrefix("0"), node.scalar?.style == .plain {
            value = Int64(s.dropFirst(), radix: 8)
        } else {
            value = Int64(s)
        }
        guard let value else { throw error("\"\(raw)\" is not an integer") }
        return value
    }

    func bool() throws(ManifestError) -> Bool {
        guard let b = node.bool else { throw error("expected true or false") }
        return b
    }

    func list() throws(ManifestError) -> [ManifestNode] {
        guard let seq = node.sequence else { throw error("expected a list") }
        return seq.enumerated().map { ManifestNode(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    func strings() throws(ManifestError) -> [String] {
        var out: [String] = []
        for n in try list() { out.append(try n.string()) }
        return out
    }

    func stringMap() throws(ManifestError) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in try mapping() {
            guard let key = k.string else { throw error("keys must be strings") }
            let child = ManifestNode(node: v, path: "\(path).\(key)", file: file)
            out[key] = child.isNull ? "" : try child.string()
        }
        return out
    }

    func entries() throws(ManifestError) -> [(String, ManifestNode)] {
        var out: [(String, ManifestNode)] = []
        for (k, v) in try mapping() {
            guard let key = k.string else { throw error("keys must be strings") }
            out.append((key, ManifestNode(node: v, path: "\(path).\(key)", file: file)))
        }
        return out
    }

    // Optional conveniences: absent → default.
    func string(_ key: String) throws(ManifestError) -> String { try self[key]?.string() ?? "" }
    func bool(_ key: String) throws(ManifestError) -> Bool { try self[key]?.bool() ?? false }
    func list(_ key: String) throws(ManifestError) -> [ManifestNode] { try self[key]?.list() ?? [] }
    func strings(_ key: String) throws(ManifestError) -> [String] { try self[key]?.strings() ?? [] }
    func stringMap(_ key: String) throws(ManifestError) -> [String: String] { try self[key]?.stringMap() ?? [:] }
}
