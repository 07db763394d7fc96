import Foundation
import Gen
import Testing
import WeftKubernetes
import WeftPodKit

struct KubernetesStatusEncoderTests {
    static let t0 = Google_Protobuf_Timestamp(unixNanos: 1_780_000_000_123_456_789)  // 2026-05-28T20:26:40Z
    static let t1 = Google_Protobuf_Timestamp(unixNanos: 1_780_000_005_000_000_000)

    static func container(_ name: String, image: String = "busybox") -> Weft_Kubelet_V1_Container {
        var c = Weft_Kubelet_V1_Container()
        c.name = name
        c.image = image
        return c
    }

    @Test func timesAreWholeSecondsAndMicroTimeHasSixDigits() {
        #expect(KubernetesTime.format(Self.t0) == "2026-05-28T20:26:40Z")
        #expect(KubernetesTime.formatMicro(Self.t0) == "2026-05-28T20:26:40.123456Z")
        #expect(KubernetesTime.parse("2026-05-28T20:26:40Z")?.seconds == Self.t0.seconds)
    }

    @Test func phasesAndConditionNames() {
        #expect(KubernetesStatusEncoder.phase(.pending) == "Pending")
        #expect(KubernetesStatusEncoder.phase(.running) == "Running")
        #expect(KubernetesStatusEncoder.phase(.succeeded) == "Succeeded")
        #expect(KubernetesStatusEncoder.phase(.failed) == "Failed")
        #expect(KubernetesStatusEncoder.phase(.unknown) == "Unknown")
        #expect(KubernetesStatusEncoder.phase(.unspecified) == "Pending")
        #expect(KubernetesStatusEncoder.conditionType(.containersReady) == "ContainersReady")
        #expect(KubernetesStatusEncoder.conditionType(.podReadyToStartContainers) == "PodReadyToStartContainers")
    }

