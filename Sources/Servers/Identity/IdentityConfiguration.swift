import Gen

/// What the identity service offers: the sites whose accounts can be linked, and API key rules.
public struct IdentityConfiguration: Sendable {
    /// A site whose local accounts can be linked.
    public struct Site: Sendable, Hashable {
        /// Site name, e.g. "vega".
        public var name: String
        /// Human-readable name.
        public var displayName: String
        /// Issuer of the site's own identity provider; its tokens prove local accounts. It must be
        /// one of the verifier's issuers.
        public var issuer: String
        /// Where users obtain such a token.
        public var loginURL: String
        /// The claim of a site token that holds the local username.
        public var usernameClaim: String
        /// Federated issuers accepted at this site; every configured issuer when empty.
        public var acceptedIssuers: [String]

        /// Creates a site.
        public init(name: String, displayName: String = "", issuer: String, loginURL: String = "",
                    usernameClaim: String = "preferred_username", acceptedIssuers: [String] = []) {
            self.name = name
            self.displayName = displayName
            self.issuer = issuer
            self.loginURL = loginURL
            self.usernameClaim = usernameClaim
            self.acceptedIssuers = acceptedIssuers
        }
    }

    /// SQLite file of links and API keys.
    public var databasePath: String
    /// The sites.
    public var sites: [Site]
    /// Validity of an API key created without a TTL.
    public var defaultKeyTTL: Duration = .seconds(90 * 86400)
    /// The longest validity a key may be given: keys always expire (ALISE's never do).
    public var maximumKeyTTL: Duration = .seconds(366 * 86400)

    /// Creates a configuration.
    public init(databasePath: String, sites: [Site]) {
        self.databasePath = databasePath
        self.sites = sites
    }
}
