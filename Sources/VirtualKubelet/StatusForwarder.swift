import Foundation
import Gen
import Logging
import WeftKubernetes
import WeftRPC

/// Follows the kubelet API's `WatchPodStatuses` stream for the node and writes each change to the
/// pod's status in Kubernetes (`PATCH …/pods/NAME/status`, merge patch).
///
/// Only pods the pod controller has handed over with ``track(uid:namespace:name:spec:)`` are
/// patched, so a report never lands on another pod of the same name. Patches are latest-wins per
/// pod and skipped when nothing changed; the stream reconnects with backoff and resumes after the
/// last revision it saw.
public actor StatusForwarder {
    private struct Target {
        var namespace: String
        var name: String
        var spec: Weft_Kubelet_V1_PodSpec?
    }

    private let kubelet: Weft_Kubelet_V1_KubeletService.Client
    private let client: KubernetesClient
    private let node: String
    private let hostIP: String
    private let logger: Logger
    private var targets: [String: Target] = [:]
    private var reports: [String: Weft_Kubelet_V1_PodStatus] = [:]
    private var patched: [String: JSONValue] = [:]
    private var dirty: [String] = []
    private var flushing = false
    private var revision: Int64?
    private var received = false

    /// Creates a forwarder for `node`'s pods.
    public init(kubelet: Weft_Kubelet_V1_KubeletService.Client, client: KubernetesClient, node: String, hostIP: String, logger: Logger) {
        self.kubelet = kubelet
        self.client = client
        self.node = node
        self.hostIP = hostIP
        self.logger = logger
    }

    /// Starts patching the Kubernetes pod `namespace/name` with the status of pod `uid`;
    /// `current` is the pod's status in Kubernetes (its condition times are kept while unchanged).
    public func track(uid: String, namespace: String, name: String, spec: Weft_Kubelet_V1_PodSpec?, current: JSONValue? = nil) {
        let isNew = targets[uid] == nil
        targets[uid] = Target(namespace: namespace, name: name, spec: spec)
        if isNew, patched[uid] == nil, let current { patched[uid] = ["status": current] }
        if isNew, reports[uid] != nil { markDirty(uid) }
    }

    /// Stops patching pod `uid` (it was deleted).
    public func untrack(uid: String) {
        targets[uid] = nil
        reports[uid] = nil
        patched[uid] = nil
    }

    /// The last status reported for `uid`, if any.
    public func lastReport(uid: String) -> Weft_Kubelet_V1_PodStatus? { reports[uid] }

    /// Follows the status stream until cancelled.
    public func run() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            var request = Weft_Kubelet_V1_WatchPodStatusesRequest()
            request.nodeName = node
            if let revision { request.resumeAfterRevision = revision }
            received = false
            do {
                try await Self.follow(kubelet, request) { message in await self.receive(message) }
                logger.debug("the kubelet API ended the status stream; watching again")
            } catch {
                if Task.isCancelled { return }
                if let e = error as? RPCError, e.code == .resourceExhausted || e.code == .outOfRange { revision = nil }
                logger.warning("lost the kubelet API's status stream; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
            }
            if received { delay = .milliseconds(100) }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// Reads one status stream, outside the actor, handing each message to `handle`.
    private nonisolated static func follow(_ kubelet: Weft_Kubelet_V1_KubeletService.Client, _ request: Weft_Kubelet_V1_WatchPodStatusesRequest,
                                           _ handle: @escaping @Sendable (Weft_Kubelet_V1_WatchPodStatusesResponse) async -> Void) async throws {
        try await kubelet.watchPodStatuses(request) { stream in
            for try await message in stream { await handle(message) }
        }
    }

    private func receive(_ m: Weft_Kubelet_V1_WatchPodStatusesResponse) {
        received = true
        if m.revision > 0 { revision = m.revision }
        switch m.changeType {
        case .synced, .unspecified:
            return
        case .deleted:
            reports[m.report.pod.uid] = nil
        default:
            let uid = m.report.pod.uid
            reports[uid] = m.report.status
            if targets[uid] != nil { markDirty(uid) }
        }
    }

    private func markDirty(_ uid: String) {
        if !dirty.contains(uid) { dirty.append(uid) }
        guard !flushing else { return }
        flushing = true
        Task { await self.flush() }
    }

    private func flush() async {
        while !dirty.isEmpty {
            let uid = dirty.removeFirst()
            guard let target = targets[uid], let status = reports[uid] else { continue }
            let patch = StatusPatch.make(status, spec: target.spec, hostIP: hostIP, previous: patched[uid])
            if patched[uid] == patch { continue }
            do {
                _ = try await client.patch("/api/v1/namespaces/\(target.namespace)/pods/\(target.name)/status", patch)
                if targets[uid] != nil { patched[uid] = patch }
                logger.debug("patched pod status", metadata: ["pod": "\(target.namespace)/\(target.name)", "phase": "\(KubernetesStatusEncoder.phase(status.phase))"])
            } catch let e as KubernetesAPIError where e.isNotFound {
                logger.debug("the pod is gone from Kubernetes; not patching its status", metadata: ["pod": "\(target.namespace)/\(target.name)"])
            } catch {
                logger.warning("cannot patch pod status; retrying", metadata: ["pod": "\(target.namespace)/\(target.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                if targets[uid] != nil, !dirty.contains(uid) { dirty.append(uid) }
            }
        }
        flushing = false
    }

    /// Writes a patch the pod controller made (config errors, failures) and remembers it, so the
    /// next report is compared with what Kubernetes now shows.
    public func patchDirectly(uid: String, namespace: String, name: String, _ patch: JSONValue) async throws {
        _ = try await client.patch("/api/v1/namespaces/\(namespace)/pods/\(name)/status", patch)
        patched[uid] = patch
    }
}
