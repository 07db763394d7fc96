import Foundation
import Testing
import TestProtos
import TestSupport
import WeftAuth
import WeftHTTP2
import WeftRPC
import WeftTLS

/// A test service guarded like the kubelet API: the `kubelet` permission.
private func server(_ interceptor: WeftAuth.AuthInterceptor) -> RPCServer {
    RPCServer(services: [KindsService()], interceptors: [interceptor])
}

private let guarded: [String: Requirement] = ["weft.testing.Kinds": .permission(.kubelet)]

private func call(_ rpc: RPCServer, token: String?) async throws {
    let client = Weft_Testing_Kinds.Client(RPCClient(
        transport: InProcessTransport(server: rpc), interceptors: token.map { [BearerTokenInterceptor(.literal($0))] } ?? []))
    _ = try await client.unary(Weft_Testing_Nested())
}

private func status(_ body: () async throws -> Void) async -> RPCError? {
    do { try await body() } catch let e as RPCError { return e } catch { return RPCError(wrapping: error) }
    return nil
}

struct AuthInterceptorTests {
    @Test func enforcesAuthenticationAndPermissions() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let policy = AccessPolicy(grants: [Grant(permission: .kubelet, to: [.identity(issuer: issuer.issuer, subject: "vk")])], overrides: guarded)
        let rpc = server(WeftAuth.AuthInterceptor(mode: .enforcing(try verifier(for: issuer)), policy: policy))

        let none = await status { try await call(rpc, token: nil) }
        #expect(none?.code == .unauthenticated)
        #expect(none?.message.contains("missing credentials") == true)

        let bob = try await issuer.token(subject: "bob")
        let denied = await status { try await call(rpc, token: bob) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message == "missing permission kubelet for /weft.testing.Kinds/Unary; caller bob@https://idp.test")

        try await call(rpc, token: try await issuer.token(subject: "vk"))

        let expired = try await issuer.token(subject: "vk", expiresIn: -600)
        let e = await status { try await call(rpc, token: expired) }
        #expect(e?.code == .unauthenticated)
        #expect(e?.message.hasPrefix("token expired") == true)
        #expect(e.map { !$0.message.contains(expired) } == true)

        let basic = await status {
            var options = CallOptions()
            options.metadata.addString("Basic dXNlcjpwYXNz", forKey: "authorization")
            _ = try await Weft_Testing_Kinds.Client(transport: InProcessTransport(server: rpc)).unary(Weft_Testing_Nested(), options: options)
        }
        #expect(basic?.code == .unauthenticated)
    }

    @Test func entitlementGrantsAndSiteScopesReachHandlers() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let policy = AccessPolicy(grants: [
            Grant(permission: .kubelet, to: [.entitlement("urn:weft:operators")]),
            Grant(permission: .accountingPublish, sites: ["SITE-A"], to: [.entitlement("urn:weft:operators")]),
        ], overrides: guarded)
        let seen = Box<SiteScope?>(nil)
        struct Probe: ServerInterceptor {
            let seen: Box<SiteScope?>
            func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
                let scope = context.scope(of: .accountingPublish)
                seen.withLock { $0 = scope }
                try await next(context)
            }
        }
        let rpc = RPCServer(services: [KindsService()], interceptors: [
            WeftAuth.AuthInterceptor(mode: .enforcing(try verifier(for: issuer)), policy: policy), Probe(seen: seen),
        ])
        try await call(rpc, token: try await issuer.token(subject: "op", claims: ["eduperson_entitlement": .strings(["urn:weft:operators"])]))
        #expect(seen.withLock { $0 } == .sites(["SITE-A"]))
    }

    @Test func developmentModeAllowsEverything() async throws {
        let rpc = server(WeftAuth.AuthInterceptor(mode: .development, policy: AccessPolicy(grants: [], overrides: guarded)))
        try await call(rpc, token: nil)
    }

    @Test func publicMethodsNeedNoToken() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let policy = AccessPolicy(grants: [], overrides: ["weft.testing.Kinds": Requirement.none])
        let rpc = server(WeftAuth.AuthInterceptor(mode: .enforcing(try verifier(for: issuer)), policy: policy))
        try await call(rpc, token: nil)
        // Even a bad token does not stop a public method (health checkers send whatever they have).
        try await call(rpc, token: "garbage")
    }

    @Test func clientCertificatesAreASecondIdentitySource() async throws {
        let certs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("interop/certs").path
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let subject = "CN=interop-client (TEST ONLY),O=Weft test"
        let policy = AccessPolicy(grants: [Grant(permission: .kubelet, to: [.certificate(subject: subject)])], overrides: guarded)
        let rpc = server(WeftAuth.AuthInterceptor(mode: .enforcing(try verifier(for: issuer)), policy: policy, acceptCertificates: true))
        let http2 = try await HTTP2Server.start(serving: rpc, configuration: .init(
            target: .tcp(host: "127.0.0.1", port: 0),
            tls: TLSConfiguration(certificateChainFile: certs + "/server.pem", privateKeyFile: certs + "/server.key", trustRootsFile: certs + "/ca.pem", requireClientCertificate: true)))
        defer { Task { await http2.shutDownGracefully(timeout: .seconds(1)) } }
        let transport = try HTTP2ClientTransport(
            target: .tcp(host: "127.0.0.1", port: http2.port ?? 0),
            tls: TLSConfiguration(certificateChainFile: certs + "/client.pem", privateKeyFile: certs + "/client.key", trustRootsFile: certs + "/ca.pem", serverNameOverride: "foo.test.google.fr"))
        _ = try await Weft_Testing_Kinds.Client(transport: transport).unary(Weft_Testing_Nested(), options: CallOptions(timeout: .seconds(10)))
        await transport.close()
    }
}
