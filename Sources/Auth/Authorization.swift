import WeftRPC

/// Attribute keys under which ``AuthInterceptor`` leaves what it proved for handlers.
enum AuthAttribute {
    static let mode = "weft.auth.mode"
    static let issuer = "weft.auth.issuer"
    static let subject = "weft.auth.subject"
    static let source = "weft.auth.source"
    static let entitlements = "weft.auth.entitlements"
    static let name = "weft.auth.name"
    static let email = "weft.auth.email"
    static let username = "weft.auth.username"
    static let site = "weft.auth.site"
    static let scopePrefix = "weft.auth.scope."
    static let separator: Character = "\n"
}

extension ServerContext {
    /// Whether the server runs without authentication (development mode).
    public var isDevelopmentMode: Bool { attributes[AuthAttribute.mode] == "development" }

    /// The caller's proved identity, if any.
    public var principal: Principal? {
        guard let issuer = attributes[AuthAttribute.issuer], let subject = attributes[AuthAttribute.subject],
              let source = attributes[AuthAttribute.source].flatMap(Principal.Source.init(rawValue:))
        else { return nil }
        return Principal(
            issuer: issuer, subject: subject, source: source,
            entitlements: attributes[AuthAttribute.entitlements].map { $0.split(separator: AuthAttribute.separator).map(String.init) } ?? [],
            name: attributes[AuthAttribute.name] ?? "", email: attributes[AuthAttribute.email] ?? "",
            preferredUsername: attributes[AuthAttribute.username] ?? "", site: attributes[AuthAttribute.site])
    }

    /// The sites `permission` covers for the caller; `.all` in development mode, nil when the
    /// caller does not hold it.
    public func scope(of permission: Permission) -> SiteScope? {
        if isDevelopmentMode { return .all }
        guard let value = attributes[AuthAttribute.scopePrefix + permission.rawValue] else { return nil }
        if value == "*" { return .all }
        return .sites(Set(value.split(separator: AuthAttribute.separator).map(String.init)))
    }

    /// Throws PERMISSION_DENIED naming the permission unless the caller holds it for `site`.
    public func require(_ permission: Permission, site: String) throws {
        guard let scope = scope(of: permission) else {
            throw RPCError(code: .permissionDenied, message: "missing permission \(permission) (for site \(site))\(callerSuffix)")
        }
        guard scope.allows(site) else {
            throw RPCError(code: .permissionDenied, message: "missing permission \(permission) for site \(site)\(callerSuffix)")
        }
    }

    var callerSuffix: String { principal.map { "; caller \($0)" } ?? "" }

    /// Records what the interceptor proved.
    mutating func attach(_ principal: Principal, scopes: [Permission: SiteScope]) {
        attributes[AuthAttribute.issuer] = principal.issuer
        attributes[AuthAttribute.subject] = principal.subject
        attributes[AuthAttribute.source] = principal.source.rawValue
        if !principal.entitlements.isEmpty { attributes[AuthAttribute.entitlements] = principal.entitlements.joined(separator: "\n") }
        if !principal.name.isEmpty { attributes[AuthAttribute.name] = principal.name }
        if !principal.email.isEmpty { attributes[AuthAttribute.email] = principal.email }
        if !principal.preferredUsername.isEmpty { attributes[AuthAttribute.username] = principal.preferredUsername }
        if let site = principal.site { attributes[AuthAttribute.site] = site }
        for (permission, scope) in scopes {
            switch scope {
            case .all: attributes[AuthAttribute.scopePrefix + permission.rawValue] = "*"
            case .sites(let s): attributes[AuthAttribute.scopePrefix + permission.rawValue] = s.sorted().joined(separator: "\n")
            }
        }
    }
}
