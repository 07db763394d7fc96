import Foundation
import Gen
import WeftPodKit
import WeftProtobuf

/// Turns a finished pod into APEL usage records: one individual job record and, when the pod asked
/// for accelerators, one accelerator record. The kubelet API hands them to the accounting
/// publisher, so every pod that ran on a sidecar shows up in the summaries.
///
/// Who the usage belongs to comes from the pod: the annotations `accounting.weft.io/user`
/// (GlobalUserName), `accounting.weft.io/fqan` (FQAN; VO, group and role follow from it) and
/// `accounting.weft.io/vo`, else the same keys as labels; the local user is the namespace.
public struct PodUsageRecords: Sendable {
    /// The site the records belong to (GOCDB name).
    public var site: String
    /// The submit host, e.g. "weft-kubelet.vega.example.org".
    public var submitHost: String
    /// The machine that ran the pods.
    public var machineName: String
    /// Per-core benchmark values of the nodes by benchmark type (e.g. `HEPscore23: 12.3`), if known.
    public var benchmarks: [String: Double]

    /// Annotation and label keys.
    public static let userKey = "accounting.weft.io/user"
    /// FQAN key.
    public static let fqanKey = "accounting.weft.io/fqan"
    /// VO key.
    public static let voKey = "accounting.weft.io/vo"

    /// Creates the converter.
    public init(site: String, submitHost: String, machineName: String, benchmarks: [String: Double] = [:]) {
        self.site = site
        self.submitHost = submitHost
        self.machineName = machineName
        self.benchmarks = benchmarks
    }

    /// The records of `pod`; empty when no container ran (nothing to account).
    public func records(for pod: PodRecord) -> [Weft_Accounting_V1_UsageRecord] {
        let status = pod.status
        let runs = (status.initContainerStatuses + status.containerStatuses).compactMap { s -> Weft_Kubelet_V1_ContainerStateTerminated? in
            if case .terminated(let t)? = s.state.state { return t }
            return nil
        }
        let started = runs.filter(\.hasStartedAt).map(\.startedAt.unixNanos).min()
        let finished = runs.filter(\.hasFinishedAt).map(\.finishedAt.unixNanos).max()
        guard let started, let finished, finished >= started else { return [] }
        let meta = pod.submission.pod.metadata
        func attribute(_ key: String) -> String { meta.annotations[key] ?? meta.labels[key] ?? "" }
        let containers = pod.submission.pod.spec.initContainers + pod.submission.pod.spec.containers
        let millicores = pod.submission.pod.spec.containers.reduce(Int64(0)) { sum, c in
            sum + max(c.resources.requests.cpuMillis, c.resources.limits.cpuMillis)
        }
        let memoryLimit = containers.reduce(Int64(0)) { $0 + $1.resources.limits.memoryBytes }
        let localJobID = pod.remoteJobID.isEmpty ? meta.uid : pod.remoteJobID
        let start = Google_Protobuf_Timestamp(unixNanos: started), end = Google_Protobuf_Timestamp(unixNanos: finished)
        let wallSeconds = Double(finished - started) / 1e9

        var job = Weft_Accounting_V1_JobRecord()
        job.site = site
        job.submitHost = submitHost
        job.machineName = machineName
        job.queue = pod.node
        job.localJobId = localJobID
        job.localUserId = meta.namespace
        job.globalUserName = attribute(Self.userKey)
        job.fqan = attribute(Self.fqanKey)
        job.vo = attribute(Self.voKey)
        job.wallDuration = .with { $0.seconds = Int64(wallSeconds.rounded()) }
        job.cpuDuration = .with { $0.seconds = Int64(status.usage.cpuTime.timeInterval.rounded()) }
        job.processors = Int32(clamping: max(1, (millicores + 999) / 1000))
        job.nodeCount = 1
        job.startTime = .with { $0.seconds = start.seconds }
        job.endTime = .with { $0.seconds = end.seconds }
        job.infrastructureDescription = "weft-kubelet"
        job.infrastructureType = "grid"
        job.memoryRealKb = status.usage.maxMemoryBytes / 1024
        job.memoryVirtualKb = memoryLimit / 1024
        job.serviceLevels = benchmarks
        var records = [Weft_Accounting_V1_UsageRecord.with { $0.record = .job(job); $0.format = .jobV04 }]

        var devices: [String: Int64] = [:]
        for c in pod.submission.pod.spec.containers { for (name, n) in c.resources.limits.accelerators where n > 0 { devices[name, default: 0] += n } }
        for (model, count) in devices.sorted(by: { $0.key < $1.key }) {
            let month = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: end.date)
            var a = Weft_Accounting_V1_AcceleratorRecord()
            a.siteName = site
            a.measurementMonth = Int32(month.month ?? 1)
            a.measurementYear = Int32(month.year ?? 1970)
            a.associatedRecordType = "job"
            a.associatedRecord = localJobID
            a.globalUserName = job.globalUserName
            a.fqan = job.fqan
            a.count = Double(count)
            // The pod held the devices for its whole run; how busy they were is not measured.
            a.availableDuration = .with { $0.seconds = Int64(wallSeconds.rounded()) }
            a.activeDuration = a.availableDuration
            a.acceleratorType = "GPU"
            a.model = model
            records.append(.with { $0.record = .accelerator(a); $0.format = .acceleratorV01 })
        }
        return records
    }
}