    @Test func terminatedContainerWithEveryField() {
        var s = Weft_Kubelet_V1_PodStatus()
        s.phase = .failed
        s.reason = "Evicted"
        s.message = "out of memory"
        s.hostIp = "10.0.0.5"
        s.podIp = "10.1.0.7"
        s.startTime = Self.t0
        var cond = Weft_Kubelet_V1_PodCondition()
        cond.conditionType = .ready
        cond.status = .isFalse
        cond.reason = "PodCompleted"
        cond.lastTransitionTime = Self.t1
        s.conditions = [cond]
        var cs = Weft_Kubelet_V1_ContainerStatus()
        cs.name = "main"
        cs.image = "busybox"
        cs.imageId = "docker.io/library/busybox@sha256:abc"
        cs.containerId = "slurm://42/0"
        cs.restartCount = 2
        var term = Weft_Kubelet_V1_ContainerStateTerminated()
        term.exitCode = 137
        term.signal = 9
        term.reason = "OOMKilled"
        term.message = "killed"
        term.startedAt = Self.t0
        term.finishedAt = Self.t1
        term.containerId = "slurm://42/0"
        cs.state.terminated = term
        var last = Weft_Kubelet_V1_ContainerStateTerminated()
        last.exitCode = 1
        last.reason = "Error"
        cs.lastTerminationState.terminated = last
        s.containerStatuses = [cs]

        let json = KubernetesStatusEncoder.podStatus(s)
        #expect(json["phase"] == "Failed")
        #expect(json["reason"] == "Evicted")
        #expect(json["message"] == "out of memory")
        #expect(json["hostIP"] == "10.0.0.5")
        #expect(json["podIP"] == "10.1.0.7")
        #expect(json["podIPs"] == [["ip": "10.1.0.7"]])
        #expect(json["startTime"] == "2026-05-28T20:26:40Z")
        let conditions = json["conditions"]?.arrayValue ?? []
        #expect(conditions.count == 2)
        #expect(conditions.first?["type"] == "PodScheduled" && conditions.first?["status"] == "True", "PodScheduled is added")
        #expect(conditions.last == ["type": "Ready", "status": "False", "reason": "PodCompleted", "lastProbeTime": nil, "lastTransitionTime": "2026-05-28T20:26:45Z"])
        let c = json["containerStatuses"]?.arrayValue?.first
        #expect(c?["name"] == "main")
        #expect(c?["imageID"] == "docker.io/library/busybox@sha256:abc")
        #expect(c?["containerID"] == "slurm://42/0")
        #expect(c?["restartCount"] == 2)
        #expect(c?["ready"] == false)
        #expect(c?["started"] == true)
        #expect(c?["state"] == ["terminated": [
            "exitCode": 137, "signal": 9, "reason": "OOMKilled", "message": "killed",
            "startedAt": "2026-05-28T20:26:40Z", "finishedAt": "2026-05-28T20:26:45Z", "containerID": "slurm://42/0",
        ]])
        #expect(c?["lastState"] == ["terminated": ["exitCode": 1, "reason": "Error"]])
        #expect(json["initContainerStatuses"] == nil)
    }

    @Test func runningAndWaitingStates() {
        var running = Weft_Kubelet_V1_ContainerState()
        var r = Weft_Kubelet_V1_ContainerStateRunning()
        r.startedAt = Self.t0
        running.running = r
        #expect(KubernetesStatusEncoder.containerState(running) == ["running": ["startedAt": "2026-05-28T20:26:40Z"]])
        var waiting = Weft_Kubelet_V1_ContainerState()
        var w = Weft_Kubelet_V1_ContainerStateWaiting()
        w.reason = "Queued"
        w.message = "slurm job 42 pending"
        waiting.waiting = w
        #expect(KubernetesStatusEncoder.containerState(waiting) == ["waiting": ["reason": "Queued", "message": "slurm job 42 pending"]])
        #expect(KubernetesStatusEncoder.containerState(Weft_Kubelet_V1_ContainerState()) == [:])
    }

    @Test func specCompletesStatusesInSpecOrder() {
        var spec = Weft_Kubelet_V1_PodSpec()
        spec.initContainers = [Self.container("setup", image: "alpine")]
        spec.containers = [Self.container("a"), Self.container("b", image: "python:3")]
        var s = Weft_Kubelet_V1_PodStatus()
        s.phase = .pending
        var b = Weft_Kubelet_V1_ContainerStatus()
        b.name = "b"
        b.state.running = Weft_Kubelet_V1_ContainerStateRunning()
        s.containerStatuses = [b]
        let json = KubernetesStatusEncoder.podStatus(s, spec: spec)
        let statuses = json["containerStatuses"]?.arrayValue ?? []
        #expect(statuses.map { $0["name"] } == ["a", "b"])
        #expect(statuses.map { $0["image"] } == ["busybox", "python:3"], "images come from the spec")
        #expect(statuses[0]["state"] == ["waiting": ["reason": "PodInitializing"]], "init containers have not finished")
        #expect(statuses[0]["started"] == false)
        #expect(statuses[1]["started"] == true)
        let inits = json["initContainerStatuses"]?.arrayValue ?? []
        #expect(inits.map { $0["name"] } == ["setup"])
        #expect(inits.first?["state"] == ["waiting": ["reason": "PodInitializing"]])

        var done = Weft_Kubelet_V1_ContainerStatus()
        done.name = "setup"
        done.state.terminated = Weft_Kubelet_V1_ContainerStateTerminated()
        s.initContainerStatuses = [done]
        s.containerStatuses = []
        let after = KubernetesStatusEncoder.podStatus(s, spec: spec)
        #expect(after["containerStatuses"]?.arrayValue?.first?["state"] == ["waiting": ["reason": "ContainerCreating"]])
    }

    @Test func existingPodScheduledIsKept() {
        var s = Weft_Kubelet_V1_PodStatus()
        var c = Weft_Kubelet_V1_PodCondition()
        c.conditionType = .podScheduled
        c.status = .isTrue
        c.lastTransitionTime = Self.t1
        s.conditions = [c]
        let conditions = KubernetesStatusEncoder.podStatus(s)["conditions"]?.arrayValue ?? []
        #expect(conditions.count == 1)
        #expect(conditions.first?["lastTransitionTime"] == "2026-05-28T20:26:45Z")
    }

    @Test func statusFromPodStatusBuilderEncodes() {
        var main = ContainerRecord(name: "main", image: "host", run: .terminated(exitCode: 0, reason: "Completed", startedAt: 1_780_000_000_000_000_000, finishedAt: 1_780_000_001_000_000_000))
        main.containerID = "sandbox://u/main"
        let status = PodStatusBuilder.build(restartPolicy: .never, initContainers: [], containers: [main], startTime: 1_780_000_000_000_000_000)
        let json = KubernetesStatusEncoder.podStatus(status)
        #expect(json["phase"] == "Succeeded")
        let types = (json["conditions"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
        #expect(types == ["PodScheduled", "Initialized", "ContainersReady", "Ready"])
        #expect(json["containerStatuses"]?.arrayValue?.first?["state", "terminated", "exitCode"] == 0)
        #expect(json["containerStatuses"]?.arrayValue?.first?["state", "terminated", "reason"] == "Completed")
    }
}
