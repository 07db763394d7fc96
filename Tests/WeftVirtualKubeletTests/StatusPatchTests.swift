import Foundation
import Gen
import Testing
import WeftKubernetes
import WeftPodKit
import WeftVirtualKubelet

struct StatusPatchTests {
    static func spec() -> Weft_Kubelet_V1_PodSpec {
        var spec = Weft_Kubelet_V1_PodSpec()
        var c = Weft_Kubelet_V1_Container()
        c.name = "main"
        c.image = "busybox"
        spec.containers = [c]
        return spec
    }

    static func condition(_ type: Weft_Kubelet_V1_PodConditionType, _ holds: Bool, at nanos: Int64) -> Weft_Kubelet_V1_PodCondition {
        var c = Weft_Kubelet_V1_PodCondition()
        c.conditionType = type
        c.status = holds ? .isTrue : .isFalse
        c.lastTransitionTime = .init(unixNanos: nanos)
        return c
    }

    @Test func clearsUnreportedFieldsAndSetsHostIP() {
        var s = Weft_Kubelet_V1_PodStatus()
        s.phase = .running
        s.hostIp = "127.0.0.1"
        let patch = StatusPatch.make(s, spec: Self.spec(), hostIP: "10.0.0.9")
        #expect(patch["status", "hostIP"] == "10.0.0.9")
        #expect(patch["status", "phase"] == "Running")
        let status = patch["status"]?.objectValue ?? [:]
        #expect(status["reason"] == .null && status["message"] == .null && status["podIP"] == .null)
    }

    @Test func keepsTransitionTimesOfUnchangedConditions() {
        var s = Weft_Kubelet_V1_PodStatus()
        s.conditions = [Self.condition(.podScheduled, true, at: 2_000_000_000_000_000_000), Self.condition(.ready, true, at: 2_000_000_000_000_000_000)]
        let previous: JSONValue = ["status": ["conditions": [
            ["type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"],
            ["type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:00Z"],
        ]]]
        let patch = StatusPatch.make(s, spec: nil, hostIP: "", previous: previous)
        let conditions = patch["status", "conditions"]?.arrayValue ?? []
        #expect(conditions[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z", "unchanged: kept")
        #expect(conditions[1]["lastTransitionTime"] == "2033-05-18T03:33:20Z", "changed: the new time")
    }

    @Test func configErrorIsPendingWithWaitingContainers() {
        let patch = StatusPatch.configError("configmap \"settings\" not found", spec: Self.spec(), hostIP: "10.0.0.9")
        #expect(patch["status", "phase"] == "Pending")
        #expect(patch["status", "reason"] == "CreateContainerConfigError")
        #expect(patch["status", "containerStatuses"] == [[
            "name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0, "started": false, "lastState": [:],
            "state": ["waiting": ["reason": "CreateContainerConfigError", "message": "configmap \"settings\" not found"]],
        ]])
    }

    @Test func failedHasReasonAndMessage() {
        let patch = StatusPatch.failed(reason: "UnsupportedPod", message: "no", spec: nil, hostIP: "")
        #expect(patch["status", "phase"] == "Failed")
        #expect(patch["status", "reason"] == "UnsupportedPod")
        #expect(patch["status", "message"] == "no")
    }
}
