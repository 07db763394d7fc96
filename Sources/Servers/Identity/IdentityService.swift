import Foundation
import Gen
import Logging
import WeftAuth
import WeftPodKit
import WeftProtobuf
import WeftRPC

/// The identity service (`weft.identity.v1.IdentityService`, anchor ALISE): links a federated
/// identity to a site's local account once the user has proved both in one call, and lets the
/// site's services look the mapping up with an API key that is scoped to the site and expires.
///
/// Authentication happens in ``AuthInterceptor`` before these handlers run; they check what is
/// specific to a site (`identity.admin` for the site, an API key's site).
public final class IdentityService: Weft_Identity_V1_IdentityService.ServiceProtocol, APIKeyValidating {
    private let store: IdentityStore
    private let configuration: IdentityConfiguration
    private let sites: [String: IdentityConfiguration.Site]
    private let verifier: TokenVerifier?
    private let now: @Sendable () -> Date
    private let logger: Logger

    /// Opens the store. `verifier` checks site tokens in LinkIdentity (nil: development mode,
    /// where only administrators' username links work).
    public init(configuration: IdentityConfiguration, verifier: TokenVerifier?, now: @escaping @Sendable () -> Date = Date.init,
                logger: Logger = Logger(label: "weft.identity")) throws {
        store = try IdentityStore(path: configuration.databasePath)
        self.configuration = configuration
        sites = Dictionary(configuration.sites.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.verifier = verifier
        self.now = now
        self.logger = logger
    }

    // MARK: Sites and issuers

    public func listSites(request: Weft_Identity_V1_ListSitesRequest, context: ServerContext) async throws -> Weft_Identity_V1_ListSitesResponse {
        let all = configuration.sites.sorted { $0.name < $1.name }.map { s in
            Weft_Identity_V1_Site.with { $0.site = s.name; $0.displayName = s.displayName; $0.siteIssuer = s.issuer; $0.loginUrl = s.loginURL }
        }
        let (page, next) = try Paging.page(all, size: request.pageSize, token: request.pageToken)
        return .with { $0.sites = page; $0.nextPageToken = next }
    }

    public func listSupportedIssuers(request: Weft_Identity_V1_ListSupportedIssuersRequest, context: ServerContext) async throws -> Weft_Identity_V1_ListSupportedIssuersResponse {
        if !request.site.isEmpty, sites[request.site] == nil { throw RPCError(code: .notFound, message: "unknown site \(request.site)") }
        let issuers = (verifier?.configuredIssuers ?? []).compactMap { issuer -> Weft_Identity_V1_SupportedIssuer? in
            let accepting = configuration.sites.filter { $0.acceptedIssuers.isEmpty || $0.acceptedIssuers.contains(issuer.issuer) }.map(\.name).sorted()
            if !request.site.isEmpty, !accepting.contains(request.site) { return nil }
            return .with { $0.issuer = issuer.issuer; $0.displayName = issuer.displayName; $0.sites = accepting }
        }
        let (page, next) = try Paging.page(issuers, size: request.pageSize, token: request.pageToken)
        return .with { $0.issuers = page; $0.nextPageToken = next }
    }

    // MARK: Links

    public func linkIdentity(request: Weft_Identity_V1_LinkIdentityRequest, context: ServerContext) async throws -> Weft_Identity_V1_LinkIdentityResponse {
        let site = try site(request.site)
        let caller = try caller(context)
        let account: Weft_Identity_V1_LocalAccount
        let identity: Weft_Common_V1_FederatedIdentity
        switch request.proof {
        case .siteToken(let token)?:
            identity = request.hasIdentity ? request.identity : caller
            guard identity == caller || context.isDevelopmentMode else {
                throw RPCError(code: .permissionDenied, message: "a site token links the caller's own identity; linking \(identity.subject)@\(identity.issuer) needs admin_username")
            }
            account = try await verifiedAccount(token, at: site)
        case .adminUsername(let username)?:
            try context.require(.identityAdmin, site: site.name)
            guard request.hasIdentity, !request.identity.issuer.isEmpty, !request.identity.subject.isEmpty else {
                throw RPCError(code: .invalidArgument, message: "admin_username needs identity (issuer and subject) to link")
            }
            guard !username.isEmpty else { throw RPCError(code: .invalidArgument, message: "admin_username is empty") }
            identity = request.identity
            account = .with { $0.site = site.name; $0.username = username }
        case nil:
            throw RPCError(code: .invalidArgument, message: "no proof of the local account: send site_token (a token of \(site.issuer)) or admin_username")
        }
        guard site.acceptedIssuers.isEmpty || site.acceptedIssuers.contains(identity.issuer) else {
            throw RPCError(code: .permissionDenied, message: "site \(site.name) does not accept identities of \(identity.issuer)")
        }
        let principal = context.principal
        let link = Weft_Identity_V1_IdentityLink.with {
            $0.identity = identity
            $0.localAccount = account
            if identity == caller, let principal { $0.displayName = principal.name; $0.email = principal.email }
            $0.linkedAt = .init(date: now())
        }
        let result = try store.upsert(link)
        logger.info("identity linked", metadata: ["site": "\(site.name)", "identity": "\(identity.subject)@\(identity.issuer)", "account": "\(account.username)", "created": "\(result.created)"])
        return .with { $0.link = result.link; $0.created = result.created }
    }

    public func unlinkIdentity(request: Weft_Identity_V1_UnlinkIdentityRequest, context: ServerContext) async throws -> Weft_Identity_V1_UnlinkIdentityResponse {
        let site = try site(request.site)
        let caller = try caller(context)
        let identity = request.hasIdentity ? request.identity : caller
        if identity != caller { try context.require(.identityAdmin, site: site.name) }
        guard let removed = try store.deleteLink(site: site.name, issuer: identity.issuer, subject: identity.subject) else {
            throw RPCError(code: .notFound, message: "\(identity.subject)@\(identity.issuer) is not linked at \(site.name)")
        }
        logger.info("identity unlinked", metadata: ["site": "\(site.name)", "identity": "\(identity.subject)@\(identity.issuer)"])
        return .with { $0.link = removed }
    }

    public func lookupMapping(request: Weft_Identity_V1_LookupMappingRequest, context: ServerContext) async throws -> Weft_Identity_V1_LookupMappingResponse {
        // Credentials first: a caller without a key learns nothing, not even which sites exist.
        try authorizeLookup(request, site: request.site, context: context)
        let site = try site(request.site)
        guard !request.identity.issuer.isEmpty, !request.identity.subject.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "identity needs issuer (URL or its SHA-1) and subject")
        }
        guard let found = try store.lookup(site: site.name, issuer: request.identity.issuer, subject: request.identity.subject, now: now()) else {
            throw RPCError(code: .notFound, message: "\(request.identity.subject)@\(request.identity.issuer) is not linked at \(site.name)")
        }
        return .with { $0.localAccount = found.link.localAccount; $0.linkedIdentities = found.linked; $0.linkedAt = found.link.linkedAt }
    }

    public func listMyLinks(request: Weft_Identity_V1_ListMyLinksRequest, context: ServerContext) async throws -> Weft_Identity_V1_ListMyLinksResponse {
        let caller = try caller(context)
        let size = Paging.size(request.pageSize)
        let offset = try Paging.offset(request.pageToken)
        let links = try store.links(issuer: caller.issuer, subject: caller.subject, site: request.site.isEmpty ? nil : request.site, offset: offset, limit: size + 1)
        return .with {
            $0.links = Array(links.prefix(size))
            $0.nextPageToken = links.count > size ? String(offset + size) : ""
        }
    }

    // MARK: API keys

    public func createApiKey(request: Weft_Identity_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Weft_Identity_V1_CreateApiKeyResponse {
        let site = try site(request.site)
        try context.require(.identityAdmin, site: site.name)
        let ttl: Duration = request.hasTtl ? .seconds(request.ttl.seconds) : configuration.defaultKeyTTL
        guard ttl > .zero else { throw RPCError(code: .invalidArgument, message: "ttl must be positive") }
        guard ttl <= configuration.maximumKeyTTL else {
            throw RPCError(code: .invalidArgument, message: "ttl exceeds the maximum of \(configuration.maximumKeyTTL.components.seconds / 86400) days")
        }
        let (keyID, secret, hash) = APIKeySecret.generate()
        let created = now()
        let key = Weft_Identity_V1_ApiKey.with {
            $0.keyId = keyID
            $0.site = site.name
            $0.displayName = request.displayName
            if let p = context.principal { $0.createdBy = .with { $0.issuer = p.issuer; $0.subject = p.subject } }
            $0.createdAt = .init(date: created)
            $0.expiresAt = .init(date: created.addingTimeInterval(TimeInterval(ttl.components.seconds)))
        }
        try store.insert(key, hash: hash)
        logger.info("API key created", metadata: ["site": "\(site.name)", "key": "\(keyID)", "by": "\(context.principal?.description ?? "-")"])
        return .with { $0.key = key; $0.secret = secret }
    }

    public func validateApiKey(request: Weft_Identity_V1_ValidateApiKeyRequest, context: ServerContext) async throws -> Weft_Identity_V1_ValidateApiKeyResponse {
        switch try check(request.secret) {
        case .valid(let key): return .with { $0.valid = true; $0.key = key }
        case .invalid(let key, let reason): return .with { $0.valid = false; if let key { $0.key = key }; $0.invalidReason = reason }
        }
    }

    public func listApiKeys(request: Weft_Identity_V1_ListApiKeysRequest, context: ServerContext) async throws -> Weft_Identity_V1_ListApiKeysResponse {
        let site = try site(request.site)
        try context.require(.identityAdmin, site: site.name)
        let size = Paging.size(request.pageSize)
        var after = request.pageToken
        var page: [Weft_Identity_V1_ApiKey] = []
        let t = now()
        // Inactive keys are filtered after reading, so read on until the page is full.
        while page.count < size + 1 {
            let batch = try store.keys(site: site.name, afterID: after, limit: 256)
            guard let last = batch.last else { break }
            after = last.keyId
            page += batch.filter { request.includeInactive || Self.inactiveReason($0, at: t) == nil }
        }
        let more = page.count > size
        page = Array(page.prefix(size))
        return .with { $0.keys = page; $0.nextPageToken = more ? (page.last?.keyId ?? "") : "" }
    }

    public func revokeApiKey(request: Weft_Identity_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Weft_Identity_V1_RevokeApiKeyResponse {
        guard let existing = try store.key(id: request.keyId) else { throw RPCError(code: .notFound, message: "no API key \(request.keyId)") }
        try context.require(.identityAdmin, site: existing.key.site)
        let t = now()
        let key = try store.update(id: request.keyId) { if !$0.hasRevokedAt { $0.revokedAt = .init(date: t) } }
        logger.info("API key revoked", metadata: ["site": "\(existing.key.site)", "key": "\(request.keyId)"])
        return .with { if let key { $0.key = key } }
    }

    // MARK: APIKeyValidating

    public func principal(forAPIKey secret: String) async throws(AuthenticationError) -> Principal {
        let outcome: KeyCheck
        do { outcome = try check(secret) } catch { throw AuthenticationError(.invalidAPIKey, "cannot read API keys") }
        switch outcome {
        case .valid(let key): return Principal(issuer: Principal.apiKeyIssuer, subject: key.keyId, source: .apiKey, name: key.displayName, site: key.site)
        case .invalid(let key, let reason): throw AuthenticationError(.invalidAPIKey, "\(key?.keyId ?? "the key") is \(reason)")
        }
    }

    // MARK: Helpers

    private enum KeyCheck { case valid(Weft_Identity_V1_ApiKey), invalid(Weft_Identity_V1_ApiKey?, String) }

    /// Checks a presented secret; marks a valid key used.
    private func check(_ secret: String) throws -> KeyCheck {
        guard let (keyID, secretPart) = APIKeySecret.split(secret), let stored = try store.key(id: keyID),
              APIKeySecret.equal(stored.hash, APIKeySecret.hash(secretPart))
        else { return .invalid(nil, "unknown") }
        let t = now()
        if let reason = Self.inactiveReason(stored.key, at: t) { return .invalid(stored.key, reason) }
        let used = try store.update(id: keyID) { $0.lastUsedAt = .init(date: t) } ?? stored.key
        return .valid(used)
    }

    private static func inactiveReason(_ key: Weft_Identity_V1_ApiKey, at t: Date) -> String? {
        if key.hasRevokedAt { return "revoked" }
        if key.hasExpiresAt, key.expiresAt.date <= t { return "expired" }
        return nil
    }

    /// A lookup needs an API key of the site (request field, `x-api-key` metadata, or the key the
    /// interceptor already proved), or a caller who administers the site.
    private func authorizeLookup(_ request: Weft_Identity_V1_LookupMappingRequest, site: String, context: ServerContext) throws {
        let presented = request.apiKey.isEmpty ? context.requestMetadata.first("x-api-key") : request.apiKey
        if let presented, !presented.isEmpty {
            switch try check(presented) {
            case .invalid(let key, let reason):
                throw RPCError(code: .unauthenticated, message: "API key \(key?.keyId ?? "") is \(reason)".replacingOccurrences(of: "key  is", with: "key is"))
            case .valid(let key) where key.site != site:
                throw RPCError(code: .permissionDenied, message: "API key \(key.keyId) is for site \(key.site), not \(site)")
            case .valid:
                return
            }
        }
        if let scope = context.scope(of: .identityAdmin), scope.allows(site) { return }
        throw RPCError(code: .unauthenticated, message: "LookupMapping needs an API key of site \(site) (api_key or x-api-key metadata)")
    }

    private func site(_ name: String) throws -> IdentityConfiguration.Site {
        guard !name.isEmpty else { throw RPCError(code: .invalidArgument, message: "site is empty") }
        guard let site = sites[name] else { throw RPCError(code: .notFound, message: "unknown site \(name) (known: \(sites.keys.sorted().joined(separator: ", ")))") }
        return site
    }

    /// The caller's federated identity, from the verified token.
    private func caller(_ context: ServerContext) throws -> Weft_Common_V1_FederatedIdentity {
        guard let p = context.principal, p.source == .token || p.source == .development else {
            throw RPCError(code: .unauthenticated, message: "this call needs the caller's bearer token")
        }
        return .with { $0.issuer = p.issuer; $0.subject = p.subject }
    }

    /// Verifies a site token and reads the local account it proves.
    private func verifiedAccount(_ token: String, at site: IdentityConfiguration.Site) async throws -> Weft_Identity_V1_LocalAccount {
        guard let verifier else { throw RPCError(code: .failedPrecondition, message: "no issuers are configured: site tokens cannot be verified (development mode)") }
        let verified: VerifiedToken
        do {
            verified = try await verifier.verify(token)
        } catch {
            throw RPCError(code: .invalidArgument, message: "site_token: \(error)")
        }
        guard verified.principal.issuer == site.issuer else {
            throw RPCError(code: .invalidArgument, message: "site_token is from \(verified.principal.issuer); site \(site.name) needs a token of \(site.issuer)")
        }
        let p = verified.principal
        let username: String
        switch site.usernameClaim {
        case "preferred_username": username = p.preferredUsername
        case "sub": username = p.subject
        case "email": username = p.email
        default: username = verified.accountClaims[site.usernameClaim]?.first ?? ""
        }
        guard !username.isEmpty else { throw RPCError(code: .invalidArgument, message: "site_token has no \(site.usernameClaim) claim to name the local account") }
        let claims = verified.accountClaims
        return .with {
            $0.site = site.name
            $0.username = username
            if let uid = (claims["uidNumber"] ?? claims["uid_number"])?.first.flatMap({ Int64($0) }) { $0.uid = uid }
            if let gid = (claims["gidNumber"] ?? claims["gid_number"])?.first.flatMap({ Int64($0) }) { $0.gid = gid }
            $0.groups = claims["posix_groups"] ?? []
            $0.displayName = p.name
            $0.email = p.email
            $0.siteSubject = p.subject
        }
    }
}

/// Offset paging over small lists.
enum Paging {
    static func size(_ requested: Int32) -> Int { requested <= 0 ? 100 : min(Int(requested), 1000) }

    static func offset(_ token: String) throws -> Int {
        if token.isEmpty { return 0 }
        guard let n = Int(token), n >= 0 else { throw RPCError(code: .invalidArgument, message: "invalid page_token") }
        return n
    }

    static func page<T>(_ all: [T], size requested: Int32, token: String) throws -> ([T], String) {
        let size = size(requested), start = try offset(token)
        guard start < all.count else { return ([], "") }
        let end = min(all.count, start + size)
        return (Array(all[start..<end]), end < all.count ? String(end) : "")
    }
}
