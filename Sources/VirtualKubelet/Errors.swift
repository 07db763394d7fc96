import Foundation

/// A kubeconfig or in-cluster configuration that cannot be used, naming the file and the problem.
public struct KubeConfigError: Error, Sendable, CustomStringConvertible {
    /// The kubeconfig file (or in-cluster directory) the problem is in.
    public var source: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}

/// A request the Kubernetes API server answered with an error status (a `metav1.Status`).
public struct KubernetesAPIError: Error, Sendable, CustomStringConvertible {
    /// HTTP method of the request.
    public var method: String
    /// Path of the request, e.g. `/api/v1/nodes/vk`.
    public var path: String
    /// HTTP status code, e.g. 404.
    public var statusCode: Int
    /// The Status object's `reason`, e.g. `NotFound`, `AlreadyExists`, `Expired`; empty if none.
    public var reason: String
    /// The Status object's message, or the start of the body.
    public var message: String

    /// Creates an error.
    public init(method: String, path: String, statusCode: Int, reason: String, message: String) {
        self.method = method
        self.path = path
        self.statusCode = statusCode
        self.reason = reason
        self.message = message
    }

    /// True for 404 Not Found.
    public var isNotFound: Bool { statusCode == 404 }
    /// True for 409 Conflict (AlreadyExists or a stale resourceVersion).
    public var isConflict: Bool { statusCode == 409 }
    /// True for 410 Gone (a watch or list resourceVersion that is too old).
    public var isGone: Bool { statusCode == 410 || reason == "Expired" || reason == "Gone" }

    public var description: String {
        "\(method) \(path): \(statusCode)\(reason.isEmpty ? "" : " \(reason)")\(message.isEmpty ? "" : ": \(message)")"
    }
}

/// A request that did not reach the Kubernetes API server or whose answer could not be read.
public struct KubernetesTransportError: Error, Sendable, CustomStringConvertible {
    /// HTTP method of the request.
    public var method: String
    /// The URL requested.
    public var url: String
    /// What went wrong (connection refused, TLS verification, a bad response).
    public var message: String

    /// Creates an error.
    public init(method: String, url: String, message: String) {
        self.method = method
        self.url = url
        self.message = message
    }

    public var description: String { "\(method) \(url): \(message)" }
}

/// A pod from the Kubernetes API that cannot be offloaded as it is (a field Weft does not
/// support, a malformed object); the pod is marked Failed with this message.
public struct PodConversionError: Error, Sendable, CustomStringConvertible {
    /// `namespace/name` of the pod.
    public var pod: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(pod: String, message: String) {
        self.pod = pod
        self.message = message
    }

    public var description: String { "pod \(pod): \(message)" }
}

/// A ConfigMap or Secret a pod needs that does not exist (Kubernetes' CreateContainerConfigError):
/// the pod stays Pending and is retried.
public struct MissingReferenceError: Error, Sendable, CustomStringConvertible {
    /// `ConfigMap` or `Secret`.
    public var kind: String
    /// Name of the missing object, in the pod's namespace.
    public var name: String
    /// `namespace/name` of the pod.
    public var pod: String

    /// Creates an error.
    public init(kind: String, name: String, pod: String) {
        self.kind = kind
        self.name = name
        self.pod = pod
    }

    /// The message Kubernetes shows, e.g. `configmap "settings" not found`.
    public var description: String { "\(kind.lowercased()) \"\(name)\" not found" }
}
