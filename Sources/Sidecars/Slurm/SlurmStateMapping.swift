import Foundation
import Gen
import WeftPodKit

/// A Slurm job state, as `squeue -o %T` and `scontrol show job` spell it.
public enum SlurmJobState: Sendable, Equatable, CustomStringConvertible {
    /// Waiting for resources or priority.
    case pending
    /// Allocated, nodes booting.
    case configuring
    /// Running.
    case running
    /// Finished or cancelled, processes being cleaned up.
    case completing
    /// Suspended (counts as running).
    case suspended
    /// Exited 0.
    case completed
    /// Exited non-zero or could not launch.
    case failed
    /// Reached its time limit.
    case timeout
    /// Reached its `--deadline`.
    case deadline
    /// Killed by the out-of-memory handler.
    case outOfMemory
    /// Cancelled (`scancel`).
    case cancelled
    /// Its node failed.
    case nodeFail
    /// Preempted.
    case preempted
    /// Its node failed to boot.
    case bootFail
    /// Anything else (`REQUEUED`, `RESV_DEL_HOLD`, `SIGNALING`, …), in upper case.
    case other(String)

    /// Parses the long form (case-insensitive; a trailing `+` or flags after a space are ignored).
    public init(_ text: String) {
        let word = text.split(separator: " ").first.map { String($0).uppercased() } ?? ""
        let s = word.hasSuffix("+") ? String(word.dropLast()) : word
        switch s {
        case "PENDING", "PD": self = .pending
        case "CONFIGURING", "CF": self = .configuring
        case "RUNNING", "R": self = .running
        case "COMPLETING", "CG": self = .completing
        case "SUSPENDED", "S": self = .suspended
        case "COMPLETED", "CD": self = .completed
        case "FAILED", "F": self = .failed
        case "TIMEOUT", "TO": self = .timeout
        case "DEADLINE", "DL": self = .deadline
        case "OUT_OF_MEMORY", "OOM": self = .outOfMemory
        case "CANCELLED", "CA": self = .cancelled
        case "NODE_FAIL", "NF": self = .nodeFail
        case "PREEMPTED", "PR": self = .preempted
        case "BOOT_FAIL", "BF": self = .bootFail
        default: self = .other(s)
        }
    }

    /// The long form, as squeue prints it.
    public var description: String {
        switch self {
        case .pending: "PENDING"
        case .configuring: "CONFIGURING"
        case .running: "RUNNING"
        case .completing: "COMPLETING"
        case .suspended: "SUSPENDED"
        case .completed: "COMPLETED"
        case .failed: "FAILED"
        case .timeout: "TIMEOUT"
        case .deadline: "DEADLINE"
        case .outOfMemory: "OUT_OF_MEMORY"
        case .cancelled: "CANCELLED"
        case .nodeFail: "NODE_FAIL"
        case .preempted: "PREEMPTED"
        case .bootFail: "BOOT_FAIL"
        case .other(let s): s
        }
    }

    /// True once the job has ended and its processes are gone (COMPLETING is not terminal).
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .timeout, .deadline, .outOfMemory, .cancelled, .nodeFail, .preempted, .bootFail: true
        case .other(let s): ["REVOKED", "SPECIAL_EXIT"].contains(s)
        default: false
        }
    }

    /// True while the job waits in the queue.
    public var isQueued: Bool {
        switch self {
        case .pending, .configuring: true
        case .other(let s): ["REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"].contains(s)
        default: false
        }
    }

    /// Kubernetes' reason and a message for containers (and the pod) that a job in this state
    /// stopped; nil for states whose exit codes speak for themselves (COMPLETED, FAILED).
    public var terminationReason: (reason: String, message: String)? {
        switch self {
        case .timeout: ("DeadlineExceeded", "the Slurm job reached its time limit")
        case .deadline: ("DeadlineExceeded", "the Slurm job reached its deadline")
        case .outOfMemory: ("OOMKilled", "the Slurm job ran out of memory")
        case .cancelled: ("Killed", "the Slurm job was cancelled")
        case .nodeFail, .preempted, .bootFail: ("Error", "Slurm job state \(description)")
        case .other(let s) where isTerminal: ("Error", "Slurm job state \(s)")
        default: nil
        }
    }
}

