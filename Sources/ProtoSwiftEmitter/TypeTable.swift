import ProtoCompiler

/// Every message and enum of the loaded files, by fully qualified name (with the leading dot), with
/// their Swift names; and which message fields must be boxed to break struct recursion.
struct TypeTable {
    struct MessageInfo {
        let descriptor: MessageDescriptor
        let swiftName: String
        let fullName: String
        let file: FileDescriptor
    }

    struct EnumInfo {
        let descriptor: EnumDescriptor
        let swiftName: String
        let fullName: String
    }

    private(set) var messages: [String: MessageInfo] = [:]
    private(set) var enums: [String: EnumInfo] = [:]
    /// Message full name → names of messages it reaches through singular (inline) message fields.
    private var reach: [String: Set<String>] = [:]

    init(files: [FileDescriptor]) {
        for file in files {
            let prefix = Naming.packagePrefix(file.package)
            let scope = file.package.map { "." + $0 } ?? ""
            for m in file.messageTypes { addMessage(m, fullScope: scope, swiftScope: prefix, top: true, file: file) }
            for e in file.enumTypes {
                let full = scope + "." + e.name
                enums[full] = EnumInfo(descriptor: e, swiftName: prefix + e.name, fullName: full)
            }
        }
        computeReach()
    }

    private mutating func addMessage(_ m: MessageDescriptor, fullScope: String, swiftScope: String, top: Bool, file: FileDescriptor) {
        let full = fullScope + "." + m.name
        let swift = top ? swiftScope + m.name : swiftScope + "." + m.name
        messages[full] = MessageInfo(descriptor: m, swiftName: swift, fullName: full, file: file)
        for n in m.nestedTypes { addMessage(n, fullScope: full, swiftScope: swift, top: false, file: file) }
        for e in m.enumTypes {
            enums[full + "." + e.name] = EnumInfo(descriptor: e, swiftName: swift + "." + e.name, fullName: full + "." + e.name)
        }
    }

    /// Direct inline edges: singular message-typed fields (oneof members included).
    private func inlineEdges(_ full: String) -> [String] {
        guard let m = messages[full]?.descriptor else { return [] }
        return m.fields.compactMap { f in
            guard f.label != .repeated, f.type == .message || f.type == .group, let t = f.typeName else { return nil }
            return t
        }
    }

    private mutating func computeReach() {
        for start in messages.keys {
            var seen = Set<String>()
            var stack = inlineEdges(start)
            while let n = stack.popLast() {
                if seen.insert(n).inserted { stack += inlineEdges(n) }
            }
            reach[start] = seen
        }
    }

    /// Whether a singular field of type `target` inside `owner` closes a cycle of inline storage.
    func needsBox(owner: String, target: String) -> Bool {
        target == owner || (reach[target]?.contains(owner) ?? false)
    }

    /// The Swift name of a message or enum by its full name.
    func swiftName(_ full: String) -> String {
        messages[full]?.swiftName ?? enums[full]?.swiftName ?? "UNRESOLVED_\(full)"
    }
}
