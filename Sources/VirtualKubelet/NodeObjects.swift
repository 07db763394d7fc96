import Foundation
import Gen
import WeftKubernetes
import WeftPodKit

/// The virtual node's Kubernetes objects, built from the kubelet API's Ping: the Node to create,
/// its status patch and its Lease. Pure functions, so they are tested without a server.
public enum NodeObjects {
    /// The taint every virtual node carries, so only pods that tolerate it are offloaded.
    public static let virtualNodeTaint: JSONValue = ["key": "virtual-node.interlink/no-schedule", "value": "true", "effect": "NoSchedule"]
    /// Namespace of node leases.
    public static let leaseNamespace = "kube-node-lease"
    /// Reported as `nodeInfo.kubeletVersion`.
    public static let kubeletVersion = "v1.31.0-weft-0.1.0"

    /// What the node reports about itself.
    public struct Identity: Sendable {
        /// Node name.
        public var name: String
        /// The node's InternalIP address.
        public var address: String
        /// Extra labels from the command line.
        public var labels: [String: String]

        /// Creates an identity.
        public init(name: String, address: String, labels: [String: String] = [:]) {
            self.name = name
            self.address = address
            self.labels = labels
        }
    }

    /// The labels of the node: the virtual-kubelet ones, the Ping's node labels, then `identity.labels`.
    public static func labels(_ identity: Identity, ping: Weft_Kubelet_V1_PingResponse?) -> [String: String] {
        var labels: [String: String] = [
            "type": "virtual-kubelet",
            "kubernetes.io/role": "agent",
            "kubernetes.io/hostname": identity.name,
            "kubernetes.io/os": "linux",
            "beta.kubernetes.io/os": "linux",
            "node.kubernetes.io/exclude-from-external-load-balancers": "true",
        ]
        for (k, v) in ping?.nodeLabels ?? [:] { labels[k] = v }
        for (k, v) in identity.labels { labels[k] = v }
        return labels
    }

    /// The node's taints: the virtual-node taint and the Ping's.
    public static func taints(ping: Weft_Kubelet_V1_PingResponse?) -> [JSONValue] {
        var out = [virtualNodeTaint]
        for t in ping?.taints ?? [] {
            var o: [String: JSONValue] = ["key": .string(t.key), "effect": .string(effect(t.effect))]
            if !t.value.isEmpty { o["value"] = .string(t.value) }
            if t.hasTimeAdded { o["timeAdded"] = .string(KubernetesTime.format(t.timeAdded)) }
            let taint = JSONValue.object(o)
            if !out.contains(where: { sameTaint($0, taint) }) { out.append(taint) }
        }
        return out
    }

    /// `existing` with every taint of `wanted` added (matched by key and effect), so taints set
    /// by others (cordon, the node lifecycle controller) are kept.
    public static func mergeTaints(existing: [JSONValue], wanted: [JSONValue]) -> [JSONValue] {
        var out = existing
        for t in wanted {
            if let i = out.firstIndex(where: { sameTaint($0, t) }) { out[i] = t } else { out.append(t) }
        }
        return out
    }

    private static func sameTaint(_ a: JSONValue, _ b: JSONValue) -> Bool {
        a["key"] == b["key"] && a["effect"] == b["effect"]
    }

    /// Kubernetes' name of a taint effect.
    public static func effect(_ e: Weft_Kubelet_V1_TaintEffect) -> String {
        switch e {
        case .preferNoSchedule: return "PreferNoSchedule"
        case .noExecute: return "NoExecute"
        default: return "NoSchedule"
        }
    }

