import WeftRPC

/// Why a credential was refused. The message helps the caller fix it and never contains the token.
public struct AuthenticationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in a few words a caller can act on.
    public enum Reason: String, Sendable, Hashable {
        case missingCredentials = "missing credentials"
        case malformed = "malformed token"
        case unknownIssuer = "unknown issuer"
        case expired = "token expired"
        case notYetValid = "token not yet valid"
        case wrongAudience = "wrong audience"
        case badSignature = "bad signature"
        case unsupportedAlgorithm = "unsupported algorithm"
        case keysUnavailable = "issuer keys unavailable"
        case invalidAPIKey = "invalid API key"
    }

    /// The kind of failure.
    public var reason: Reason
    /// Details (which issuer, when it expired, …).
    public var detail: String

    /// Creates an error.
    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `"<reason>: <detail>"`.
    public var description: String { detail.isEmpty ? reason.rawValue : "\(reason.rawValue): \(detail)" }

    /// The gRPC status a server answers with.
    public var rpcError: RPCError { RPCError(code: .unauthenticated, message: description) }
}
