import Foundation
import Testing
import TestSupport
@testable import WeftAuth

/// A JWKS file in a fresh temporary directory.
func jwksFile(_ issuer: TestIssuer) throws -> String {
    let dir = NSTemporaryDirectory() + "weft-auth-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/jwks.json"
    try issuer.writeJWKS(to: path)
    return path
}

func verifier(for issuer: TestIssuer, audiences: [String] = ["weft"]) throws -> TokenVerifier {
    TokenVerifier(issuers: [IssuerConfiguration(issuer: issuer.issuer, audiences: audiences, keys: .file(try jwksFile(issuer)))])
}

func reason(_ body: () async throws -> Void) async -> AuthenticationError? {
    do { try await body() } catch let e as AuthenticationError { return e } catch { Issue.record("unexpected \(error)") }
    return nil
}

struct TokenVerifierTests {
    @Test(arguments: TestIssuer.Algorithm.allCases)
    func acceptsEverySupportedAlgorithm(_ algorithm: TestIssuer.Algorithm) async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test/realm")
        let token = try await issuer.token(subject: "alice", algorithm: algorithm, claims: [
            "eduperson_entitlement": .strings(["urn:weft:admin"]), "name": .string("Alice"), "preferred_username": .string("alice1"),
        ])
        let verified = try await verifier(for: issuer).verify(token)
        #expect(verified.principal == Principal(
            issuer: "https://idp.test/realm", subject: "alice", source: .token, entitlements: ["urn:weft:admin"], name: "Alice",
            preferredUsername: "alice1"))
    }

    @Test func refusesExpiredTokensButToleratesSmallSkew() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let v = try verifier(for: issuer)
        let expired = try await issuer.token(subject: "alice", expiresIn: -3600)
        let e = await reason { _ = try await v.verify(expired) }
        #expect(e?.reason == .expired)
        #expect(e?.description.hasPrefix("token expired: expired at 20") == true)
        let slightlyLate = try await issuer.token(subject: "alice", expiresIn: -20)
        _ = try await v.verify(slightlyLate)
    }

    @Test func refusesTokensNotYetValid() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let token = try await issuer.token(subject: "alice", notBefore: Date().addingTimeInterval(3600))
        #expect(await reason { _ = try await verifier(for: issuer).verify(token) }?.reason == .notYetValid)
    }

    @Test func refusesOtherAudiences() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let token = try await issuer.token(subject: "alice", audience: ["someone-else"])
        let e = await reason { _ = try await verifier(for: issuer).verify(token) }
        #expect(e?.reason == .wrongAudience)
        // No audiences configured: any audience.
        _ = try await verifier(for: issuer, audiences: []).verify(token)
    }

    @Test func refusesUnknownIssuers() async throws {
        let trusted = try await TestIssuer(issuer: "https://idp.test")
        let other = try await TestIssuer(issuer: "https://evil.test")
        let token = try await other.token(subject: "mallory")
        let e = await reason { _ = try await verifier(for: trusted).verify(token) }
        #expect(e?.reason == .unknownIssuer)
        #expect(e?.description == "unknown issuer: tokens of https://evil.test are not accepted here")
    }

    @Test(arguments: TestIssuer.Algorithm.allCases)
    func refusesForgedSignatures(_ algorithm: TestIssuer.Algorithm) async throws {
        // Same issuer URL and key ids, different keys: what a forger without the private keys can do.
        let real = try await TestIssuer(issuer: "https://idp.test")
        let forger = try await TestIssuer(issuer: "https://idp.test")
        let token = try await forger.token(subject: "admin", algorithm: algorithm)
        let e = await reason { _ = try await verifier(for: real).verify(token) }
        #expect(e?.reason == .badSignature)
        #expect(e.map { !$0.description.contains(token) } == true)
        // A signature cut off or altered is refused too.
        let good = try await real.token(subject: "alice", algorithm: algorithm)
        let tampered = String(good.dropLast(4)) + (good.hasSuffix("AAAA") ? "BBBB" : "AAAA")
        #expect(await reason { _ = try await verifier(for: real).verify(tampered) }?.reason == .badSignature)
    }

    @Test func refusesSymmetricAndUnsignedAlgorithmsAndGarbage() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test")
        let v = try verifier(for: issuer)
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        let claims = b64(#"{"iss":"https://idp.test","sub":"x","aud":"weft","exp":9999999999}"#)
        for alg in ["none", "HS256"] {
            let token = b64(#"{"alg":"\#(alg)","kid":"k1-es256"}"#) + "." + claims + "." + b64("sig")
            #expect(await reason { _ = try await v.verify(token) }?.reason == .unsupportedAlgorithm)
        }
        for garbage in ["", "abc", "a.b.c", "\u{0}\u{1}.x.y"] {
            #expect(await reason { _ = try await v.verify(garbage) }?.reason == .malformed)
        }
    }

    @Test func picksUpRotatedKeysFromTheFile() async throws {
        let issuer = try await TestIssuer(issuer: "https://idp.test", kidPrefix: "k1")
        let path = try jwksFile(issuer)
        let v = TokenVerifier(issuers: [IssuerConfiguration(issuer: issuer.issuer, keys: .file(path))])
        _ = try await v.verify(try await issuer.token(subject: "alice"))
        let rotated = try await TestIssuer(issuer: "https://idp.test", kidPrefix: "k2")
        try await Task.sleep(for: .milliseconds(1100))  // a new modification time
        try rotated.writeJWKS(to: path)
        _ = try await v.verify(try await rotated.token(subject: "alice", kidPrefix: "k2"))
        #expect(await reason { _ = try await v.verify(try! await issuer.token(subject: "alice")) }?.reason == .badSignature)
    }
}
