import JWTKit

/// The claims Weft reads from an OIDC access or ID token. Lenient in shape (a claim may be a
/// string or a list, a time an integer or a fraction), because issuers differ; strict checks of
/// the values happen in ``TokenVerifier``.
struct Claims: JWTPayload {
    var iss: String?
    var sub: String?
    var aud: [String]
    var exp: Double?
    var nbf: Double?
    var name: String?
    var email: String?
    var preferredUsername: String?
    var entitlements: [String]
    /// Every claim the identity service may read (uid/gid numbers, groups) as strings.
    var extra: [String: [String]]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Claims whose values may be copied into a local account when a site token links it.
    static let accountClaims = ["uidNumber", "gidNumber", "uid_number", "gid_number", "groups", "posix_groups"]

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func string(_ k: String) -> String? { try? c.decode(String.self, forKey: Key(k)) }
        func strings(_ k: String) -> [String] {
            if let s = try? c.decode(String.self, forKey: Key(k)) { return [s] }
            if let a = try? c.decode([String].self, forKey: Key(k)) { return a }
            if let n = try? c.decode(Int64.self, forKey: Key(k)) { return [String(n)] }
            return []
        }
        func number(_ k: String) -> Double? { try? c.decode(Double.self, forKey: Key(k)) }
        iss = string("iss")
        sub = string("sub")
        aud = strings("aud")
        exp = number("exp")
        nbf = number("nbf")
        name = string("name")
        email = string("email")
        preferredUsername = string("preferred_username")
        entitlements = strings("eduperson_entitlement") + strings("entitlements") + strings("groups")
        var extra: [String: [String]] = [:]
        for k in Self.accountClaims { let v = strings(k); if !v.isEmpty { extra[k] = v } }
        self.extra = extra
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(iss, forKey: Key("iss"))
        try c.encodeIfPresent(sub, forKey: Key("sub"))
        try c.encode(aud, forKey: Key("aud"))
        try c.encodeIfPresent(exp, forKey: Key("exp"))
        try c.encodeIfPresent(nbf, forKey: Key("nbf"))
    }

    /// Claims are checked by ``TokenVerifier`` with its clock skew, not here.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
