import Foundation
import Gen
import Logging
import WeftKubernetes
import WeftPodKit
import WeftRPC

/// Registers the virtual node and keeps its status current: capacity, allocatable, taints and
/// labels from the kubelet API's Ping, and a Ready condition that is True while the kubelet API
/// and its sidecar answer.
public actor NodeController {
    private let kubelet: Weft_Kubelet_V1_KubeletService.Client
    private let client: KubernetesClient
    private let identity: NodeObjects.Identity
    private let pingTimeout: Duration
    private let logger: Logger
    private var ready = NodeObjects.ReadyState(ready: false, since: .now)
    private var announced = false
    /// The node's UID once registered.
    public private(set) var nodeUID: String?

    /// Creates a controller for the node `identity`.
    public init(kubelet: Weft_Kubelet_V1_KubeletService.Client, client: KubernetesClient, identity: NodeObjects.Identity,
                pingTimeout: Duration = .seconds(10), logger: Logger) {
        self.kubelet = kubelet
        self.client = client
        self.identity = identity
        self.pingTimeout = pingTimeout
        self.logger = logger
    }

    private var path: String { "/api/v1/nodes/\(identity.name)" }

    /// The kubelet API's Ping, or the reason it failed.
    private func ping() async -> (Weft_Kubelet_V1_PingResponse?, String?) {
        var request = Weft_Kubelet_V1_PingRequest()
        request.nodeName = identity.name
        request.kubeletVersion = NodeObjects.kubeletVersion
        do {
            let response = try await kubelet.ping(request, options: CallOptions(timeout: pingTimeout))
            return (response, nil)
        } catch let e as RPCError {
            return (nil, "\(e.code): \(e.message)")
        } catch {
            return (nil, "\(error)")
        }
    }

    private func observe(_ ping: Weft_Kubelet_V1_PingResponse?, _ error: String?) {
        let r = NodeObjects.readiness(ping: ping, pingError: error)
        let next = ready.next(ready: r.ready, at: .now)
        if next != ready || !announced {
            announced = true
            if r.ready { logger.info("node is Ready", metadata: ["node": "\(identity.name)"]) } else {
                logger.warning("node is not Ready", metadata: ["node": "\(identity.name)", "reason": "\(r.message)"])
            }
        }
        ready = next
    }

    /// Creates the node if it does not exist (with labels, taints and status), or adds Weft's
    /// labels and taints to the existing one; returns its UID. Retries until it succeeds or the
    /// task is cancelled.
    public func register() async throws -> String {
        var delay = Duration.seconds(1)
        while true {
            try Task.checkCancellation()
            do {
                return try await registerOnce()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("cannot register the node; retrying", metadata: ["node": "\(identity.name)", "error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    private func registerOnce() async throws -> String {
        let (pingResponse, pingError) = await ping()
        observe(pingResponse, pingError)
        let node: JSONValue
        if let existing = try await client.getIfPresent(path) {
            let taints = NodeObjects.mergeTaints(existing: existing["spec", "taints"]?.arrayValue ?? [], wanted: NodeObjects.taints(ping: pingResponse))
            let patch: JSONValue = [
                "metadata": ["labels": .object(NodeObjects.labels(identity, ping: pingResponse).mapValues { .string($0) })],
                "spec": ["taints": .array(taints)],
            ]
            node = try await client.patch(path, patch)
            logger.info("node exists; updated its labels and taints", metadata: ["node": "\(identity.name)"])
        } else {
            do {
                node = try await client.create("/api/v1/nodes", NodeObjects.node(identity, ping: pingResponse, pingError: pingError, ready: ready))
                logger.info("node registered", metadata: ["node": "\(identity.name)"])
            } catch let e as KubernetesAPIError where e.isConflict {
                return try await registerOnce()  // Created concurrently: update it instead.
            }
        }
        guard let uid = node["metadata", "uid"]?.stringValue else {
            throw KubernetesTransportError(method: "GET", url: path, message: "the node object has no metadata.uid")
        }
        nodeUID = uid
        try await patchStatus(pingResponse, pingError)
        return uid
    }

    private func patchStatus(_ ping: Weft_Kubelet_V1_PingResponse?, _ error: String?) async throws {
        let status = NodeObjects.status(identity, ping: ping, pingError: error, ready: ready)
        _ = try await client.patch(path + "/status", ["status": status])
    }

    /// Pings the kubelet API and patches the node status every `interval`, until cancelled.
    public func runStatusLoop(interval: Duration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let (pingResponse, pingError) = await ping()
            observe(pingResponse, pingError)
            do {
                try await patchStatus(pingResponse, pingError)
                logger.trace("node status updated", metadata: ["node": "\(identity.name)"])
            } catch let e as KubernetesAPIError where e.isNotFound {
                logger.warning("the node was deleted from Kubernetes; registering it again", metadata: ["node": "\(identity.name)"])
                _ = try? await register()
            } catch {
                logger.warning("cannot update the node status", metadata: ["node": "\(identity.name)", "error": "\(error)"])
            }
        }
    }
}
