import Gen
import WeftPodKit

/// A status change for watchers.
typealias PodChange = PodStatusChange

/// One pod the sidecar manages.
struct TrackedPod: Sendable {
    var submission: Weft_Kubelet_V1_PodSubmission
    var directory: String
    /// Empty until sbatch answered (and for pods that never reached Slurm).
    var jobID: String
    var status: Weft_Kubelet_V1_PodStatus
    /// The status will not change any more; the pod is no longer polled.
    var final: Bool
    /// A DeletePod is under way.
    var deleting = false
    /// The poll round that produced `status` (older rounds are ignored).
    var round: UInt64 = 0

    var uid: String { submission.pod.metadata.uid }

    var ref: Weft_Kubelet_V1_PodRef {
        var r = Weft_Kubelet_V1_PodRef()
        r.name = submission.pod.metadata.name
        r.namespace = submission.pod.metadata.namespace
        r.uid = submission.pod.metadata.uid
        return r
    }

    var report: Weft_Kubelet_V1_PodStatusReport {
        var r = Weft_Kubelet_V1_PodStatusReport()
        r.pod = ref
        r.remoteJobId = jobID
        r.status = status
        r.observeTime = .now
        return r
    }
}

/// What a poll round looks at for one pod.
struct PollTarget: Sendable {
    var uid: String
    var jobID: String
    var pod: Weft_Kubelet_V1_Pod
    var directory: String
}

/// The sidecar's pods, and the publishing of their changes: every change is published from
/// inside the actor, so a watcher's snapshot and the changes after it are consistently ordered.
actor PodTable {
    private var pods: [String: TrackedPod] = [:]
    private var published: [String: Weft_Kubelet_V1_PodStatus] = [:]
    private var creating: [String: Task<Weft_Sidecar_V1_CreatePodResponse, any Error>] = [:]
    private var nextRound: UInt64 = 1
    let changes: Broadcaster<PodChange>

    init(changes: Broadcaster<PodChange>) { self.changes = changes }

    enum Claim {
        case existing(Weft_Sidecar_V1_CreatePodResponse)
        case inFlight(Task<Weft_Sidecar_V1_CreatePodResponse, any Error>)
        case started(Task<Weft_Sidecar_V1_CreatePodResponse, any Error>)
    }

    /// The pod if known, the create in progress if one is, else a new create running `body`.
    func claim(uid: String, body: @escaping @Sendable () async throws -> Weft_Sidecar_V1_CreatePodResponse) -> Claim {
        if let p = pods[uid] {
            var r = Weft_Sidecar_V1_CreatePodResponse()
            r.pod = p.ref
            r.remoteJobId = p.jobID
            r.status = p.status
            r.created = false
            return .existing(r)
        }
        if let t = creating[uid] { return .inFlight(t) }
        let t = Task { try await body() }
        creating[uid] = t
        return .started(t)
    }

    /// The create of `uid` under way, if any.
    func pendingCreate(uid: String) -> Task<Weft_Sidecar_V1_CreatePodResponse, any Error>? { creating[uid] }

    /// Ends a create that failed before the pod was added.
    func abandon(uid: String) { creating[uid] = nil }

    /// Adds a pod (at create or when restoring) and publishes it as ADDED.
    func add(_ pod: TrackedPod, publish: Bool = true) {
        pods[pod.uid] = pod
        creating[pod.uid] = nil
        published[pod.uid] = PodStatusBuilder.changeKey(pod.status)
        if publish { changes.publish(PodChange(type: .added, report: pod.report)) }
    }

    func get(_ uid: String) -> TrackedPod? { pods[uid] }

    var all: [TrackedPod] { pods.values.sorted { $0.uid < $1.uid } }

    var count: Int { pods.count }

    /// Starts a poll round: the pods whose status may still change.
    func beginRound() -> (UInt64, [PollTarget], adopt: [PollTarget]) {
        let round = nextRound
        nextRound += 1
        var targets: [PollTarget] = []
        var adopt: [PollTarget] = []
        for p in pods.values where !p.final {
            let t = PollTarget(uid: p.uid, jobID: p.jobID, pod: p.submission.pod, directory: p.directory)
            if p.jobID.isEmpty { adopt.append(t) } else { targets.append(t) }
        }
        return (round, targets, adopt)
    }

    /// Records a status computed in `round`; publishes MODIFIED and returns true when it changed.
    func apply(uid: String, round: UInt64, status: Weft_Kubelet_V1_PodStatus, final: Bool) -> Bool {
        guard var p = pods[uid], !p.final, round >= p.round else { return false }
        p.round = round
        p.status = status
        p.final = final
        pods[uid] = p
        let key = PodStatusBuilder.changeKey(status)
        guard published[uid] != key else { return false }
        published[uid] = key
        changes.publish(PodChange(type: .modified, report: p.report))
        return true
    }

    /// Sets the job id of a pod restored without one (found by its job name).
    func adopt(uid: String, jobID: String) {
        pods[uid]?.jobID = jobID
    }

    /// Marks a pod as being deleted; returns it unless it is unknown.
    func beginDelete(uid: String) -> TrackedPod? {
        guard pods[uid] != nil else { return nil }
        pods[uid]?.deleting = true
        return pods[uid]
    }

    /// Forgets a pod and publishes DELETED with its final status.
    func remove(uid: String, finalStatus: Weft_Kubelet_V1_PodStatus) {
        guard var p = pods.removeValue(forKey: uid) else { return }
        published[uid] = nil
        p.status = finalStatus
        changes.publish(PodChange(type: .deleted, report: p.report))
    }
}
