import Gen
import WeftPodKit
import WeftRPC

extension PodReferences {
    /// Throws INVALID_ARGUMENT naming the first required ConfigMap or Secret missing from `submission`.
    func check(_ submission: Weft_Kubelet_V1_PodSubmission) throws {
        let haveCM = Set(submission.configMaps.map(\.metadata.name))
        let haveSecret = Set(submission.secrets.map(\.metadata.name))
        for (name, optional) in configMaps.sorted(by: { $0.key < $1.key }) where !optional && !haveCM.contains(name) {
            throw RPCError(code: .invalidArgument, message: "the pod references ConfigMap \"\(name)\", which is not in the submission and not optional")
        }
        for (name, optional) in secrets.sorted(by: { $0.key < $1.key }) where !optional && !haveSecret.contains(name) {
            throw RPCError(code: .invalidArgument, message: "the pod references Secret \"\(name)\", which is not in the submission and not optional")
        }
    }

    /// Per-container view of the data each container uses (the sidecar's `RetrievedContainer`).
    static func retrieved(_ pod: Weft_Kubelet_V1_Pod) -> [Weft_Sidecar_V1_RetrievedContainer] {
        let volumes = Dictionary(pod.spec.volumes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return (pod.spec.initContainers + pod.spec.containers).map { c in
            var r = Weft_Sidecar_V1_RetrievedContainer()
            r.containerName = c.name
            var cms = Set<String>(), secrets = Set<String>(), projected = Set<String>(), empty = Set<String>()
            for m in c.volumeMounts {
                switch volumes[m.name]?.source {
                case .configMap(let s)?: cms.insert(s.name)
                case .secret(let s)?: secrets.insert(s.secretName)
                case .projected?: projected.insert(m.name)
                case .emptyDir?: empty.insert(m.name)
                default: break
                }
            }
            for e in c.envFrom {
                if case .configMapName(let n)? = e.source { cms.insert(n) }
                if case .secretName(let n)? = e.source { secrets.insert(n) }
            }
            for e in c.env {
                guard case .valueFrom(let from)? = e.source else { continue }
                if case .configMapKeyRef(let k)? = from.source { cms.insert(k.name) }
                if case .secretKeyRef(let k)? = from.source { secrets.insert(k.name) }
            }
            r.configMapNames = cms.sorted()
            r.secretNames = secrets.sorted()
            r.projectedVolumeNames = projected.sorted()
            r.emptyDirNames = empty.sorted()
            return r
        }
    }
}
