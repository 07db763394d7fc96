import Foundation
import Gen
import Logging
import WeftKubernetes
import WeftPodKit

/// Keeps the node's Lease in `kube-node-lease` renewed, the heartbeat the node lifecycle
/// controller watches: created if missing, then replaced (`PUT`) with a new `renewTime` every
/// interval, re-read on a conflict.
public struct LeaseController: Sendable {
    let client: KubernetesClient
    let node: String
    let nodeUID: String?
    let interval: Duration
    let logger: Logger

    /// Creates a controller; the lease lasts four intervals, as a kubelet's (10 s renew, 40 s duration).
    public init(client: KubernetesClient, node: String, nodeUID: String?, interval: Duration = .seconds(10), logger: Logger) {
        self.client = client
        self.node = node
        self.nodeUID = nodeUID
        self.interval = interval
        self.logger = logger
    }

    private var path: String { "/apis/coordination.k8s.io/v1/namespaces/\(NodeObjects.leaseNamespace)/leases/\(node)" }
    private var durationSeconds: Int64 { max(1, interval.components.seconds * 4) }

    /// Renews the lease every interval until cancelled.
    public func run() async {
        var current: JSONValue?
        while !Task.isCancelled {
            do {
                current = try await renew(current)
                logger.trace("lease renewed", metadata: ["node": "\(node)"])
            } catch let e as KubernetesAPIError where e.isConflict {
                logger.debug("the lease changed under us; reading it again", metadata: ["node": "\(node)"])
                current = nil
                continue
            } catch {
                logger.warning("cannot renew the node lease", metadata: ["node": "\(node)", "error": "\(error)"])
                current = nil
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// One renewal: creates the lease, or puts `current` (read first when nil) with a new renew time.
    func renew(_ current: JSONValue?) async throws -> JSONValue {
        let now = Google_Protobuf_Timestamp.now
        let fresh = NodeObjects.lease(node: node, nodeUID: nodeUID, renewTime: now, durationSeconds: durationSeconds)
        var lease = current
        if lease == nil { lease = try await client.getIfPresent(path) }
        guard case .object(var object)? = lease else {
            let created = try await client.create("/apis/coordination.k8s.io/v1/namespaces/\(NodeObjects.leaseNamespace)/leases", fresh)
            logger.info("node lease created", metadata: ["node": "\(node)"])
            return created
        }
        var spec = object["spec"]?.objectValue ?? [:]
        spec["holderIdentity"] = .string(node)
        spec["leaseDurationSeconds"] = .int(durationSeconds)
        spec["renewTime"] = fresh["spec", "renewTime"]
        object["spec"] = .object(spec)
        return try await client.replace(path, .object(object))
    }
}
