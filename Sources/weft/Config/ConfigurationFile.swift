import Foundation
import Yams

/// `--config FILE` of `weft up` and `weft sidecar` (YAML). Every section is optional; a missing
/// `auth` section means development mode. See the README's "Authentication" section for an example.
struct ConfigurationFile: Decodable {
    var auth: AuthSection?
    var identity: IdentitySection?
    var accounting: AccountingSection?

    /// `auth:` — issuers, certificates, grants.
    struct AuthSection: Decodable {
        var issuers: [Issuer] = []
        var clockSkewSeconds: Int?
        var clientCertificates: Bool?
        var audit: Bool?
        var grants: [GrantEntry] = []

        enum CodingKeys: String, CodingKey {
            case issuers, audit, grants
            case clockSkewSeconds = "clock_skew_seconds"
            case clientCertificates = "client_certificates"
        }
    }

    /// One trusted issuer.
    struct Issuer: Decodable {
        var issuer: String
        var audiences: [String]?
        var jwksFile: String?
        var jwksURL: String?
        var displayName: String?

        enum CodingKeys: String, CodingKey {
            case issuer, audiences
            case jwksFile = "jwks_file", jwksURL = "jwks_url", displayName = "display_name"
        }
    }

    /// `permission`, optional `sites`, and `to:` a list of matchers.
    struct GrantEntry: Decodable {
        var permission: String
        var sites: [String]?
        var to: [Matcher]
    }

    /// Exactly one of: `issuer` + `subject`, `entitlement`, `certificate`, `authenticated: true`.
    struct Matcher: Decodable {
        var issuer: String?
        var subject: String?
        var entitlement: String?
        var certificate: String?
        var authenticated: Bool?
    }

    /// `identity:` — the sites whose accounts can be linked.
    struct IdentitySection: Decodable {
        var sites: [Site] = []
        var defaultKeyTTLDays: Int?
        var maximumKeyTTLDays: Int?

        enum CodingKeys: String, CodingKey {
            case sites
            case defaultKeyTTLDays = "default_key_ttl_days", maximumKeyTTLDays = "max_key_ttl_days"
        }
    }

    /// One site of the identity service.
    struct Site: Decodable {
        var site: String
        var displayName: String?
        var issuer: String
        var loginURL: String?
        var usernameClaim: String?
        var acceptedIssuers: [String]?

        enum CodingKeys: String, CodingKey {
            case site, issuer
            case displayName = "display_name", loginURL = "login_url", usernameClaim = "username_claim", acceptedIssuers = "accepted_issuers"
        }
    }

    /// `accounting:` — where this process publishes usage of the pods it runs.
    struct AccountingSection: Decodable {
        /// Site name of the usage records of offloaded pods.
        var site: String?
        /// Accounting server (HOST:PORT); this process's own when omitted.
        var server: String?
        /// CA file to reach `server` over TLS.
        var caFile: String?
        /// Token file for `server`.
        var tokenFile: String?

        enum CodingKeys: String, CodingKey {
            case site, server
            case caFile = "ca_file", tokenFile = "token_file"
        }
    }

    /// Reads and decodes `path`; errors name the file and the key path (or line for YAML syntax).
    static func load(_ path: String) throws -> ConfigurationFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw OperationFailure("cannot read the configuration file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return try YAMLDecoder().decode(ConfigurationFile.self, from: text)
        } catch let error as DecodingError {
            throw OperationFailure("\(path): \(Self.describe(error))")
        } catch let error as YamlError {
            throw OperationFailure("\(path):\(Self.describe(error))")
        } catch {
            throw OperationFailure("\(path): \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])): required key missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return "\(mark.line):\(mark.column): \(problem)"
        default:
            return " \(error)"
        }
    }
}
