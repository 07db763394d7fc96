import Crypto
import CryptoExtras
import Foundation
import JWTKit

/// An OIDC issuer for tests: keys generated at test time (RS256, ES256, EdDSA), a JWKS of their
/// public halves, and real signed tokens.
public final class TestIssuer: Sendable {
    /// Signature algorithms the issuer signs with.
    public enum Algorithm: String, Sendable, CaseIterable { case rs256 = "RS256", es256 = "ES256", eddsa = "EdDSA" }

    /// The issuer URL (`iss`).
    public let issuer: String
    private let keys: JWTKeyCollection
    private let jwks: String

    /// Creates an issuer with one fresh key per algorithm, `kid`s `"<prefix>-rs256"` etc.
    public init(issuer: String, kidPrefix: String = "k1") async throws {
        self.issuer = issuer
        let keys = JWTKeyCollection()
        var entries: [String] = []
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let rsaKey = try Insecure.RSA.PrivateKey(backing: rsa)
        let (n, e) = try rsaKey.publicKey.getKeyPrimitives()
        await keys.add(rsa: rsaKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: "\(kidPrefix)-rs256"))
        entries.append(#"{"kty":"RSA","use":"sig","alg":"RS256","kid":"\#(kidPrefix)-rs256","n":"\#(Self.b64url(n))","e":"\#(Self.b64url(e))"}"#)
        let p256 = P256.Signing.PrivateKey()
        let point = p256.publicKey.x963Representation.dropFirst()
        await keys.add(ecdsa: try ES256PrivateKey(backing: p256), kid: JWKIdentifier(string: "\(kidPrefix)-es256"))
        entries.append(#"{"kty":"EC","use":"sig","alg":"ES256","crv":"P-256","kid":"\#(kidPrefix)-es256","x":"\#(Self.b64url(point.prefix(32)))","y":"\#(Self.b64url(point.suffix(32)))"}"#)
        let ed = Curve25519.Signing.PrivateKey()
        await keys.add(eddsa: EdDSA.PrivateKey(backing: ed), kid: JWKIdentifier(string: "\(kidPrefix)-eddsa"))
        entries.append(#"{"kty":"OKP","use":"sig","alg":"EdDSA","crv":"Ed25519","kid":"\#(kidPrefix)-eddsa","x":"\#(Self.b64url(ed.publicKey.rawRepresentation))"}"#)
        self.keys = keys
        jwks = #"{"keys":[\#(entries.joined(separator: ","))]}"#
    }

    /// The JWKS document of the public keys.
    public var jwksJSON: String { jwks }

    /// Writes the JWKS to `path`.
    public func writeJWKS(to path: String) throws { try Data(jwks.utf8).write(to: URL(fileURLWithPath: path)) }

    /// A signed token. `issuer` overrides `iss` (to forge tokens of another issuer with these keys).
    public func token(
        subject: String, algorithm: Algorithm = .es256, audience: [String] = ["weft"], expiresIn: TimeInterval = 600,
        notBefore: Date? = nil, issuer: String? = nil, kidPrefix: String = "k1", claims extra: [String: TestClaim] = [:]
    ) async throws -> String {
        var claims: [String: TestClaim] = [
            "iss": .string(issuer ?? self.issuer), "sub": .string(subject), "aud": .strings(audience),
            "exp": .number(Date().addingTimeInterval(expiresIn).timeIntervalSince1970.rounded()),
            "iat": .number(Date().timeIntervalSince1970.rounded()),
        ]
        if let notBefore { claims["nbf"] = .number(notBefore.timeIntervalSince1970.rounded()) }
        claims.merge(extra) { _, new in new }
        return try await keys.sign(TestClaims(values: claims), kid: JWKIdentifier(string: "\(kidPrefix)-\(algorithm.rawValue.lowercased())"))
    }

    private static func b64url(_ d: some DataProtocol) -> String {
        Data(d).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// A claim value of a test token.
public enum TestClaim: Codable, Sendable, Hashable {
    case string(String), strings([String]), number(Double)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .string(s) } else if let n = try? c.decode(Double.self) { self = .number(n) } else { self = .strings(try c.decode([String].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .strings(let a): try c.encode(a)
        case .number(let n): try c.encode(n)
        }
    }
}

struct TestClaims: JWTPayload {
    var values: [String: TestClaim]
    init(values: [String: TestClaim]) { self.values = values }
    init(from decoder: any Decoder) throws { values = try [String: TestClaim](from: decoder) }
    func encode(to encoder: any Encoder) throws { try values.encode(to: encoder) }
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
