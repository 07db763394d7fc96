import Logging
import WeftRPC

/// Checks an API key presented as `x-api-key` metadata; the identity service implements it.
public protocol APIKeyValidating: Sendable {
    /// The identity the key proves (issuer ``Principal/apiKeyIssuer``, subject the key id, site set).
    func principal(forAPIKey secret: String) async throws(AuthenticationError) -> Principal
}

/// The one server interceptor that authenticates and authorizes every Weft call before its
/// handler runs.
///
/// Credentials, in order: `authorization: Bearer <JWT>` (verified by ``TokenVerifier``), the
/// client certificate of a mutual-TLS connection (when accepted), an `x-api-key`. The method's
/// ``Requirement`` from the ``AccessPolicy`` decides: no credential → UNAUTHENTICATED, a
/// credential without the permission → PERMISSION_DENIED naming it. What was proved is left in the
/// context (``ServerContext/principal``, ``ServerContext/scope(of:)``) for handlers that check
/// per-site rights. Tokens are never logged.
public struct AuthInterceptor: ServerInterceptor {
    /// How calls are checked.
    public enum Mode: Sendable {
        /// Nothing is checked; every call runs as a development principal.
        case development
        /// Credentials are verified and the policy enforced.
        case enforcing(TokenVerifier)
    }

    private let mode: Mode
    private let policy: AccessPolicy
    private let acceptCertificates: Bool
    private let apiKeys: (any APIKeyValidating)?
    private let audit: Bool
    private let logger: Logger

    /// Creates the interceptor. With `audit`, every decision is logged at info level (denials are
    /// always logged, at notice).
    public init(
        mode: Mode, policy: AccessPolicy, acceptCertificates: Bool = false, apiKeys: (any APIKeyValidating)? = nil,
        audit: Bool = false, logger: Logger = Logger(label: "weft.auth")
    ) {
        self.mode = mode
        self.policy = policy
        self.acceptCertificates = acceptCertificates
        self.apiKeys = apiKeys
        self.audit = audit
        self.logger = logger
    }

    /// The identity calls run as in development mode.
    public static let developmentPrincipal = Principal(issuer: "weft-development", subject: "anonymous", source: .development)

    public func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        var context = context
        guard case .enforcing(let verifier) = mode else {
            context.attributes[AuthAttribute.mode] = "development"
            context.attach(Self.developmentPrincipal, scopes: [:])
            return try await next(context)
        }
        let path = context.descriptor.path
        let requirement = policy.requirement(for: context.descriptor)
        let principal: Principal?
        do {
            principal = try await authenticate(context, verifier: verifier)
        } catch {
            if requirement == .none { return try await next(context) }
            decision(path, nil, allowed: false, error.description)
            throw error.rpcError
        }
        guard let principal else {
            switch requirement {
            case .none, .checkedByHandler:
                return try await next(context)
            case .authenticated, .permission:
                decision(path, nil, allowed: false, "no credentials")
                throw AuthenticationError(.missingCredentials, "send authorization: Bearer <token> (weft: --token-file or WEFT_TOKEN)").rpcError
            }
        }
        let scopes = policy.scopes(for: principal)
        if case .permission(let permission) = requirement, scopes[permission] == nil {
            decision(path, principal, allowed: false, "missing permission \(permission)")
            throw RPCError(code: .permissionDenied, message: "missing permission \(permission) for \(path); caller \(principal)")
        }
        context.attach(principal, scopes: scopes)
        decision(path, principal, allowed: true, "")
        try await next(context)
    }

    private func authenticate(_ context: ServerContext, verifier: TokenVerifier) async throws(AuthenticationError) -> Principal? {
        if let header = context.requestMetadata.first("authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw AuthenticationError(.malformed, "the authorization metadata is not \"Bearer <token>\"")
            }
            return try await verifier.verify(String(parts[1]).trimmingCharacters(in: .whitespaces)).principal
        }
        if acceptCertificates, let subject = context.peerCertificateSubject {
            return Principal(issuer: Principal.certificateIssuer, subject: subject, source: .certificate)
        }
        if let key = context.requestMetadata.first("x-api-key"), let apiKeys {
            return try await apiKeys.principal(forAPIKey: key)
        }
        return nil
    }

    private func decision(_ path: String, _ principal: Principal?, allowed: Bool, _ reason: String) {
        let metadata: Logger.Metadata = [
            "method": "\(path)", "caller": "\(principal.map(\.description) ?? "-")",
            "decision": "\(allowed ? "allow" : "deny")", "reason": "\(reason)",
        ]
        if !allowed {
            logger.notice("auth decision", metadata: metadata)
        } else if audit {
            logger.info("auth decision", metadata: metadata)
        } else {
            logger.trace("auth decision", metadata: metadata)
        }
    }
}
