import Foundation

/// Where a Kubernetes API server is and how to authenticate to it: what a kubeconfig context or
/// the in-cluster service account resolves to.
public struct KubernetesEndpoint: Sendable, Equatable {
    /// Base URL of the API server, e.g. `https://10.0.0.1:6443` (a path prefix is kept).
    public var server: URL
    /// CA certificates (PEM) that verify the server; nil to use the system's trust store.
    public var certificateAuthorityPEM: Data?
    /// The name to verify in the server's certificate, when it is not the URL's host.
    public var tlsServerName: String?
    /// Skip verifying the server's certificate (kubeconfig `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool
    /// How requests authenticate.
    public var credential: Credential
    /// Where this endpoint came from, for messages (`kubeconfig /root/.kube/config, context kind`).
    public var origin: String

    /// How requests to the API server authenticate.
    public enum Credential: Sendable, Equatable {
        /// No credential (anonymous, or a proxy such as `kubectl proxy` adds one).
        case none
        /// A bearer token.
        case token(String)
        /// A bearer token read from this file before each request (service account tokens rotate).
        case tokenFile(String)
        /// HTTP basic authentication.
        case basic(username: String, password: String)
    }

    /// Creates an endpoint.
    public init(server: URL, certificateAuthorityPEM: Data? = nil, tlsServerName: String? = nil, insecureSkipTLSVerify: Bool = false,
                credential: Credential = .none, origin: String = "") {
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.tlsServerName = tlsServerName
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.credential = credential
        self.origin = origin
    }

    /// True when the server is reached over TLS.
    public var usesTLS: Bool { server.scheme?.lowercased() == "https" }

    /// The `Authorization` header value for the next request, if any.
    public func authorizationHeader() throws(KubeConfigError) -> String? {
        switch credential {
        case .none:
            return nil
        case .token(let t):
            return "Bearer \(t)"
        case .tokenFile(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubeConfigError(source: origin, message: "cannot read the token file \(path)")
            }
            return "Bearer \(text.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .basic(let user, let password):
            return "Basic \(Data("\(user):\(password)".utf8).base64EncodedString())"
        }
    }
}
