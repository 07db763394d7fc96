/// Who is calling: the identity an interceptor proved for one call.
///
/// A principal is an (issuer, subject) pair — the same pair the identity service links to local
/// accounts. Client certificates use the issuer ``Principal/certificateIssuer`` and their RFC 2253
/// subject; API keys use ``Principal/apiKeyIssuer`` and the key id.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    /// How the caller proved the identity.
    public enum Source: String, Sendable, Hashable {
        /// A bearer JWT verified against a configured OIDC issuer.
        case token
        /// A client certificate verified by mutual TLS.
        case certificate
        /// A site-scoped API key of the identity service.
        case apiKey = "api-key"
        /// Development mode: nobody was checked.
        case development
    }

    /// Issuer URL (`iss`), or ``certificateIssuer`` / ``apiKeyIssuer``.
    public var issuer: String
    /// Subject (`sub`), certificate subject or API key id.
    public var subject: String
    /// How the identity was proved.
    public var source: Source
    /// Entitlements and groups the token asserts (`eduperson_entitlement`, `entitlements`, `groups`).
    public var entitlements: [String]
    /// Display name (`name`), if the token carries one.
    public var name: String
    /// Email (`email`), if the token carries one.
    public var email: String
    /// Login name (`preferred_username`), if the token carries one.
    public var preferredUsername: String
    /// For API keys: the only site the key is valid for.
    public var site: String?

    /// The pseudo-issuer of identities proved by client certificates.
    public static let certificateIssuer = "x509"
    /// The pseudo-issuer of identities proved by API keys.
    public static let apiKeyIssuer = "weft-api-key"

    /// Creates a principal.
    public init(
        issuer: String, subject: String, source: Source, entitlements: [String] = [], name: String = "",
        email: String = "", preferredUsername: String = "", site: String? = nil
    ) {
        self.issuer = issuer
        self.subject = subject
        self.source = source
        self.entitlements = entitlements
        self.name = name
        self.email = email
        self.preferredUsername = preferredUsername
        self.site = site
    }

    /// `subject@issuer`, for logs and messages (never a token).
    public var description: String { "\(subject)@\(issuer)" }
}
