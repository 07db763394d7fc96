import Gen

/// What a backend knows about one container run.
public enum ContainerRun: Sendable, Equatable {
    /// Not started; `reason` is Kubernetes' (`ContainerCreating`, `PodInitializing`, `Queued`, …).
    case waiting(reason: String, message: String = "")
    /// Started at the given time (nanoseconds since the epoch).
    case running(startedAt: Int64)
    /// Finished.
    case terminated(exitCode: Int32, signal: Int32 = 0, reason: String, message: String = "", startedAt: Int64, finishedAt: Int64)

    /// Kubernetes' reason for an exit: `Completed` for 0, `Error` otherwise.
    public static func exitReason(_ code: Int32) -> String { code == 0 ? "Completed" : "Error" }

    /// True for a terminated run with exit code 0 and no signal.
    public var succeeded: Bool {
        if case .terminated(let code, let signal, _, _, _, _) = self { return code == 0 && signal == 0 }
        return false
    }

    /// True for any terminated run.
    public var isTerminated: Bool {
        if case .terminated = self { return true }
        return false
    }

    /// True for a running container.
    public var isRunning: Bool {
        if case .running = self { return true }
        return false
    }

    /// The run as a `ContainerState`.
    public var state: Weft_Kubelet_V1_ContainerState {
        var s = Weft_Kubelet_V1_ContainerState()
        switch self {
        case .waiting(let reason, let message):
            var w = Weft_Kubelet_V1_ContainerStateWaiting()
            w.reason = reason
            w.message = message
            s.waiting = w
        case .running(let started):
            var r = Weft_Kubelet_V1_ContainerStateRunning()
            r.startedAt = .init(unixNanos: started)
            s.running = r
        case .terminated(let code, let signal, let reason, let message, let started, let finished):
            var t = Weft_Kubelet_V1_ContainerStateTerminated()
            t.exitCode = code
            t.signal = signal
            t.reason = reason
            t.message = message
            if started > 0 { t.startedAt = .init(unixNanos: started) }
            t.finishedAt = .init(unixNanos: finished)
            s.terminated = t
        }
        return s
    }
}

/// One container's run with its history, as a backend tracks it.
public struct ContainerRecord: Sendable, Equatable {
    /// Container name.
    public var name: String
    /// Image as the pod names it.
    public var image: String
    /// The current run.
    public var run: ContainerRun
    /// The previous run, after a restart.
    public var lastTermination: ContainerRun?
    /// Restarts so far.
    public var restartCount: Int32 = 0
    /// Backend identifier, e.g. `sandbox://<uid>/<name>`.
    public var containerID: String = ""

    /// Creates a record.
    public init(name: String, image: String, run: ContainerRun, containerID: String = "") {
        self.name = name
        self.image = image
        self.run = run
        self.containerID = containerID
    }

    /// The record as a `ContainerStatus`.
    public var status: Weft_Kubelet_V1_ContainerStatus {
        var s = Weft_Kubelet_V1_ContainerStatus()
        s.name = name
        s.image = image
        s.state = run.state
        if let last = lastTermination { s.lastTerminationState = last.state }
        s.restartCount = restartCount
        s.containerId = containerID
        s.ready = run.isRunning
        s.started = run.isRunning || run.isTerminated
        return s
    }
}

/// Derives a pod's status from its containers as the kubelet does (phase and conditions).
public enum PodStatusBuilder {
    /// The pod status for these container records. `failure` overrides the phase with FAILED and
    /// a reason (a submission error, a deleted pod).
    public static func build(
        restartPolicy: Weft_Kubelet_V1_RestartPolicy,
        initContainers: [ContainerRecord], containers: [ContainerRecord],
        startTime: Int64, failure: (reason: String, message: String)? = nil
    ) -> Weft_Kubelet_V1_PodStatus {
        var status = Weft_Kubelet_V1_PodStatus()
        status.initContainerStatuses = initContainers.map(\.status)
        status.containerStatuses = containers.map(\.status)
        if startTime > 0 { status.startTime = .init(unixNanos: startTime) }
        status.hostIp = "127.0.0.1"
        let initFailed = initContainers.contains { $0.run.isTerminated && !$0.run.succeeded }
        let initialized = initContainers.allSatisfy(\.run.succeeded)
        let never = restartPolicy == .never
        let allTerminated = !containers.isEmpty && containers.allSatisfy(\.run.isTerminated)
        let anyFailed = containers.contains { $0.run.isTerminated && !$0.run.succeeded }
        if let failure {
            status.phase = .failed
            status.reason = failure.reason
            status.message = failure.message
        } else if initFailed && never {
            status.phase = .failed
            status.reason = "InitContainerFailed"
        } else if !initialized {
            status.phase = .pending
        } else if allTerminated && (never || restartPolicy == .onFailure && !anyFailed || restartPolicy == .unspecified) {
            // UNSPECIFIED is treated as the API default ALWAYS by Kubernetes; batch backends run
            // once, so a finished pod ends here rather than restarting forever.
            status.phase = anyFailed ? .failed : .succeeded
        } else if containers.contains(where: { $0.run.isRunning || $0.run.isTerminated }) {
            status.phase = .running
        } else {
            status.phase = .pending
        }
        let now = Google_Protobuf_Timestamp.now
        func condition(_ type: Weft_Kubelet_V1_PodConditionType, _ holds: Bool, reason: String = "") -> Weft_Kubelet_V1_PodCondition {
            var c = Weft_Kubelet_V1_PodCondition()
            c.conditionType = type
            c.status = holds ? .isTrue : .isFalse
            c.reason = holds ? "" : reason
            c.lastTransitionTime = now
            return c
        }
        let ready = !containers.isEmpty && containers.allSatisfy(\.run.isRunning)
        let finishedReason = status.phase == .succeeded || status.phase == .failed ? "PodCompleted" : "ContainersNotReady"
        status.conditions = [
            condition(.podScheduled, true),
            condition(.initialized, initialized, reason: "ContainersNotInitialized"),
            condition(.containersReady, ready, reason: finishedReason),
            condition(.ready, ready, reason: finishedReason),
        ]
        return status
    }

    /// The semantic part of a status, without times that change on every build: two statuses with
    /// equal keys are the same for watchers.
    public static func changeKey(_ s: Weft_Kubelet_V1_PodStatus) -> Weft_Kubelet_V1_PodStatus {
        var k = s
        for i in k.conditions.indices { k.conditions[i].clearLastTransitionTime(); k.conditions[i].clearLastProbeTime() }
        return k
    }
}

extension Google_Protobuf_Timestamp {
    /// The timestamp `unixNanos` nanoseconds after the epoch.
    public init(unixNanos: Int64) {
        self.init()
        seconds = unixNanos >= 0 ? unixNanos / 1_000_000_000 : (unixNanos - 999_999_999) / 1_000_000_000
        nanos = Int32(unixNanos - seconds * 1_000_000_000)
    }
}
