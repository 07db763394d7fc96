/// A pod that cannot be started as written: a missing ConfigMap key, an unsupported volume.
/// Sidecars report it as the container's waiting reason `CreateContainerConfigError` (Kubernetes'
/// own) and fail the pod, instead of failing the create call.
public struct PodConfigError: Error, Sendable, CustomStringConvertible {
    /// Kubernetes-style reason, e.g. `CreateContainerConfigError`.
    public var reason: String
    /// What is wrong, naming the object and key.
    public var message: String

    /// Creates an error.
    public init(_ message: String, reason: String = "CreateContainerConfigError") {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason): \(message)" }
}
