import Foundation
import Gen
import Testing
import WeftKubernetes
import WeftPodKit
import WeftVirtualKubelet

struct NodeObjectsTests {
    static func ping(reachable: Bool = true) -> Weft_Kubelet_V1_PingResponse {
        var p = Weft_Kubelet_V1_PingResponse()
        p.apiVersion = "weft-kubelet-api/0.1.0"
        p.sidecarReachable = reachable
        p.sidecarName = "weft-slurm/1.0"
        p.capacity.cpuMillis = 2500
        p.capacity.memoryBytes = 64 << 30
        p.capacity.pods = 100
        p.capacity.accelerators["nvidia.com/gpu"] = 4
        p.capacity.extended["hugepages-2Mi"] = "512Mi"
        p.allocatable.cpuMillis = 2000
        p.nodeLabels = ["site": "juelich"]
        var t = Weft_Kubelet_V1_Taint()
        t.key = "gpu"
        t.effect = .preferNoSchedule
        p.taints = [t]
        return p
    }

    @Test func resourceListsInKubernetesUnits() {
        let list = NodeObjects.resourceList(Self.ping().capacity)
        #expect(list == ["cpu": "2500m", "memory": "64Gi", "pods": "100", "nvidia.com/gpu": "4", "hugepages-2Mi": "512Mi"])
        var q = Weft_Common_V1_ResourceQuantities()
        q.cpuMillis = 2000
        q.memoryBytes = 1536 * 1024
        q.ephemeralStorageBytes = 1000
        #expect(NodeObjects.resourceList(q) == ["cpu": "2", "memory": "1536Ki", "ephemeral-storage": "1000"])
    }

    @Test func nodeHasLabelsTaintsAndStatus() {
        let identity = NodeObjects.Identity(name: "vk", address: "10.0.0.9", labels: ["extra": "yes"])
        let ready = NodeObjects.ReadyState(ready: true, since: Google_Protobuf_Timestamp(unixNanos: 1_780_000_000_000_000_000))
        let node = NodeObjects.node(identity, ping: Self.ping(), pingError: nil, ready: ready)
        #expect(node["metadata", "name"] == "vk")
        #expect(node["metadata", "labels", "type"] == "virtual-kubelet")
        #expect(node["metadata", "labels", "kubernetes.io/role"] == "agent")
        #expect(node["metadata", "labels", "site"] == "juelich")
        #expect(node["metadata", "labels", "extra"] == "yes")
        #expect(node["spec", "taints"] == [
            ["key": "virtual-node.interlink/no-schedule", "value": "true", "effect": "NoSchedule"],
            ["key": "gpu", "effect": "PreferNoSchedule"],
        ])
        #expect(node["status", "capacity", "cpu"] == "2500m")
        #expect(node["status", "allocatable", "cpu"] == "2", "allocatable from Ping")
        #expect(node["status", "allocatable", "memory"] == "64Gi", "capacity where Ping gives no allocatable")
        let readyCondition = node["status", "conditions"]?.arrayValue?.first
        #expect(readyCondition?["type"] == "Ready")
        #expect(readyCondition?["status"] == "True")
        #expect(readyCondition?["lastTransitionTime"] == "2026-05-28T20:26:40Z")
        #expect(node["status", "addresses"]?.arrayValue?.first == ["type": "InternalIP", "address": "10.0.0.9"])
        #expect(node["status", "nodeInfo", "operatingSystem"] == "linux")
    }

    @Test func readinessFollowsThePing() {
        #expect(NodeObjects.readiness(ping: Self.ping(), pingError: nil).ready)
        let down = NodeObjects.readiness(ping: Self.ping(reachable: false), pingError: nil)
        #expect(!down.ready && down.reason == "SidecarUnreachable")
        let unreachable = NodeObjects.readiness(ping: nil, pingError: "unavailable: connection refused")
        #expect(!unreachable.ready && unreachable.message.contains("connection refused"))
        let identity = NodeObjects.Identity(name: "vk", address: "1.2.3.4")
        let status = NodeObjects.status(identity, ping: nil, pingError: "down", ready: .init(ready: false, since: .now))
        #expect(status["conditions"]?.arrayValue?.first?["status"] == "False")
        #expect(status["capacity"] == ["cpu": "0", "memory": "0", "pods": "0"])
    }

    @Test func readyTransitionTimeMovesOnlyOnChange() {
        let t0 = Google_Protobuf_Timestamp(unixNanos: 1_000_000_000_000)
        let t1 = Google_Protobuf_Timestamp(unixNanos: 2_000_000_000_000)
        let s = NodeObjects.ReadyState(ready: true, since: t0)
        #expect(s.next(ready: true, at: t1) == s)
        #expect(s.next(ready: false, at: t1) == .init(ready: false, since: t1))
    }

    @Test func taintsMergeByKeyAndEffect() {
        let existing: [JSONValue] = [["key": "node.kubernetes.io/unreachable", "effect": "NoExecute"], ["key": "gpu", "value": "old", "effect": "PreferNoSchedule"]]
        let merged = NodeObjects.mergeTaints(existing: existing, wanted: NodeObjects.taints(ping: Self.ping()))
        #expect(merged.count == 3)
        #expect(merged[1] == ["key": "gpu", "effect": "PreferNoSchedule"])
        #expect(merged[2] == NodeObjects.virtualNodeTaint)
    }

    @Test func leaseIsOwnedByTheNode() {
        let lease = NodeObjects.lease(node: "vk", nodeUID: "uid-1", renewTime: Google_Protobuf_Timestamp(unixNanos: 1_780_000_000_123_456_789), durationSeconds: 40)
        #expect(lease["metadata", "namespace"] == "kube-node-lease")
        #expect(lease["metadata", "ownerReferences"] == [["apiVersion": "v1", "kind": "Node", "name": "vk", "uid": "uid-1"]])
        #expect(lease["spec"] == ["holderIdentity": "vk", "leaseDurationSeconds": 40, "renewTime": "2026-05-28T20:26:40.123456Z"])
    }
}
