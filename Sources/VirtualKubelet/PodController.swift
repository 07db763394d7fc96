import Foundation
import Gen
import Logging
import WeftKubernetes
import WeftPodKit
import WeftRPC

/// Keeps the kubelet API's pods for the node in step with the pods Kubernetes binds to it.
///
/// Every pod has at most one worker at a time, which drives it through its stages: create it on
/// the kubelet API (with its ConfigMaps, Secrets and tokens), and once Kubernetes marks it for
/// deletion, delete it from the kubelet API and then from Kubernetes. Failures are retried with
/// backoff; a pod Weft cannot run is marked Failed. A resync (after each list) also deletes pods
/// the kubelet API knows for the node that Kubernetes no longer has.
public actor PodController {
    enum Stage: Sendable, Equatable {
        /// Seen in Kubernetes, not yet on the kubelet API.
        case new
        /// Waiting for a missing ConfigMap or Secret (the message last patched).
        case configError(String)
        /// On the kubelet API (created or adopted); its status is forwarded.
        case created
        /// Cannot run; marked Failed in Kubernetes.
        case failed
        /// Deleted from the kubelet API; still to be removed from Kubernetes.
        case deletedFromAPI
        /// Removed from Kubernetes; waiting for the DELETED event.
        case removed
    }

    struct Tracked {
        var object: JSONValue
        var namespace: String
        var name: String
        var gone = false
        var stage = Stage.new
        var deleting: Bool { object["metadata", "deletionTimestamp"] != nil }
    }

    private let kubelet: Weft_Kubelet_V1_KubeletService.Client
    private let client: KubernetesClient
    private let builder: PodSubmissionBuilder
    private let forwarder: StatusForwarder
    private let node: String
    private let hostIP: String
    private let callTimeout: Duration
    private let logger: Logger
    private var tracked: [String: Tracked] = [:]
    private var workers: [String: Task<Void, Never>] = [:]
    private var dirty: Set<String> = []

    /// Creates a controller for `node`.
    public init(kubelet: Weft_Kubelet_V1_KubeletService.Client, client: KubernetesClient, forwarder: StatusForwarder,
                node: String, hostIP: String, callTimeout: Duration = .seconds(60), logger: Logger) {
        self.kubelet = kubelet
        self.client = client
        self.builder = PodSubmissionBuilder(client: client, logger: logger)
        self.forwarder = forwarder
        self.node = node
        self.hostIP = hostIP
        self.callTimeout = callTimeout
        self.logger = logger
    }

    deinit { for w in workers.values { w.cancel() } }

    // MARK: Input from the informer

    /// Takes a full list of the node's pods: pods not in it are gone; pods the kubelet API knows
    /// for the node that are neither listed nor tracked are deleted from it.
    public func resync(_ pods: [JSONValue]) async {
        let listed = Set(pods.compactMap { $0["metadata", "uid"]?.stringValue })
        for (uid, t) in tracked where !listed.contains(uid) && !t.gone {
            tracked[uid]?.gone = true
            kick(uid)
        }
        for p in pods { upsert(p) }
        await deleteOrphans(keeping: listed)
    }

    /// Takes an ADDED or MODIFIED pod.
    public func upsert(_ pod: JSONValue) {
        guard let uid = pod["metadata", "uid"]?.stringValue, let name = pod["metadata", "name"]?.stringValue else {
            logger.warning("ignoring a pod without metadata.uid or metadata.name")
            return
        }
        if var t = tracked[uid] {
            let wasDeleting = t.deleting
            t.object = pod
            t.gone = false
            tracked[uid] = t
            if t.deleting && !wasDeleting { kick(uid) }
            return
        }
        let namespace = pod["metadata", "namespace"]?.stringValue ?? "default"
        tracked[uid] = Tracked(object: pod, namespace: namespace, name: name)
        kick(uid)
    }

    /// Takes a DELETED pod.
    public func remove(_ pod: JSONValue) {
        guard let uid = pod["metadata", "uid"]?.stringValue, tracked[uid] != nil else { return }
        tracked[uid]?.gone = true
        kick(uid)
    }

    /// UIDs of the pods being tracked (for tests and logs).
    public var trackedUIDs: Set<String> { Set(tracked.keys) }

    // MARK: Workers

    private func kick(_ uid: String) {
        dirty.insert(uid)
        guard workers[uid] == nil else { return }
        workers[uid] = Task { await self.work(uid) }
    }

    private func work(_ uid: String) async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            dirty.remove(uid)
            if await reconcile(uid) {
                if dirty.contains(uid) { continue }
                break
            }
            // Not done: retry after a backoff, sooner if a new event arrives.
            let clock = ContinuousClock()
            let until = clock.now + delay
            while clock.now < until, !dirty.contains(uid), !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
            }
            delay = min(delay * 2, .seconds(30))
        }
        workers[uid] = nil
    }

    /// One step towards the pod's desired state; false to retry later.
    private func reconcile(_ uid: String) async -> Bool {
        guard let t = tracked[uid] else { return true }
        let label = "\(t.namespace)/\(t.name)"
        do {
            if t.gone {
                if t.stage != .deletedFromAPI && t.stage != .removed { try await deleteFromAPI(uid, t) }
                tracked[uid] = nil
                await forwarder.untrack(uid: uid)
                return true
            }
            if t.deleting {
                if t.stage != .deletedFromAPI && t.stage != .removed {
                    try await deleteFromAPI(uid, t)
                    tracked[uid]?.stage = .deletedFromAPI
                }
                if tracked[uid]?.stage == .deletedFromAPI {
                    try await removeFromKubernetes(uid, t)
                    tracked[uid]?.stage = .removed
                }
                return true
            }
            switch t.stage {
            case .new, .configError:
                return try await create(uid, t)
            default:
                return true
            }
        } catch {
            logger.warning("pod sync failed; retrying", metadata: ["pod": "\(label)", "error": "\(error)"])
            return false
        }
    }

    private func create(_ uid: String, _ t: Tracked) async throws -> Bool {
        let label = "\(t.namespace)/\(t.name)"
        let pod: Weft_Kubelet_V1_Pod
        do {
            pod = try PodSubmissionBuilder.decodePod(t.object)
        } catch {
            logger.error("cannot offload pod; marking it Failed", metadata: ["pod": "\(label)", "error": "\(error.message)"])
            try await forwarder.patchDirectly(uid: uid, namespace: t.namespace, name: t.name,
                                              StatusPatch.failed(reason: "UnsupportedPod", message: error.message, spec: nil, hostIP: hostIP))
            tracked[uid]?.stage = .failed
            return true
        }
        let phase = t.object["status", "phase"]?.stringValue
        if phase == "Succeeded" || phase == "Failed" {
            // Finished pods are never run again; the kubelet API's status (if it knows the pod) is forwarded.
            await forwarder.track(uid: uid, namespace: t.namespace, name: t.name, spec: pod.spec, current: t.object["status"])
            tracked[uid]?.stage = .created
            return true
        }
        let submission: Weft_Kubelet_V1_PodSubmission
        do {
            submission = try await builder.submission(for: pod)
        } catch let missing as MissingReferenceError {
            let message = missing.description
            if t.stage != .configError(message) {
                logger.warning("pod references a missing object; waiting for it", metadata: ["pod": "\(label)", "missing": "\(message)"])
                try await forwarder.patchDirectly(uid: uid, namespace: t.namespace, name: t.name,
                                                  StatusPatch.configError(message, spec: pod.spec, hostIP: hostIP))
                tracked[uid]?.stage = .configError(message)
            }
            return false
        } catch let e as PodConversionError {
            logger.error("cannot offload pod; marking it Failed", metadata: ["pod": "\(label)", "error": "\(e.message)"])
            try await forwarder.patchDirectly(uid: uid, namespace: t.namespace, name: t.name,
                                              StatusPatch.failed(reason: "UnsupportedPod", message: e.message, spec: pod.spec, hostIP: hostIP))
            tracked[uid]?.stage = .failed
            return true
        }
        var request = Weft_Kubelet_V1_CreatePodRequest()
        request.nodeName = node
        request.submission = submission
        await forwarder.track(uid: uid, namespace: t.namespace, name: t.name, spec: pod.spec, current: t.object["status"])
        do {
            let response = try await kubelet.createPod(request, options: CallOptions(timeout: callTimeout))
            logger.info(response.created ? "pod created on the kubelet API" : "pod adopted (the kubelet API already has it)",
                        metadata: ["pod": "\(label)", "uid": "\(uid)", "job": "\(response.remoteJobId)"])
            tracked[uid]?.stage = .created
            return true
        } catch let e as RPCError where Self.isPermanent(e.code) {
            logger.error("the kubelet API refused the pod; marking it Failed", metadata: ["pod": "\(label)", "code": "\(e.code)", "message": "\(e.message)"])
            await forwarder.untrack(uid: uid)
            try await forwarder.patchDirectly(uid: uid, namespace: t.namespace, name: t.name,
                                              StatusPatch.failed(reason: "SubmissionFailed", message: e.message, spec: pod.spec, hostIP: hostIP))
            tracked[uid]?.stage = .failed
            return true
        }
    }

    static func isPermanent(_ code: StatusCode) -> Bool {
        code == .invalidArgument || code == .alreadyExists || code == .failedPrecondition || code == .permissionDenied || code == .unimplemented
    }

    private func deleteFromAPI(_ uid: String, _ t: Tracked) async throws {
        var request = Weft_Kubelet_V1_DeletePodRequest()
        request.nodeName = node
        request.pod.uid = uid
        request.pod.namespace = t.namespace
        request.pod.name = t.name
        let grace = t.object["metadata", "deletionGracePeriodSeconds"]?.intValue
            ?? t.object["spec", "terminationGracePeriodSeconds"]?.intValue ?? 30
        request.gracePeriod = .init(seconds: Double(max(0, grace)))
        let response = try await kubelet.deletePod(request, options: CallOptions(timeout: callTimeout + .seconds(grace)))
        await forwarder.untrack(uid: uid)
        if response.found {
            logger.info("pod deleted from the kubelet API", metadata: ["pod": "\(t.namespace)/\(t.name)", "uid": "\(uid)", "grace": "\(grace)s"])
            if response.hasFinalStatus, !t.gone {
                let pod = try? PodSubmissionBuilder.decodePod(t.object)
                do {
                    try await forwarder.patchDirectly(uid: uid, namespace: t.namespace, name: t.name,
                                                      StatusPatch.make(response.finalStatus, spec: pod?.spec, hostIP: hostIP))
                } catch {
                    logger.debug("cannot write the final status of a deleted pod", metadata: ["pod": "\(t.namespace)/\(t.name)", "error": "\(error)"])
                }
            }
        }
    }

    private func removeFromKubernetes(_ uid: String, _ t: Tracked) async throws {
        let options: JSONValue = ["apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]]
        do {
            _ = try await client.delete("/api/v1/namespaces/\(t.namespace)/pods/\(t.name)", options: options)
            logger.info("pod removed from Kubernetes", metadata: ["pod": "\(t.namespace)/\(t.name)"])
        } catch let e as KubernetesAPIError where e.isNotFound || e.isConflict {
            // Already gone, or a new pod of the same name (the UID precondition failed).
        }
    }

    /// Deletes from the kubelet API every pod of the node whose UID is neither in `keeping` nor tracked.
    private func deleteOrphans(keeping listed: Set<String>) async {
        var known: [Weft_Kubelet_V1_ListedPod] = []
        var request = Weft_Kubelet_V1_ListPodsRequest()
        request.nodeName = node
        request.pageSize = 1000
        do {
            repeat {
                let page = try await kubelet.listPods(request, options: CallOptions(timeout: callTimeout))
                known += page.pods
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
        } catch {
            logger.warning("cannot list the kubelet API's pods to find orphans", metadata: ["error": "\(error)"])
            return
        }
        for p in known {
            let meta = p.pod.metadata
            guard !listed.contains(meta.uid), tracked[meta.uid] == nil else { continue }
            var d = Weft_Kubelet_V1_DeletePodRequest()
            d.nodeName = node
            d.pod.uid = meta.uid
            d.pod.namespace = meta.namespace
            d.pod.name = meta.name
            do {
                _ = try await kubelet.deletePod(d, options: CallOptions(timeout: callTimeout + .seconds(30)))
                logger.info("deleted a pod Kubernetes no longer has from the kubelet API", metadata: ["pod": "\(meta.namespace)/\(meta.name)", "uid": "\(meta.uid)"])
            } catch {
                logger.warning("cannot delete an orphaned pod from the kubelet API", metadata: ["pod": "\(meta.namespace)/\(meta.name)", "error": "\(error)"])
            }
        }
    }
}
