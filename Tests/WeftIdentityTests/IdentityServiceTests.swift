import Foundation
import Gen
import Testing
import TestSupport
import WeftAuth
import WeftIdentity
import WeftProtobuf
import WeftRPC

/// An identity service behind the real interceptor, with an external issuer (EGI-like) and the
/// site issuers of two sites; the clock of API keys is the test's.
private struct Fixture {
    let egi: TestIssuer
    let vegaIdP: TestIssuer
    let rpc: RPCServer
    let clock: Box<Date>

    init() async throws {
        egi = try await TestIssuer(issuer: "https://egi.test/realm")
        vegaIdP = try await TestIssuer(issuer: "https://idp.vega.test")
        let dir = NSTemporaryDirectory() + "weft-identity-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try egi.writeJWKS(to: dir + "/egi.json")
        try vegaIdP.writeJWKS(to: dir + "/vega.json")
        let verifier = TokenVerifier(issuers: [
            IssuerConfiguration(issuer: egi.issuer, audiences: ["weft"], keys: .file(dir + "/egi.json"), displayName: "EGI"),
            IssuerConfiguration(issuer: vegaIdP.issuer, audiences: ["weft"], keys: .file(dir + "/vega.json")),
        ])
        let clock = Box(Date())
        self.clock = clock
        let identity = try IdentityService(
            configuration: IdentityConfiguration(databasePath: dir + "/identity.sqlite", sites: [
                .init(name: "vega", issuer: vegaIdP.issuer, usernameClaim: "preferred_username"),
                .init(name: "desy", issuer: "https://idp.desy.test"),
            ]),
            verifier: verifier, now: { clock.withLock { $0 } })
        let policy = AccessPolicy(grants: [
            Grant(permission: .identityAdmin, sites: ["vega"], to: [.entitlement("urn:vega:admins")]),
            Grant(permission: .identityAdmin, sites: ["desy"], to: [.entitlement("urn:desy:admins")]),
        ])
        rpc = RPCServer(services: [identity], interceptors: [AuthInterceptor(mode: .enforcing(verifier), policy: policy, apiKeys: identity)])
    }

    func client(_ token: String? = nil, apiKey: String? = nil) -> Weft_Identity_V1_IdentityService.Client {
        var interceptors: [any ClientInterceptor] = token.map { [BearerTokenInterceptor(.literal($0))] } ?? []
        if let apiKey { interceptors.append(APIKeyHeader(key: apiKey)) }
        return .init(RPCClient(transport: InProcessTransport(server: rpc), interceptors: interceptors))
    }
}

private struct APIKeyHeader: ClientInterceptor {
    let key: String
    func intercept<R>(descriptor: MethodDescriptor, options: CallOptions, next: (CallOptions) async throws -> R) async throws -> R {
        var o = options
        o.metadata.addString(key, forKey: "x-api-key")
        return try await next(o)
    }
}

private func code(_ body: () async throws -> Void) async -> (StatusCode, String)? {
    do { try await body() } catch let e as RPCError { return (e.code, e.message) } catch { return (.unknown, "\(error)") }
    return nil
}

private func identity(_ issuer: String, _ subject: String) -> Weft_Common_V1_FederatedIdentity { .with { $0.issuer = issuer; $0.subject = subject } }

