import Gen

/// Resolves a container's environment from the pod and the data that came with it, as the
/// kubelet does: `envFrom` first, then `env` in order (later wins), `$(VAR)` expanded against the
/// variables defined before it.
public struct EnvironmentResolver: Sendable {
    /// The pod with its ConfigMaps and Secrets.
    public let submission: Weft_Kubelet_V1_PodSubmission

    /// Creates a resolver for `submission`.
    public init(submission: Weft_Kubelet_V1_PodSubmission) { self.submission = submission }

    /// The container's variables in definition order; throws ``PodConfigError`` for a missing
    /// ConfigMap, Secret or key that is not optional.
    public func environment(of container: Weft_Kubelet_V1_Container) throws -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        for source in container.envFrom {
            switch source.source {
            case .configMapName(let name)?:
                guard let cm = configMap(name) else {
                    if source.allowMissing { continue }
                    throw PodConfigError("configmap \"\(name)\" not found (envFrom of container \(container.name))")
                }
                for (k, v) in cm.data.sorted(by: { $0.key < $1.key }) { set(source.prefix + k, v) }
            case .secretName(let name)?:
                guard let s = secret(name) else {
                    if source.allowMissing { continue }
                    throw PodConfigError("secret \"\(name)\" not found (envFrom of container \(container.name))")
                }
                for (k, v) in s.data.sorted(by: { $0.key < $1.key }) { set(source.prefix + k, String(decoding: v, as: UTF8.self)) }
            case nil: continue
            }
        }
        for env in container.env {
            switch env.source {
            case .value(let v)?: set(env.name, Self.expand(v, values))
            case nil: set(env.name, "")
            case .valueFrom(let from)?:
                switch from.source {
                case .configMapKeyRef(let ref)?:
                    if let cm = configMap(ref.name), let v = cm.data[ref.key] ?? cm.binaryData[ref.key].map({ String(decoding: $0, as: UTF8.self) }) {
                        set(env.name, v)
                    } else if !ref.allowMissing {
                        throw PodConfigError(configMap(ref.name) == nil ? "configmap \"\(ref.name)\" not found" : "couldn't find key \(ref.key) in ConfigMap \(submission.pod.metadata.namespace)/\(ref.name)")
                    }
                case .secretKeyRef(let ref)?:
                    if let s = secret(ref.name), let v = s.data[ref.key] {
                        set(env.name, String(decoding: v, as: UTF8.self))
                    } else if !ref.allowMissing {
                        throw PodConfigError(secret(ref.name) == nil ? "secret \"\(ref.name)\" not found" : "couldn't find key \(ref.key) in Secret \(submission.pod.metadata.namespace)/\(ref.name)")
                    }
                case .fieldRef(let ref)?:
                    set(env.name, try FieldPaths.value(of: ref.fieldPath, in: submission.pod))
                case .resourceFieldRef(let ref)?:
                    set(env.name, try resourceValue(ref, default: container))
                case nil: set(env.name, "")
                }
            }
        }
        return order.map { ($0, values[$0] ?? "") }
    }

    /// Kubernetes' `$(VAR)` expansion: known variables are replaced, `$$` escapes a `$`, unknown
    /// references stay as written.
    public static func expand(_ s: String, _ vars: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "$", next < s.endIndex {
                if s[next] == "$" { out.append("$"); i = s.index(after: next); continue }
                if s[next] == "(", let close = s[next...].firstIndex(of: ")") {
                    let name = String(s[s.index(after: next)..<close])
                    if let v = vars[name] { out += v; i = s.index(after: close); continue }
                    out += s[i...close]
                    i = s.index(after: close)
                    continue
                }
            }
            out.append(c)
            i = next
        }
        return out
    }

    private func configMap(_ name: String) -> Weft_Kubelet_V1_ConfigMap? { submission.configMaps.first { $0.metadata.name == name } }
    private func secret(_ name: String) -> Weft_Kubelet_V1_Secret? { submission.secrets.first { $0.metadata.name == name } }

    private func resourceValue(_ ref: Weft_Kubelet_V1_ResourceFieldSelector, default container: Weft_Kubelet_V1_Container) throws -> String {
        let all = submission.pod.spec.initContainers + submission.pod.spec.containers
        let c = ref.containerName.isEmpty ? container : (all.first { $0.name == ref.containerName } ?? container)
        let r = c.resources
        switch ref.resource {
        case "limits.cpu", "requests.cpu":
            let q = ref.resource.hasPrefix("limits") ? r.limits : r.requests
            let millis = q.hasCpuMillis ? q.cpuMillis : (r.requests.hasCpuMillis ? r.requests.cpuMillis : Int64(ProcessInfoCPU.count) * 1000)
            let divisor: Int64 = ref.divisor == "1m" ? 1 : 1000
            return String((millis + divisor - 1) / divisor)
        case "limits.memory", "requests.memory":
            let q = ref.resource.hasPrefix("limits") ? r.limits : r.requests
            let bytes = q.hasMemoryBytes ? q.memoryBytes : 0
            let divisors: [String: Int64] = ["": 1, "1": 1, "1Ki": 1024, "1Mi": 1 << 20, "1Gi": 1 << 30, "1k": 1000, "1M": 1_000_000, "1G": 1_000_000_000]
            let d = divisors[ref.divisor] ?? 1
            return String((bytes + d - 1) / d)
        default:
            throw PodConfigError("unsupported resourceFieldRef \"\(ref.resource)\"")
        }
    }
}

/// The number of CPUs this process may use.
enum ProcessInfoCPU {
    static var count: Int { max(1, sysconfCount()) }
    private static func sysconfCount() -> Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
