import Gen

/// The ConfigMaps, Secrets and service account tokens a pod needs from the API server: from
/// volumes, projected volumes, `env[].valueFrom`, `envFrom` and `imagePullSecrets`.
public struct PodReferences: Sendable, Equatable {
    /// ConfigMap name → whether every reference to it is optional.
    public var configMaps: [String: Bool] = [:]
    /// Secret name → whether every reference to it is optional (image pull secrets are optional:
    /// Kubernetes only warns when one is missing).
    public var secrets: [String: Bool] = [:]
    /// Service account token projections: volume name and the projection.
    public var tokens: [(volume: String, projection: Weft_Kubelet_V1_ServiceAccountTokenProjection)] = []

    /// Collects the references of `pod`.
    public init(_ pod: Weft_Kubelet_V1_Pod) {
        for v in pod.spec.volumes {
            switch v.source {
            case .configMap(let s)?: Self.need(&configMaps, s.name, optional: s.allowMissing)
            case .secret(let s)?: Self.need(&secrets, s.secretName, optional: s.allowMissing)
            case .projected(let p)?:
                for src in p.sources {
                    switch src.projection {
                    case .configMap(let c)?: Self.need(&configMaps, c.name, optional: c.allowMissing)
                    case .secret(let s)?: Self.need(&secrets, s.name, optional: s.allowMissing)
                    case .serviceAccountToken(let t)?: tokens.append((v.name, t))
                    default: break
                    }
                }
            default: break
            }
        }
        for c in pod.spec.initContainers + pod.spec.containers {
            for e in c.envFrom {
                switch e.source {
                case .configMapName(let n)?: Self.need(&configMaps, n, optional: e.allowMissing)
                case .secretName(let n)?: Self.need(&secrets, n, optional: e.allowMissing)
                case nil: break
                }
            }
            for e in c.env {
                guard case .valueFrom(let from)? = e.source else { continue }
                switch from.source {
                case .configMapKeyRef(let r)?: Self.need(&configMaps, r.name, optional: r.allowMissing)
                case .secretKeyRef(let r)?: Self.need(&secrets, r.name, optional: r.allowMissing)
                default: break
                }
            }
        }
        for name in pod.spec.imagePullSecretNames { Self.need(&secrets, name, optional: true) }
    }

    private static func need(_ map: inout [String: Bool], _ name: String, optional: Bool) {
        guard !name.isEmpty else { return }
        map[name] = (map[name] ?? true) && optional
    }

    public static func == (a: PodReferences, b: PodReferences) -> Bool {
        a.configMaps == b.configMaps && a.secrets == b.secrets && a.tokens.map(\.volume) == b.tokens.map(\.volume)
            && a.tokens.map(\.projection) == b.tokens.map(\.projection)
    }
}
