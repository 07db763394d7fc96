import Foundation
import WeftRPC

/// Where a client's bearer token comes from.
public enum TokenSource: Sendable, Hashable {
    /// A fixed token.
    case literal(String)
    /// A file holding the token, read again on every call so that a token refreshed on disk
    /// (by oidc-agent, a sidecar, a Kubernetes projected volume) is picked up.
    case file(String)

    /// The token now.
    public func token() throws -> String {
        switch self {
        case .literal(let t): return t
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw TokenSourceError(path: path) }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// The token file could not be read.
public struct TokenSourceError: Error, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What went wrong.
    public var description: String { "cannot read the token file \(path)" }
}

/// A client interceptor that sends `authorization: Bearer <token>` on every call; put it on any
/// generated client's `RPCClient` to reach a Weft server that enforces authentication.
public struct BearerTokenInterceptor: ClientInterceptor {
    private let source: TokenSource

    /// Creates the interceptor.
    public init(_ source: TokenSource) { self.source = source }

    public func intercept<R>(descriptor: MethodDescriptor, options: CallOptions, next: (CallOptions) async throws -> R) async throws -> R {
        var options = options
        options.metadata.replaceOrAddString("Bearer \(try source.token())", forKey: "authorization")
        return try await next(options)
    }
}
