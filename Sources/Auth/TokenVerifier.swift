import Foundation
import JWTKit
import Logging

/// A token that passed every check, with the identity and claims it proves.
public struct VerifiedToken: Sendable, Hashable {
    /// The identity.
    public var principal: Principal
    /// When the token expires.
    public var expiresAt: Date
    /// Claims a site's identity provider may assert about the local account (`uidNumber`,
    /// `gidNumber`, `groups`, …), as strings.
    public var accountClaims: [String: [String]]
}

/// Verifies bearer JWTs against configured OIDC issuers: the signature with the issuer's keys
/// (RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA, by jwt-kit), then `iss`, `exp`, `nbf`
/// and `aud` with a small clock skew.
///
/// Symmetric and unsigned algorithms (`HS*`, `none`) are refused outright: with public keys in a
/// JWKS, accepting them would let anyone forge tokens.
public final class TokenVerifier: Sendable {
    private let issuers: [String: (configuration: IssuerConfiguration, keys: IssuerKeys)]
    private let clockSkew: TimeInterval
    private let now: @Sendable () -> Date
    private static let asymmetric: Set<String> = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ]

    /// Creates a verifier for `issuers`. `clockSkew` tolerates clocks that disagree a little;
    /// `refreshInterval` is how long fetched keys are used before they are fetched again.
    public init(
        issuers: [IssuerConfiguration], clockSkew: Duration = .seconds(60), refreshInterval: Duration = .seconds(3600),
        now: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "weft.auth")
    ) {
        var map: [String: (IssuerConfiguration, IssuerKeys)] = [:]
        for issuer in issuers {
            map[issuer.issuer] = (issuer, IssuerKeys(source: issuer.keys, refreshInterval: refreshInterval, minimumReloadInterval: .seconds(10), logger: logger))
        }
        self.issuers = map
        self.clockSkew = TimeInterval(clockSkew.components.seconds)
        self.now = now
    }

    /// The configured issuers.
    public var configuredIssuers: [IssuerConfiguration] { issuers.values.map(\.configuration).sorted { $0.issuer < $1.issuer } }

    /// Verifies `token` and returns the identity it proves.
    public func verify(_ token: String) async throws(AuthenticationError) -> VerifiedToken {
        let bytes = [UInt8](token.utf8)
        let header: JWTHeader
        let claims: Claims
        do {
            (header, claims, _) = try DefaultJWTParser().parse(bytes, as: Claims.self)
        } catch {
            throw AuthenticationError(.malformed, "not a JWT (three base64url parts with JSON header and claims)")
        }
        guard let issuer = claims.iss, !issuer.isEmpty else { throw AuthenticationError(.malformed, "the token has no iss claim") }
        guard let entry = issuers[issuer] else {
            throw AuthenticationError(.unknownIssuer, "tokens of \(issuer) are not accepted here")
        }
        guard let alg = header.alg, Self.asymmetric.contains(alg) else {
            throw AuthenticationError(.unsupportedAlgorithm, "\(header.alg ?? "no alg") (accepted: RS*, PS*, ES*, EdDSA)")
        }
        let keys = try await entry.keys.keys(for: header.kid)
        do {
            _ = try await keys.verify(bytes, as: Claims.self)
        } catch let error as JWTError where error.errorType == .unknownKID || error.errorType == .noKeyProvided {
            throw AuthenticationError(.badSignature, "no key \(header.kid ?? "(no kid)") of \(issuer) verifies it")
        } catch {
            throw AuthenticationError(.badSignature, "the signature does not verify with the keys of \(issuer)")
        }
        let t = now().timeIntervalSince1970
        guard let exp = claims.exp else { throw AuthenticationError(.malformed, "the token has no exp claim") }
        if t > exp + clockSkew {
            throw AuthenticationError(.expired, "expired at \(Self.format(exp))")
        }
        if let nbf = claims.nbf, t + clockSkew < nbf {
            throw AuthenticationError(.notYetValid, "not valid before \(Self.format(nbf))")
        }
        let accepted = entry.configuration.audiences
        if !accepted.isEmpty, !claims.aud.contains(where: accepted.contains) {
            throw AuthenticationError(.wrongAudience, "audience \(claims.aud) is not one of \(accepted)")
        }
        guard let subject = claims.sub, !subject.isEmpty else { throw AuthenticationError(.malformed, "the token has no sub claim") }
        let principal = Principal(
            issuer: issuer, subject: subject, source: .token, entitlements: claims.entitlements, name: claims.name ?? "",
            email: claims.email ?? "", preferredUsername: claims.preferredUsername ?? "")
        return VerifiedToken(principal: principal, expiresAt: Date(timeIntervalSince1970: exp), accountClaims: claims.extra)
    }

    private static func format(_ epoch: Double) -> String {
        Date(timeIntervalSince1970: epoch).formatted(.iso8601)
    }
}