struct IdentityServiceTests {
    @Test func linkThenLookUpWithASiteScopedKey() async throws {
        let f = try await Fixture()
        let alice = try await f.egi.token(subject: "alice-egi", claims: ["name": .string("Alice A")])
        let siteToken = try await f.vegaIdP.token(subject: "v-123", claims: [
            "preferred_username": .string("alice_v"), "uidNumber": .number(1001), "gidNumber": .number(500),
        ])
        let linked = try await f.client(alice).linkIdentity(.with { $0.site = "vega"; $0.proof = .siteToken(siteToken) })
        #expect(linked.created)
        #expect(linked.link.localAccount.username == "alice_v")
        #expect(linked.link.localAccount.uid == 1001 && linked.link.localAccount.gid == 500)
        #expect(linked.link.identity == identity(f.egi.issuer, "alice-egi"))
        #expect(linked.link.displayName == "Alice A")
        let again = try await f.client(alice).linkIdentity(.with { $0.site = "vega"; $0.proof = .siteToken(siteToken) })
        #expect(!again.created)
        #expect(try await f.client(alice).listMyLinks(.init()).links.map(\.localAccount.username) == ["alice_v"])

        let vegaAdmin = try await f.egi.token(subject: "admin-v", claims: ["eduperson_entitlement": .strings(["urn:vega:admins"])])
        let desyAdmin = try await f.egi.token(subject: "admin-d", claims: ["eduperson_entitlement": .strings(["urn:desy:admins"])])
        let vegaKey = try await f.client(vegaAdmin).createApiKey(.with { $0.site = "vega"; $0.displayName = "storage edge"; $0.ttl = .with { $0.seconds = 3600 } })
        let desyKey = try await f.client(desyAdmin).createApiKey(.with { $0.site = "desy" })
        #expect(vegaKey.secret.hasPrefix(vegaKey.key.keyId + "."))

        // A vega key finds the mapping, in the request or as x-api-key metadata, issuer as URL or SHA-1.
        let lookup = Weft_Identity_V1_LookupMappingRequest.with { $0.site = "vega"; $0.identity = identity(f.egi.issuer, "alice-egi") }
        let found = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = vegaKey.secret })
        #expect(found.localAccount.username == "alice_v")
        #expect(found.linkedIdentities == [identity(f.egi.issuer, "alice-egi")])
        #expect(await code { _ = try await f.client(apiKey: vegaKey.secret).lookupMapping(.with {
            $0.site = "vega"; $0.identity = identity("a0f8f6e2bb6e3c8a7ad6b0b0f5d14fb87e4bb1f9", "alice-egi")
        }) }?.0 == .notFound)
        let sha1 = try await f.client(apiKey: vegaKey.secret).lookupMapping(.with {
            $0.site = "vega"; $0.identity = identity(Self.sha1Hex(f.egi.issuer), "alice-egi")
        })
        #expect(sha1.localAccount.username == "alice_v")

        // Another site's key, no key, an expired key, a revoked key: refused.
        let other = await code { _ = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = desyKey.secret }) }
        #expect(other?.0 == .permissionDenied)
        #expect(other?.1.contains("is for site desy, not vega") == true)
        #expect(await code { _ = try await f.client().lookupMapping(lookup) }?.0 == .unauthenticated)
        #expect(await code { _ = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = "ak_0000.nope" }) }?.0 == .unauthenticated)
        f.clock.withLock { $0 = $0.addingTimeInterval(7200) }
        let expired = await code { _ = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = vegaKey.secret }) }
        #expect(expired?.0 == .unauthenticated)
        #expect(expired?.1.contains("expired") == true)
        let fresh = try await f.client(vegaAdmin).createApiKey(.with { $0.site = "vega" })
        _ = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = fresh.secret })
        _ = try await f.client(vegaAdmin).revokeApiKey(.with { $0.keyId = fresh.key.keyId })
        let revoked = await code { _ = try await f.client(apiKey: fresh.secret).lookupMapping(lookup) }
        #expect(revoked?.0 == .unauthenticated)
        #expect(revoked?.1.contains("revoked") == true)

        // Keys listed without secrets; inactive ones only on request.
        let active = try await f.client(vegaAdmin).listApiKeys(.with { $0.site = "vega" }).keys
        #expect(active.isEmpty)
        let all = try await f.client(vegaAdmin).listApiKeys(.with { $0.site = "vega"; $0.includeInactive = true }).keys
        #expect(Set(all.map(\.keyId)) == [vegaKey.key.keyId, fresh.key.keyId])

        // Unlinked: no longer found.
        _ = try await f.client(alice).unlinkIdentity(.with { $0.site = "vega" })
        let lookupKey = try await f.client(vegaAdmin).createApiKey(.with { $0.site = "vega" })
        #expect(await code { _ = try await f.client().lookupMapping(.with { $0 = lookup; $0.apiKey = lookupKey.secret }) }?.0 == .notFound)
    }

    @Test func refusesWhatTheCallerCannotProve() async throws {
        let f = try await Fixture()
        let alice = try await f.egi.token(subject: "alice-egi")
        // No token at all.
        #expect(await code { _ = try await f.client().listSites(.init()) }?.0 == .unauthenticated)
        // A site token from the wrong issuer.
        let wrong = try await f.egi.token(subject: "x", claims: ["preferred_username": .string("root")])
        let e = await code { _ = try await f.client(alice).linkIdentity(.with { $0.site = "vega"; $0.proof = .siteToken(wrong) }) }
        #expect(e?.0 == .invalidArgument)
        #expect(e?.1.contains("needs a token of https://idp.vega.test") == true)
        // A forged site token.
        let forger = try await TestIssuer(issuer: "https://idp.vega.test")
        let forged = try await forger.token(subject: "v-1", claims: ["preferred_username": .string("root")])
        #expect(await code { _ = try await f.client(alice).linkIdentity(.with { $0.site = "vega"; $0.proof = .siteToken(forged) }) }?.0 == .invalidArgument)
        // Admin-only operations.
        let keyDenied = await code { _ = try await f.client(alice).createApiKey(.with { $0.site = "vega" }) }
        #expect(keyDenied?.0 == .permissionDenied)
        #expect(keyDenied?.1.contains("missing permission identity.admin") == true)
        #expect(await code { _ = try await f.client(alice).linkIdentity(.with {
            $0.site = "vega"; $0.proof = .adminUsername("root"); $0.identity = identity("https://egi.test/realm", "mallory")
        }) }?.0 == .permissionDenied)
        // Unknown site.
        #expect(await code { _ = try await f.client(alice).linkIdentity(.with { $0.site = "nowhere"; $0.proof = .siteToken("x") }) }?.0 == .notFound)
    }

    static func sha1Hex(_ s: String) -> String {
        // Independent of the service's implementation: sha1sum via the system.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha1sum")
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try? p.run()
        input.fileHandleForWriting.write(Data(s.utf8))
        try? input.fileHandleForWriting.close()
        p.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
