import Foundation
import Logging
import WeftAuth
import WeftIdentity

/// Turns the configuration file's `auth:` and `identity:` sections into the interceptor, the
/// verifier and the identity service's configuration.
struct AuthSetup {
    /// The verifier; nil in development mode.
    var verifier: TokenVerifier?
    var policy: AccessPolicy
    var acceptCertificates: Bool
    var audit: Bool

    /// Known permission names, so that a typo in a grant is an error rather than a silent denial.
    static let permissions: [Permission] = [.kubelet, .sidecar, .accountingPublish, .accountingRead, .identityAdmin]

    init(_ file: ConfigurationFile?, path: String?, logger: Logger) throws {
        let base = path.map { URL(fileURLWithPath: $0).deletingLastPathComponent() } ?? URL(fileURLWithPath: ".")
        let section = file?.auth
        let where_ = path ?? "configuration"
        var issuers: [IssuerConfiguration] = []
        for (i, entry) in (section?.issuers ?? []).enumerated() {
            let keys: IssuerConfiguration.KeySource
            switch (entry.jwksFile, entry.jwksURL) {
            case (let file?, nil): keys = .file(URL(fileURLWithPath: file, relativeTo: base).path)
            case (nil, let url?): keys = .url(url)
            default: throw OperationFailure("\(where_): auth.issuers[\(i)]: give exactly one of jwks_file and jwks_url")
            }
            guard !entry.issuer.isEmpty else { throw OperationFailure("\(where_): auth.issuers[\(i)].issuer: empty") }
            issuers.append(IssuerConfiguration(issuer: entry.issuer, audiences: entry.audiences ?? [], keys: keys, displayName: entry.displayName ?? ""))
        }
        var grants: [Grant] = []
        for (i, entry) in (section?.grants ?? []).enumerated() {
            let permission = Permission(rawValue: entry.permission)
            guard Self.permissions.contains(permission) else {
                throw OperationFailure("\(where_): auth.grants[\(i)].permission: unknown permission \(entry.permission) (known: \(Self.permissions.map(\.rawValue).joined(separator: ", ")))")
            }
            let matchers = try entry.to.enumerated().map { j, m -> IdentityMatcher in
                switch (m.issuer, m.subject, m.entitlement, m.certificate, m.authenticated) {
                case (let issuer?, let subject?, nil, nil, nil): return .identity(issuer: issuer, subject: subject)
                case (nil, nil, let e?, nil, nil): return .entitlement(e)
                case (nil, nil, nil, let c?, nil): return .certificate(subject: c)
                case (nil, nil, nil, nil, true?): return .anyAuthenticated
                default:
                    throw OperationFailure("\(where_): auth.grants[\(i)].to[\(j)]: give exactly one of issuer+subject, entitlement, certificate, authenticated: true")
                }
            }
            grants.append(Grant(permission: permission, sites: entry.sites, to: matchers))
        }
        acceptCertificates = section?.clientCertificates ?? false
        audit = section?.audit ?? false
        policy = AccessPolicy(grants: grants)
        if issuers.isEmpty && !acceptCertificates {
            verifier = nil
        } else {
            verifier = TokenVerifier(issuers: issuers, clockSkew: .seconds(section?.clockSkewSeconds ?? 60), logger: logger)
        }
    }

    /// Whether nothing is checked.
    var isDevelopmentMode: Bool { verifier == nil }

    /// The interceptor for a server.
    func interceptor(apiKeys: (any APIKeyValidating)?) -> AuthInterceptor {
        guard let verifier else { return AuthInterceptor(mode: .development, policy: policy) }
        return AuthInterceptor(mode: .enforcing(verifier), policy: policy, acceptCertificates: acceptCertificates, apiKeys: apiKeys, audit: audit)
    }

    /// The loud start-up warning of development mode.
    static let developmentWarning = """
        WARNING: no OIDC issuers are configured: authentication is OFF (development mode).
        WARNING: every caller may do everything. Configure auth.issuers in --config FILE for anything but a laptop.

        """

    /// The identity service's configuration from the `identity:` section.
    static func identityConfiguration(_ file: ConfigurationFile?, databasePath: String) -> IdentityConfiguration {
        let section = file?.identity
        var configuration = IdentityConfiguration(databasePath: databasePath, sites: (section?.sites ?? []).map {
            IdentityConfiguration.Site(
                name: $0.site, displayName: $0.displayName ?? "", issuer: $0.issuer, loginURL: $0.loginURL ?? "",
                usernameClaim: $0.usernameClaim ?? "preferred_username", acceptedIssuers: $0.acceptedIssuers ?? [])
        })
        if let d = section?.defaultKeyTTLDays { configuration.defaultKeyTTL = .seconds(Int64(d) * 86400) }
        if let d = section?.maximumKeyTTLDays { configuration.maximumKeyTTL = .seconds(Int64(d) * 86400) }
        return configuration
    }
}
