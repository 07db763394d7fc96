import ArgumentParser

/// `weft kubelet`: a virtual kubelet (being written).
struct VirtualKubeletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kubelet", abstract: "Run a virtual kubelet: a Kubernetes node whose pods run through the kubelet API.")
    func run() async throws {}
}
