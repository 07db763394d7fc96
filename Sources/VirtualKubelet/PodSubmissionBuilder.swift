import Foundation
import Gen
import Logging
import WeftKubernetes
import WeftPodKit

/// Turns a pod from the API server into a kubelet API submission: the pod in the kubelet IDL
/// (by ``ManifestDecoder``, which reads the API's JSON like a manifest) with every ConfigMap and
/// Secret it references fetched from the API server, and its service account tokens requested.
public struct PodSubmissionBuilder: Sendable {
    let client: KubernetesClient
    let logger: Logger

    /// Creates a builder that reads from `client`.
    public init(client: KubernetesClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Decodes a pod object from the API; throws ``PodConversionError`` if Weft cannot run it.
    public static func decodePod(_ object: JSONValue) throws(PodConversionError) -> Weft_Kubelet_V1_Pod {
        let name = "\(object["metadata", "namespace"]?.stringValue ?? "default")/\(object["metadata", "name"]?.stringValue ?? "?")"
        let set: ManifestSet
        do {
            set = try ManifestDecoder.decode(object.serializedString(), file: "pod \(name)")
        } catch {
            throw PodConversionError(pod: name, message: error.message)
        }
        guard let pod = set.pods.first else { throw PodConversionError(pod: name, message: "the object is not a Pod") }
        guard !pod.metadata.uid.isEmpty else { throw PodConversionError(pod: name, message: "the pod has no metadata.uid") }
        return pod
    }

    /// The submission for `pod` (decoded from `object`). Throws ``MissingReferenceError`` when a
    /// required ConfigMap or Secret does not exist, and API or transport errors when it cannot tell.
    public func submission(for pod: Weft_Kubelet_V1_Pod) async throws -> Weft_Kubelet_V1_PodSubmission {
        let meta = pod.metadata
        let refs = PodReferences(pod)
        var submission = Weft_Kubelet_V1_PodSubmission()
        submission.pod = pod
        for (name, optional) in refs.configMaps.sorted(by: { $0.key < $1.key }) {
            guard let object = try await fetch("configmaps", name, namespace: meta.namespace, optional: optional, kind: "ConfigMap", pod: meta) else { continue }
            submission.configMaps += try decode(object, kind: "ConfigMap", pod: meta).configMaps
        }
        for (name, optional) in refs.secrets.sorted(by: { $0.key < $1.key }) {
            guard let object = try await fetch("secrets", name, namespace: meta.namespace, optional: optional, kind: "Secret", pod: meta) else { continue }
            submission.secrets += try decode(object, kind: "Secret", pod: meta).secrets
        }
        var projected: [String: Weft_Kubelet_V1_ProjectedVolumeData] = [:]
        for (volume, projection) in refs.tokens {
            guard let token = await serviceAccountToken(pod: pod, projection: projection) else { continue }
            var data = projected[volume] ?? {
                var d = Weft_Kubelet_V1_ProjectedVolumeData()
                d.volumeName = volume
                return d
            }()
            data.files[projection.path.isEmpty ? "token" : projection.path] = Data(token.utf8)
            projected[volume] = data
        }
        submission.projectedVolumes = projected.keys.sorted().compactMap { projected[$0] }
        return submission
    }

    private func fetch(_ resource: String, _ name: String, namespace: String, optional: Bool, kind: String,
                       pod: Weft_Kubelet_V1_ObjectMeta) async throws -> JSONValue? {
        if let object = try await client.getIfPresent("/api/v1/namespaces/\(namespace)/\(resource)/\(name)") { return object }
        if optional { return nil }
        throw MissingReferenceError(kind: kind, name: name, pod: "\(pod.namespace)/\(pod.name)")
    }

    private func decode(_ object: JSONValue, kind: String, pod: Weft_Kubelet_V1_ObjectMeta) throws(PodConversionError) -> ManifestSet {
        var o = object
        if case .object(var members) = o, members["kind"] == nil {
            members["kind"] = .string(kind)
            members["apiVersion"] = "v1"
            o = .object(members)
        }
        do {
            return try ManifestDecoder.decode(o.serializedString(), file: "\(kind) \(pod.namespace)/\(o["metadata", "name"]?.stringValue ?? "?")", defaultNamespace: pod.namespace)
        } catch {
            throw PodConversionError(pod: "\(pod.namespace)/\(pod.name)", message: error.message)
        }
    }

    /// A token from the TokenRequest API, bound to the pod; nil (with a warning) when the API
    /// refuses, so a pod that does not use its token still runs. Tokens are not refreshed.
    private func serviceAccountToken(pod: Weft_Kubelet_V1_Pod, projection: Weft_Kubelet_V1_ServiceAccountTokenProjection) async -> String? {
        let meta = pod.metadata
        let account = pod.spec.serviceAccountName.isEmpty ? "default" : pod.spec.serviceAccountName
        var spec: [String: JSONValue] = [
            "audiences": projection.audience.isEmpty ? [] : [.string(projection.audience)],
            "boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": .string(meta.name), "uid": .string(meta.uid)],
        ]
        if projection.hasExpiration { spec["expirationSeconds"] = .int(max(600, projection.expiration.seconds)) }
        let body: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": .object(spec)]
        do {
            let answer = try await client.create("/api/v1/namespaces/\(meta.namespace)/serviceaccounts/\(account)/token", body)
            if let token = answer["status", "token"]?.stringValue { return token }
            logger.warning("the TokenRequest answer has no token; the pod runs without it",
                           metadata: ["pod": "\(meta.namespace)/\(meta.name)", "serviceaccount": "\(account)"])
        } catch {
            logger.warning("cannot get a service account token; the pod runs without it",
                           metadata: ["pod": "\(meta.namespace)/\(meta.name)", "serviceaccount": "\(account)", "error": "\(error)"])
        }
        return nil
    }
}
