import Foundation
import Logging
import WeftKubernetes

/// Lists and watches the pods bound to the node (`fieldSelector=spec.nodeName=NODE`) and hands
/// them to the ``PodController``: each list as a resync, then each watch event. When the watch
/// ends (its timeout, 410 Gone, a lost connection) it lists again and watches from the new list.
public struct PodInformer: Sendable {
    let client: KubernetesClient
    let node: String
    let controller: PodController
    let logger: Logger
    /// The server ends each watch after about this long (`timeoutSeconds`).
    var watchTimeoutSeconds: Int

    /// Creates an informer.
    public init(client: KubernetesClient, node: String, controller: PodController, watchTimeoutSeconds: Int = 300, logger: Logger) {
        self.client = client
        self.node = node
        self.controller = controller
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.logger = logger
    }

    private var selector: (String, String) { ("fieldSelector", "spec.nodeName=\(node)") }

    /// Lists and watches until cancelled.
    public func run() async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                let (pods, resourceVersion) = try await list()
                logger.debug("listed the node's pods", metadata: ["pods": "\(pods.count)", "resourceVersion": "\(resourceVersion)"])
                await controller.resync(pods)
                delay = .seconds(1)
                try await watch(from: resourceVersion)
                if Task.isCancelled { return }
                logger.debug("the pod watch ended; listing again")
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                if let e = error as? KubernetesAPIError, e.isGone {
                    logger.debug("the pod watch expired (410 Gone); listing again")
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                logger.warning("cannot list or watch the node's pods; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Every pod of the node (following `continue` tokens) and the list's resourceVersion.
    func list() async throws -> ([JSONValue], String) {
        var pods: [JSONValue] = []
        var token = ""
        var resourceVersion = ""
        repeat {
            var query = [selector, ("limit", "500")]
            if !token.isEmpty { query.append(("continue", token)) }
            let page = try await client.get("/api/v1/pods", query: query)
            pods += page["items"]?.arrayValue ?? []
            resourceVersion = page["metadata", "resourceVersion"]?.stringValue ?? ""
            token = page["metadata", "continue"]?.stringValue ?? ""
        } while !token.isEmpty
        return (pods, resourceVersion)
    }

    private func watch(from resourceVersion: String) async throws {
        var query = [selector, ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(watchTimeoutSeconds))]
        if !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        let events = try await client.watch("/api/v1/pods", query: query, timeout: TimeInterval(watchTimeoutSeconds + 30))
        for try await event in events {
            switch event.type {
            case .added, .modified:
                logger.trace("pod event", metadata: ["type": "\(event.type.rawValue)", "pod": "\(event.object["metadata", "name"]?.stringValue ?? "?")"])
                await controller.upsert(event.object)
            case .deleted:
                await controller.remove(event.object)
            case .bookmark, .error:
                break
            }
        }
    }
}
