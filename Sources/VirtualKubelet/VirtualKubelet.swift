import Foundation
import Gen
import Logging
import WeftRPC

/// Settings of a virtual kubelet.
public struct VirtualKubeletConfiguration: Sendable {
    /// Name of the Kubernetes node.
    public var nodeName: String
    /// The node's InternalIP, also reported as each pod's hostIP.
    public var nodeAddress: String
    /// Extra node labels.
    public var nodeLabels: [String: String] = [:]
    /// How often the node status is refreshed from the kubelet API's Ping.
    public var statusInterval: Duration = .seconds(30)
    /// How often the node Lease is renewed.
    public var leaseInterval: Duration = .seconds(10)
    /// The server ends each pod watch after about this many seconds; the informer lists again.
    public var watchTimeoutSeconds = 300
    /// Deadline of each unary call to the kubelet API.
    public var callTimeout: Duration = .seconds(60)

    /// Creates a configuration.
    public init(nodeName: String, nodeAddress: String) {
        self.nodeName = nodeName
        self.nodeAddress = nodeAddress
    }
}

/// A virtual kubelet: a Kubernetes node whose pods run through Weft's kubelet API
/// (`weft.kubelet.v1.KubeletService`), as interLink's virtual kubelet runs them through its API.
///
/// ``run()`` registers the node, then until cancelled keeps its status and Lease current
/// (``NodeController``, ``LeaseController``), follows the pods bound to it (``PodInformer``,
/// ``PodController``) and writes their status back (``StatusForwarder``).
public struct VirtualKubelet: Sendable {
    /// The settings.
    public let configuration: VirtualKubeletConfiguration
    let client: KubernetesClient
    let kubelet: Weft_Kubelet_V1_KubeletService.Client
    let logger: Logger

    /// Creates a virtual kubelet that talks to Kubernetes through `client` and runs pods through `kubelet`.
    public init(configuration: VirtualKubeletConfiguration, client: KubernetesClient, kubelet: Weft_Kubelet_V1_KubeletService.Client,
                logger: Logger = Logger(label: "weft.virtual-kubelet")) {
        self.configuration = configuration
        self.client = client
        self.kubelet = kubelet
        self.logger = logger
    }

    /// Runs until the task is cancelled (then returns normally).
    public func run() async {
        let c = configuration
        let identity = NodeObjects.Identity(name: c.nodeName, address: c.nodeAddress, labels: c.nodeLabels)
        let node = NodeController(kubelet: kubelet, client: client, identity: identity, logger: logger)
        logger.info("starting", metadata: ["node": "\(c.nodeName)", "kubernetes": "\(client.endpoint.server.absoluteString)"])
        let nodeUID: String
        do {
            nodeUID = try await node.register()
        } catch {
            return  // Cancelled before the node was registered.
        }
        let forwarder = StatusForwarder(kubelet: kubelet, client: client, node: c.nodeName, hostIP: c.nodeAddress, logger: logger)
        let controller = PodController(kubelet: kubelet, client: client, forwarder: forwarder, node: c.nodeName, hostIP: c.nodeAddress,
                                       callTimeout: c.callTimeout, logger: logger)
        let informer = PodInformer(client: client, node: c.nodeName, controller: controller, watchTimeoutSeconds: c.watchTimeoutSeconds, logger: logger)
        let lease = LeaseController(client: client, node: c.nodeName, nodeUID: nodeUID, interval: c.leaseInterval, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await node.runStatusLoop(interval: c.statusInterval) }
            group.addTask { await lease.run() }
            group.addTask { await forwarder.run() }
            group.addTask { await informer.run() }
            await group.waitForAll()
        }
        logger.info("stopped", metadata: ["node": "\(c.nodeName)"])
    }
}
