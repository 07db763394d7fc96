import Gen
import WeftRPC

/// Validation of the names that become paths on a backend (namespace, pod, container, volume,
/// ConfigMap and Secret keys): Kubernetes' DNS-1123 rules, so that `..`, `/` and NUL never reach
/// a file system path.
public enum PodNames {
    /// A DNS-1123 label: at most 63 characters of `[a-z0-9-]`, starting and ending alphanumeric.
    public static func isLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 63 else { return false }
        for (i, c) in b.enumerated() {
            let alnum = (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
            if !alnum && !(c == 45 && i != 0 && i != b.count - 1) { return false }
        }
        return true
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
    public static func isSubdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel(String($0)) }
    }

    /// A ConfigMap or Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
    public static func isDataKey(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, s != ".", s != ".." else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95
        }
    }

    /// A relative path inside a volume (`items[].path`): no leading `/`, no `..` element, no NUL.
    public static func isRelativePath(_ s: String) -> Bool {
        guard !s.isEmpty, !s.hasPrefix("/"), !s.utf8.contains(0), s.utf8.count <= 4096 else { return false }
        return s.split(separator: "/").allSatisfy { $0 != ".." && $0 != "." }
    }

    /// An absolute path in a container (`mountPath`, `workingDir`): starts with `/`, no `..`, no NUL.
    public static func isAbsolutePath(_ s: String) -> Bool {
        guard s.hasPrefix("/"), !s.utf8.contains(0), s.utf8.count <= 4096 else { return false }
        return s.split(separator: "/").allSatisfy { $0 != ".." }
    }

    /// Throws INVALID_ARGUMENT unless `ref` names a pod: namespace a label, name a subdomain, UID non-empty
    /// and free of path characters.
    public static func validate(_ ref: Weft_Kubelet_V1_PodRef, uidRequired: Bool = true) throws {
        guard isLabel(ref.namespace) else { throw invalid("namespace", ref.namespace, "a DNS-1123 label") }
        guard isSubdomain(ref.name) else { throw invalid("pod name", ref.name, "a DNS-1123 subdomain") }
        if uidRequired || !ref.uid.isEmpty {
            guard isUID(ref.uid) else { throw invalid("pod uid", ref.uid, "1-128 characters of [A-Za-z0-9-]") }
        }
    }

    /// A pod UID: 1–128 characters of `[A-Za-z0-9-]` (Kubernetes uses UUIDs).
    public static func isUID(_ s: String) -> Bool {
        let b = s.utf8
        return !b.isEmpty && b.count <= 128 && b.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// Throws INVALID_ARGUMENT for anything in a pod that would become a path on the backend.
    public static func validate(pod: Weft_Kubelet_V1_Pod) throws {
        var ref = Weft_Kubelet_V1_PodRef()
        ref.name = pod.metadata.name
        ref.namespace = pod.metadata.namespace
        ref.uid = pod.metadata.uid
        try validate(ref)
        let spec = pod.spec
        guard !spec.containers.isEmpty else { throw RPCError(code: .invalidArgument, message: "pod \(ref.namespace)/\(ref.name) has no containers") }
        var names = Set<String>()
        for c in spec.initContainers + spec.containers {
            guard isLabel(c.name) else { throw invalid("container name", c.name, "a DNS-1123 label") }
            guard names.insert(c.name).inserted else { throw RPCError(code: .invalidArgument, message: "container name \"\(c.name)\" is used twice") }
            if !c.workingDir.isEmpty, !isAbsolutePath(c.workingDir) {
                throw invalid("workingDir of container \(c.name)", c.workingDir, "an absolute path without \"..\"")
            }
            for m in c.volumeMounts {
                guard isAbsolutePath(m.mountPath) else { throw invalid("mountPath of container \(c.name)", m.mountPath, "an absolute path without \"..\"") }
                if !m.subPath.isEmpty, !isRelativePath(m.subPath) { throw invalid("subPath of container \(c.name)", m.subPath, "a relative path without \"..\"") }
            }
        }
        var volumes = Set<String>()
        for v in spec.volumes {
            guard isLabel(v.name) else { throw invalid("volume name", v.name, "a DNS-1123 label") }
            guard volumes.insert(v.name).inserted else { throw RPCError(code: .invalidArgument, message: "volume name \"\(v.name)\" is used twice") }
            let items: [Weft_Kubelet_V1_KeyToPath]
            switch v.source {
            case .configMap(let s)?: items = s.items
            case .secret(let s)?: items = s.items
            case .projected(let p)?:
                items = p.sources.flatMap { src -> [Weft_Kubelet_V1_KeyToPath] in
                    switch src.projection {
                    case .configMap(let c)?: return c.items
                    case .secret(let s)?: return s.items
                    default: return []
                    }
                }
            default: items = []
            }
            for item in items where !isRelativePath(item.path) {
                throw invalid("items path in volume \(v.name)", item.path, "a relative path without \"..\"")
            }
        }
        for c in spec.initContainers + spec.containers {
            for m in c.volumeMounts where !volumes.contains(m.name) {
                throw RPCError(code: .invalidArgument, message: "container \(c.name) mounts volume \"\(m.name)\" that the pod does not declare")
            }
        }
    }

    static func invalid(_ what: String, _ value: String, _ rule: String) -> RPCError {
        let shown = value.count > 80 ? String(value.prefix(80)) + "…" : value
        return RPCError(code: .invalidArgument, message: "\(what) \"\(shown.debugDescription.dropFirst().dropLast())\" is not \(rule)")
    }
}