/// What the sidecar knows of a job at one moment.
public struct SlurmJobObservation: Sendable, Equatable {
    /// The job's state; nil when Slurm has forgotten the job (after MinJobAge).
    public var state: SlurmJobState?
    /// Slurm's reason (`Resources`, `Priority`, …; `None` when there is none).
    public var reason: String
    /// The job's exit code from `scontrol show job` (`ExitCode=<code>:<signal>`), when known.
    public var exitCode: Int32?
    /// The signal part of it.
    public var exitSignal: Int32?

    /// Creates an observation.
    public init(state: SlurmJobState?, reason: String = "", exitCode: Int32? = nil, exitSignal: Int32? = nil) {
        self.state = state
        self.reason = reason
        self.exitCode = exitCode
        self.exitSignal = exitSignal
    }

    /// The observation of `info`.
    public init(_ info: SlurmJobInfo) {
        self.init(state: info.state, reason: info.reason, exitCode: info.exitCode, exitSignal: info.exitSignal)
    }

    /// True when the job will not change any more (terminal or forgotten).
    public var isFinal: Bool { state?.isTerminal ?? true }
}

/// What the job script left in the pod directory for one container.
public struct ContainerFiles: Sendable, Equatable {
    /// From `<name>.started`, nanoseconds since the epoch.
    public var startedAt: Int64?
    /// From `<name>.status`.
    public var exitCode: Int32?
    /// When `<name>.status` was written.
    public var finishedAt: Int64?

    /// Creates the file state.
    public init(startedAt: Int64? = nil, exitCode: Int32? = nil, finishedAt: Int64? = nil) {
        self.startedAt = startedAt
        self.exitCode = exitCode
        self.finishedAt = finishedAt
    }
}

/// The files of a pod directory the status is derived from.
public struct PodFiles: Sendable, Equatable {
    /// From `_started`: when the job script began, nanoseconds since the epoch.
    public var jobStartedAt: Int64?
    /// By container name.
    public var containers: [String: ContainerFiles]
    /// From `_usage` (bash `times` when the script exits; the last line is the children): CPU seconds of everything the job ran.
    public var cpuSeconds: Double?

    /// Creates the file state.
    public init(jobStartedAt: Int64? = nil, containers: [String: ContainerFiles] = [:], cpuSeconds: Double? = nil) {
        self.cpuSeconds = cpuSeconds
        self.jobStartedAt = jobStartedAt
        self.containers = containers
    }

    /// Reads `_started`, `<name>.started` and `<name>.status` of `names` in `directory`.
    public static func read(directory: String, names: [String]) -> PodFiles {
        var files = PodFiles(jobStartedAt: readNumber(directory + "/" + JobLayout.startedFile),
                             cpuSeconds: readTimes(directory + "/" + JobLayout.usageFile))
        for name in names {
            var c = ContainerFiles(startedAt: readNumber("\(directory)/\(name).started"))
            let statusPath = "\(directory)/\(name).status"
            if let code = readNumber(statusPath) {
                c.exitCode = Int32(truncatingIfNeeded: code)
                if let date = (try? FileManager.default.attributesOfItem(atPath: statusPath))?[.modificationDate] as? Date {
                    c.finishedAt = Google_Protobuf_Timestamp(date: date).unixNanos
                }
            }
            files.containers[name] = c
        }
        return files
    }

    static func readTimes(_ path: String) -> Double? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return ShellTimes.childrenCPUSeconds(String(decoding: data, as: UTF8.self))
    }

    private static func readNumber(_ path: String) -> Int64? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return Int64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Turns a job observation and the pod directory's files into the pod's status.
