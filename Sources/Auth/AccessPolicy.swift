import WeftRPC

/// A named right a method requires, e.g. `accounting.publish`. Grants give permissions to
/// identities, optionally only for some sites.
public struct Permission: RawRepresentable, Sendable, Hashable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The name.
    public var rawValue: String
    /// Creates a permission from its name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a permission from a literal.
    public init(stringLiteral value: String) { rawValue = value }
    /// The name.
    public var description: String { rawValue }
    /// Orders by name.
    public static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }

    /// Every kubelet API call (virtual kubelets, `weft pods`).
    public static let kubelet: Permission = "kubelet"
    /// Every sidecar call (the kubelet API calling its backend).
    public static let sidecar: Permission = "sidecar"
    /// Publishing accounting records; scoped to sites.
    public static let accountingPublish: Permission = "accounting.publish"
    /// Reading accounting summaries and publisher state.
    public static let accountingRead: Permission = "accounting.read"
    /// Administering a site's identity links and API keys; scoped to sites.
    public static let identityAdmin: Permission = "identity.admin"
}

/// What a method requires before its handler runs.
public enum Requirement: Sendable, Hashable {
    /// Nothing (health checks, reflection).
    case none
    /// A credential that the handler itself checks (an API key in the request body); an
    /// identity is attached when one is presented.
    case checkedByHandler
    /// Any valid identity.
    case authenticated
    /// A valid identity holding the permission.
    case permission(Permission)
}

/// Sites a permission covers for one caller.
public enum SiteScope: Sendable, Hashable {
    /// Every site.
    case all
    /// Only these sites.
    case sites(Set<String>)

    /// Whether `site` is covered.
    public func allows(_ site: String) -> Bool {
        switch self {
        case .all: true
        case .sites(let s): s.contains(site)
        }
    }

    /// Both scopes together.
    func union(_ other: SiteScope) -> SiteScope {
        switch (self, other) {
        case (.all, _), (_, .all): .all
        case (.sites(let a), .sites(let b)): .sites(a.union(b))
        }
    }
}

/// Whom a grant applies to.
public enum IdentityMatcher: Sendable, Hashable, CustomStringConvertible {
    /// One identity (issuer and subject; also API keys and certificates by their pseudo-issuer).
    case identity(issuer: String, subject: String)
    /// Holders of an entitlement or group claim.
    case entitlement(String)
    /// The holder of a client certificate with this subject (RFC 2253).
    case certificate(subject: String)
    /// Every authenticated caller.
    case anyAuthenticated

    /// Whether `principal` matches.
    public func matches(_ principal: Principal) -> Bool {
        switch self {
        case .identity(let issuer, let subject): principal.issuer == issuer && principal.subject == subject
        case .entitlement(let e): principal.entitlements.contains(e)
        case .certificate(let subject): principal.source == .certificate && principal.subject == subject
        case .anyAuthenticated: principal.source != .development
        }
    }

    /// For logs.
    public var description: String {
        switch self {
        case .identity(let i, let s): "\(s)@\(i)"
        case .entitlement(let e): "entitlement \(e)"
        case .certificate(let s): "certificate \(s)"
        case .anyAuthenticated: "any authenticated caller"
        }
    }
}

/// One grant of the policy: a permission, for some or all sites, to some identities.
public struct Grant: Sendable, Hashable {
    /// The permission.
    public var permission: Permission
    /// The sites it covers; every site when nil.
    public var sites: [String]?
    /// Who gets it.
    public var to: [IdentityMatcher]

    /// Creates a grant.
    public init(permission: Permission, sites: [String]? = nil, to: [IdentityMatcher]) {
        self.permission = permission
        self.sites = sites
        self.to = to
    }
}

/// Who may call what, declared in configuration and evaluated by ``AuthInterceptor`` before any
/// handler runs.
public struct AccessPolicy: Sendable {
    /// The grants.
    public var grants: [Grant]
    /// Requirements by service (`weft.kubelet.v1.KubeletService`) or method path
    /// (`weft.accounting.v1.AccountingService/PublishRecords`); a method entry wins over its service's.
    public var requirements: [String: Requirement]
    /// What a method of a service not listed requires.
    public var defaultRequirement: Requirement

    /// Creates a policy with Weft's default requirements plus `overrides`.
    public init(grants: [Grant], overrides: [String: Requirement] = [:], defaultRequirement: Requirement = .authenticated) {
        self.grants = grants
        self.requirements = Self.weftRequirements.merging(overrides) { _, new in new }
        self.defaultRequirement = defaultRequirement
    }

    /// What each Weft service requires (DESIGN §7).
    public static let weftRequirements: [String: Requirement] = [
        "grpc.health.v1.Health": .none,
        "grpc.reflection.v1.ServerReflection": .none,
        "grpc.reflection.v1alpha.ServerReflection": .none,
        "weft.kubelet.v1.KubeletService": .permission(.kubelet),
        "weft.sidecar.v1.SidecarService": .permission(.sidecar),
        "weft.accounting.v1.AccountingService": .permission(.accountingRead),
        "weft.accounting.v1.AccountingService/PublishRecords": .permission(.accountingPublish),
        "weft.identity.v1.IdentityService": .authenticated,
        // Services look mappings up with a site's API key (ALISE's model), not with a token.
        "weft.identity.v1.IdentityService/LookupMapping": .checkedByHandler,
        // ValidateApiKey needs a credential too: the key itself as `x-api-key` metadata will do.
    ]

    /// What `method` requires.
    public func requirement(for method: MethodDescriptor) -> Requirement {
        requirements[method.service + "/" + method.method] ?? requirements[method.service] ?? defaultRequirement
    }

    /// The sites `permission` covers for `principal`, or nil when no grant gives it.
    public func scope(of permission: Permission, for principal: Principal) -> SiteScope? {
        var scope: SiteScope?
        for grant in grants where grant.permission == permission && grant.to.contains(where: { $0.matches(principal) }) {
            let s: SiteScope = grant.sites.map { .sites(Set($0)) } ?? .all
            scope = scope.map { $0.union(s) } ?? s
        }
        return scope
    }

    /// Every permission `principal` holds, with its scope.
    public func scopes(for principal: Principal) -> [Permission: SiteScope] {
        var result: [Permission: SiteScope] = [:]
        for permission in Set(grants.map(\.permission)) {
            if let s = scope(of: permission, for: principal) { result[permission] = s }
        }
        return result
    }
}
