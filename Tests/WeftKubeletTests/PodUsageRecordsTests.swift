import Foundation
import Gen
import Testing
import WeftKubelet
import WeftPodKit
import WeftProtobuf

struct PodUsageRecordsTests {
    private func finishedPod() -> PodRecord {
        var submission = Weft_Kubelet_V1_PodSubmission()
        submission.pod.metadata.name = "sim"
        submission.pod.metadata.namespace = "twins"
        submission.pod.metadata.uid = "uid-1"
        submission.pod.metadata.annotations = [PodUsageRecords.fqanKey: "/atlas/Role=production/Capability=NULL", PodUsageRecords.userKey: "/CN=alice"]
        var main = Weft_Kubelet_V1_Container()
        main.name = "main"
        main.resources.requests.cpuMillis = 1500
        main.resources.limits.memoryBytes = 2 << 30
        main.resources.limits.accelerators = ["nvidia.com/gpu": 2]
        var side = Weft_Kubelet_V1_Container()
        side.name = "side"
        side.resources.limits.cpuMillis = 500
        submission.pod.spec.containers = [main, side]
        var status = Weft_Kubelet_V1_PodStatus()
        status.phase = .succeeded
        func terminated(_ name: String, _ from: Int64, _ to: Int64) -> Weft_Kubelet_V1_ContainerStatus {
            var c = Weft_Kubelet_V1_ContainerStatus()
            c.name = name
            var t = Weft_Kubelet_V1_ContainerStateTerminated()
            t.startedAt = .init(unixNanos: from * 1_000_000_000)
            t.finishedAt = .init(unixNanos: to * 1_000_000_000)
            c.state.state = .terminated(t)
            return c
        }
        status.containerStatuses = [terminated("main", 1_764_000_000, 1_764_003_600), terminated("side", 1_764_000_010, 1_764_003_000)]
        status.usage.cpuTime = .init(seconds: 5000.4)
        status.usage.maxMemoryBytes = 1 << 30
        return PodRecord(uid: "uid-1", node: "vega", namespace: "twins", name: "sim", remoteJobID: "4711", submission: submission, status: status, state: "created")
    }

    @Test func aFinishedPodIsOneJobRecordAndOneAcceleratorRecord() {
        let records = PodUsageRecords(site: "VEGA", submitHost: "kubelet.vega", machineName: "vega01", benchmarks: ["HEPscore23": 12]).records(for: finishedPod())
        #expect(records.count == 2)
        guard case .job(let job)? = records.first?.record else { Issue.record("no job record"); return }
        #expect(job.site == "VEGA" && job.localJobId == "4711" && job.localUserId == "twins" && job.queue == "vega")
        #expect(job.fqan == "/atlas/Role=production/Capability=NULL" && job.globalUserName == "/CN=alice")
        #expect(job.wallDuration.seconds == 3600)  // earliest start to latest end
        #expect(job.cpuDuration.seconds == 5000)
        #expect(job.processors == 2)  // 1.5 + 0.5 cores
        #expect(job.memoryRealKb == 1 << 20 && job.memoryVirtualKb == 2 << 20)
        #expect(job.startTime.seconds == 1_764_000_000 && job.endTime.seconds == 1_764_003_600)
        #expect(job.serviceLevels == ["HEPscore23": 12])
        guard case .accelerator(let gpu)? = records.last?.record else { Issue.record("no accelerator record"); return }
        #expect(gpu.siteName == "VEGA" && gpu.count == 2 && gpu.model == "nvidia.com/gpu" && gpu.associatedRecord == "4711")
        #expect(gpu.availableDuration.seconds == 3600 && gpu.measurementYear == 2025 && gpu.measurementMonth == 11)
    }

    @Test func aPodThatNeverRanIsNotAccounted() {
        var pod = finishedPod()
        pod.status.containerStatuses = []
        #expect(PodUsageRecords(site: "VEGA", submitHost: "h", machineName: "m").records(for: pod).isEmpty)
    }
}