///
/// | Slurm state | pod | containers |
/// |---|---|---|
/// | PENDING, CONFIGURING (requeued, held) | PENDING | waiting `Queued`, message = squeue reason |
/// | RUNNING, COMPLETING, SUSPENDED | RUNNING once a container started | terminated from `<name>.status`, else running from `<name>.started`, else waiting |
/// | COMPLETED, FAILED | SUCCEEDED/FAILED by exit codes | terminated from `<name>.status`; no file: the job's exit code, else 1, reason `Error` |
/// | TIMEOUT, DEADLINE | FAILED `DeadlineExceeded` | non-zero or missing exits: `DeadlineExceeded` |
/// | OUT_OF_MEMORY | FAILED `OOMKilled` | … `OOMKilled` |
/// | CANCELLED | FAILED `Killed` | … `Killed` |
/// | NODE_FAIL, PREEMPTED, BOOT_FAIL | FAILED `Error` | … `Error`, message = the state |
/// | forgotten by Slurm | from the files alone, as COMPLETED/FAILED |
///
/// Slurm runs a pod once, so restart policies are not applied: a pod whose containers have all
/// ended has ended.
public enum SlurmStatusMapper {
    /// The status of `pod` whose job `jobID` is observed as `job`, with `files` read from its directory.
    public static func status(pod: Weft_Kubelet_V1_Pod, jobID: String, job: SlurmJobObservation, files: PodFiles) -> Weft_Kubelet_V1_PodStatus {
        let spec = pod.spec
        let containerID = { (name: String) in "slurm://\(jobID)/\(name)" }
        let queuedMessage = job.reason == "None" ? "" : job.reason
        let final = job.isFinal
        let special = job.state?.terminationReason
        var initRecords: [ContainerRecord] = []
        var records: [ContainerRecord] = []
        var initFailed = false
        var initDone = true

        func run(for c: Weft_Kubelet_V1_Container, isInit: Bool) -> ContainerRun {
            if let state = job.state, state.isQueued {
                return .waiting(reason: "Queued", message: queuedMessage)
            }
            let f = files.containers[c.name] ?? ContainerFiles()
            let started = f.startedAt ?? 0
            if let code = f.exitCode {
                let finished = f.finishedAt ?? started
                if code == 0 { return .terminated(exitCode: 0, reason: "Completed", startedAt: started, finishedAt: finished) }
                let signal: Int32 = code > 128 && code < 160 ? code - 128 : 0
                if final, let special { return .terminated(exitCode: code, signal: signal, reason: special.reason, message: special.message, startedAt: started, finishedAt: finished) }
                return .terminated(exitCode: code, signal: signal, reason: "Error", startedAt: started, finishedAt: finished)
            }
            if !final {
                if f.startedAt != nil { return .running(startedAt: started) }
                return .waiting(reason: isInit || !initDone ? "PodInitializing" : "ContainerCreating")
            }
            // The job is over and the container left no exit status.
            if initFailed && f.startedAt == nil && special == nil {
                return .waiting(reason: "PodInitializing", message: "an init container failed")
            }
            var code: Int32 = 1
            if let c = job.exitCode, c != 0 { code = c } else if let s = job.exitSignal, s != 0 { code = 128 + s }
            let now = Google_Protobuf_Timestamp.now.unixNanos
            let message = special?.message ?? (job.state == nil
                ? "the Slurm job \(jobID) ended and Slurm has forgotten it; the container left no exit status"
                : "the container left no exit status; Slurm job exit code \(job.exitCode.map(String.init) ?? "unknown")")
            return .terminated(exitCode: code, signal: code > 128 && code < 160 ? code - 128 : 0, reason: special?.reason ?? "Error",
                               message: message, startedAt: started, finishedAt: max(started, now))
        }

        for c in spec.initContainers {
            let r = run(for: c, isInit: true)
            if r.isTerminated && !r.succeeded { initFailed = true }
            if !r.succeeded { initDone = false }
            initRecords.append(ContainerRecord(name: c.name, image: c.image, run: r, containerID: containerID(c.name)))
        }
        for c in spec.containers {
            records.append(ContainerRecord(name: c.name, image: c.image, run: run(for: c, isInit: false), containerID: containerID(c.name)))
        }
        var failure: (reason: String, message: String)?
        if final, let special { failure = special }
        var status = PodStatusBuilder.build(restartPolicy: .never, initContainers: initRecords, containers: records,
                                            startTime: files.jobStartedAt ?? 0, failure: failure)
        if let cpu = files.cpuSeconds { status.usage = .with { $0.cpuTime = Google_Protobuf_Duration(seconds: cpu) } }
        return status
    }

