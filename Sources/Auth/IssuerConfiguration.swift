/// A trusted OIDC issuer: whose tokens are accepted, for which audiences, verified with which keys.
public struct IssuerConfiguration: Sendable, Hashable {
    /// Where the issuer's public keys (a JWKS document) come from.
    public enum KeySource: Sendable, Hashable {
        /// A JWKS file, re-read when it changes.
        case file(String)
        /// A JWKS URL (`jwks_uri`), fetched and cached.
        case url(String)
    }

    /// The issuer exactly as in tokens' `iss` claim.
    public var issuer: String
    /// Accepted audiences; any audience when empty.
    public var audiences: [String]
    /// The keys.
    public var keys: KeySource
    /// Human-readable name, e.g. "EGI Check-in".
    public var displayName: String

    /// Creates an issuer configuration.
    public init(issuer: String, audiences: [String] = [], keys: KeySource, displayName: String = "") {
        self.issuer = issuer
        self.audiences = audiences
        self.keys = keys
        self.displayName = displayName
    }
}
