import Yams

extension JSONValue {
    /// Reads one YAML (or JSON) document, such as a kubeconfig, as a JSON value: mappings become
    /// objects, sequences arrays, and plain scalars booleans, integers, doubles or null as YAML
    /// resolves them (quoted scalars stay strings). An empty document is `null`.
    public init(yaml text: String) throws(JSONValueError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw JSONValueError(message: "not valid YAML: \(error)")
        }
        guard let node else { self = .null; return }
        self = try Self.convert(node, path: "")
    }

    private static func convert(_ node: Node, path: String) throws(JSONValueError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: return .null
            case .bool: if let b = node.bool { return .bool(b) }
            case .int: if let i = node.int { return .int(Int64(i)) }
            case .float: if let d = node.float { return .double(d) }
            default: break
            }
            return .string(scalar.string)
        case .sequence(let seq):
            var out: [JSONValue] = []
            for (i, child) in seq.enumerated() { out.append(try convert(child, path: "\(path)[\(i)]")) }
            return .array(out)
        case .mapping(let map):
            var out: [String: JSONValue] = [:]
            for (k, v) in map {
                guard let key = k.string else { throw JSONValueError(message: "\(path.isEmpty ? "document" : path): mapping keys must be strings") }
                out[key] = try convert(v, path: path.isEmpty ? key : "\(path).\(key)")
            }
            return .object(out)
        case .alias:
            throw JSONValueError(message: "\(path.isEmpty ? "document" : path): YAML aliases are not supported")
        }
    }
}