    /// The status of a pod that never reached Slurm (a configuration error or a refused
    /// submission): FAILED with `reason`, every container waiting with the same reason.
    public static func failed(pod: Weft_Kubelet_V1_Pod, reason: String, message: String) -> Weft_Kubelet_V1_PodStatus {
        let initRecords = pod.spec.initContainers.map { ContainerRecord(name: $0.name, image: $0.image, run: .waiting(reason: reason, message: message)) }
        let records = pod.spec.containers.map { ContainerRecord(name: $0.name, image: $0.image, run: .waiting(reason: reason, message: message)) }
        return PodStatusBuilder.build(restartPolicy: .never, initContainers: initRecords, containers: records, startTime: 0, failure: (reason, message))
    }

    /// The status right after submission: PENDING, every container waiting `Queued`.
    public static func queued(pod: Weft_Kubelet_V1_Pod, jobID: String) -> Weft_Kubelet_V1_PodStatus {
        status(pod: pod, jobID: jobID, job: SlurmJobObservation(state: .pending), files: PodFiles())
    }

    /// `status` after a delete: every container that had not ended is terminated with reason
    /// `Killed` (its exit code from its status file, else 137), and a pod that had not ended is
    /// FAILED `Killed`.
    public static func deleted(pod: Weft_Kubelet_V1_Pod, before: Weft_Kubelet_V1_PodStatus, after: Weft_Kubelet_V1_PodStatus,
                               files: PodFiles) -> Weft_Kubelet_V1_PodStatus {
        let now = Google_Protobuf_Timestamp.now.unixNanos
        func finish(_ statuses: [Weft_Kubelet_V1_ContainerStatus], _ beforeStatuses: [Weft_Kubelet_V1_ContainerStatus]) -> [ContainerRecord] {
            statuses.map { s in
                var rec = ContainerRecord(name: s.name, image: s.image, run: .waiting(reason: ""), containerID: s.containerId)
                let wasEnded: Bool = {
                    guard let b = beforeStatuses.first(where: { $0.name == s.name }), case .terminated? = b.state.state else { return false }
                    return true
                }()
                switch s.state.state {
                case .terminated(let t)? where wasEnded:
                    rec.run = .terminated(exitCode: t.exitCode, signal: t.signal, reason: t.reason, message: t.message,
                                          startedAt: t.startedAt.unixNanos, finishedAt: t.finishedAt.unixNanos)
                default:
                    let f = files.containers[s.name] ?? ContainerFiles()
                    let started: Int64
                    switch s.state.state {
                    case .running(let r)?: started = r.startedAt.unixNanos
                    case .terminated(let t)?: started = t.startedAt.unixNanos
                    default: started = f.startedAt ?? 0
                    }
                    let code = f.exitCode ?? 137
                    rec.run = .terminated(exitCode: code, signal: code > 128 && code < 160 ? code - 128 : 0, reason: "Killed",
                                          message: "the pod was deleted", startedAt: started, finishedAt: f.finishedAt ?? now)
                }
                return rec
            }
        }
        let wasEnded = before.phase == .succeeded || before.phase == .failed
        var status = PodStatusBuilder.build(
            restartPolicy: .never, initContainers: finish(after.initContainerStatuses, before.initContainerStatuses),
            containers: finish(after.containerStatuses, before.containerStatuses),
            startTime: after.hasStartTime ? after.startTime.unixNanos : 0,
            failure: wasEnded ? nil : ("Killed", "the pod was deleted"))
        if wasEnded {
            status.phase = before.phase
            status.reason = before.reason
            status.message = before.message
        }
        return status
    }
}