    /// Resource quantities as a Kubernetes ResourceList: `cpu` in cores or millis (`2`, `500m`),
    /// memory and storage in binary units (`64Gi`), `pods`, accelerators and extended resources.
    public static func resourceList(_ q: Weft_Common_V1_ResourceQuantities) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        if q.hasCpuMillis { out["cpu"] = .string(Quantity.formatCPU(millis: q.cpuMillis)) }
        if q.hasMemoryBytes { out["memory"] = .string(Quantity.formatBytes(q.memoryBytes)) }
        if q.hasEphemeralStorageBytes { out["ephemeral-storage"] = .string(Quantity.formatBytes(q.ephemeralStorageBytes)) }
        if q.hasPods { out["pods"] = .string(String(q.pods)) }
        for (k, v) in q.accelerators { out[k] = .string(String(v)) }
        for (k, v) in q.extended { out[k] = .string(v) }
        return out
    }

    /// The Node to create (`POST /api/v1/nodes`), with its first status.
    public static func node(_ identity: Identity, ping: Weft_Kubelet_V1_PingResponse?, pingError: String?, ready: ReadyState) -> JSONValue {
        [
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": [
                "name": .string(identity.name),
                "labels": .object(labels(identity, ping: ping).mapValues { .string($0) }),
                "annotations": ["weft.io/virtual-kubelet": "true"],
            ],
            "spec": ["taints": .array(taints(ping: ping))],
            "status": status(identity, ping: ping, pingError: pingError, ready: ready),
        ]
    }

    /// When the node's Ready condition last changed, so that `lastTransitionTime` only moves on a change.
    public struct ReadyState: Sendable, Equatable {
        /// Whether the node was ready.
        public var ready: Bool
        /// When it became so.
        public var since: Google_Protobuf_Timestamp

        /// Creates a state.
        public init(ready: Bool, since: Google_Protobuf_Timestamp) {
            self.ready = ready
            self.since = since
        }

        /// The state after a ping that found the node `ready` at `now`.
        public func next(ready nowReady: Bool, at now: Google_Protobuf_Timestamp) -> ReadyState {
            nowReady == ready ? self : ReadyState(ready: nowReady, since: now)
        }
    }

    /// Whether a Ping means the node is ready, and the message for the Ready condition.
    public static func readiness(ping: Weft_Kubelet_V1_PingResponse?, pingError: String?) -> (ready: Bool, reason: String, message: String) {
        if let pingError { return (false, "KubeletAPIUnreachable", "the kubelet API is unreachable: \(pingError)") }
        guard let ping else { return (false, "KubeletAPIUnreachable", "the kubelet API has not answered yet") }
        guard ping.sidecarReachable else {
            return (false, "SidecarUnreachable", ping.statusMessage.isEmpty ? "the sidecar is unreachable" : ping.statusMessage)
        }
        if !ping.statusMessage.isEmpty { return (false, "BackendUnreachable", ping.statusMessage) }
        return (true, "KubeletReady", "the kubelet API and sidecar \(ping.sidecarName) are reachable")
    }

    /// The node's status object (capacity, allocatable, conditions, addresses, nodeInfo).
    public static func status(_ identity: Identity, ping: Weft_Kubelet_V1_PingResponse?, pingError: String?, ready: ReadyState,
                              now: Google_Protobuf_Timestamp = .now) -> JSONValue {
        let r = readiness(ping: ping, pingError: pingError)
        let heartbeat = JSONValue.string(KubernetesTime.format(now))
        let since = JSONValue.string(KubernetesTime.format(ready.since))
        func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String) -> JSONValue {
            ["type": .string(type), "status": status ? "True" : "False", "reason": .string(reason), "message": .string(message),
             "lastHeartbeatTime": heartbeat, "lastTransitionTime": since]
        }
        var capacity: [String: JSONValue] = ["cpu": "0", "memory": "0", "pods": "0"]
        var allocatable = capacity
        if let ping, ping.hasCapacity {
            capacity = resourceList(ping.capacity)
            allocatable = capacity
            if ping.hasAllocatable { allocatable.merge(resourceList(ping.allocatable)) { _, new in new } }
        }
        let sidecar = ping?.sidecarName ?? ""
        return [
            "capacity": .object(capacity),
            "allocatable": .object(allocatable),
            "conditions": [
                condition("Ready", r.ready, r.reason, r.message),
                condition("MemoryPressure", false, "KubeletHasSufficientMemory", "no memory pressure"),
                condition("DiskPressure", false, "KubeletHasNoDiskPressure", "no disk pressure"),
                condition("PIDPressure", false, "KubeletHasSufficientPID", "no PID pressure"),
                condition("NetworkUnavailable", false, "RouteCreated", "the virtual node needs no routes"),
            ],
            "addresses": [
                ["type": "InternalIP", "address": .string(identity.address)],
                ["type": "Hostname", "address": .string(identity.name)],
            ],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
            "nodeInfo": [
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "", "osImage": .string(sidecar.isEmpty ? "weft" : "weft (\(sidecar))"),
                "containerRuntimeVersion": .string("weft://\(ping?.apiVersion ?? "unknown")"),
                "kubeletVersion": .string(kubeletVersion), "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": .string(architecture),
            ],
        ]
    }

    /// The host's architecture in Kubernetes' (GOARCH) spelling.
    public static var architecture: String {
        #if arch(arm64)
        return "arm64"
        #else
        return "amd64"
        #endif
    }

    /// The node's Lease (`coordination.k8s.io/v1`) in `kube-node-lease`, owned by the node.
    public static func lease(node: String, nodeUID: String?, renewTime: Google_Protobuf_Timestamp, durationSeconds: Int64) -> JSONValue {
        var metadata: [String: JSONValue] = ["name": .string(node), "namespace": .string(leaseNamespace)]
        if let nodeUID, !nodeUID.isEmpty {
            metadata["ownerReferences"] = [["apiVersion": "v1", "kind": "Node", "name": .string(node), "uid": .string(nodeUID)]]
        }
        return [
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": .object(metadata),
            "spec": [
                "holderIdentity": .string(node),
                "leaseDurationSeconds": .int(durationSeconds),
                "renewTime": .string(KubernetesTime.formatMicro(renewTime)),
            ],
        ]
    }
}
