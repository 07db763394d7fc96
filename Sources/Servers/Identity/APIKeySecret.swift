import Crypto
import Foundation

/// API key secrets: `<key id>.<random secret>`. Only a SHA-256 of the secret part is stored, so
/// a stolen database reveals no usable key; comparison is constant-time.
enum APIKeySecret {
    /// A new key id and the full secret to hand out once.
    static func generate() -> (keyID: String, secret: String, hash: [UInt8]) {
        var rng = SystemRandomNumberGenerator()
        let id = "ak_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secretPart = Data(random).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (id, "\(id).\(secretPart)", hash(secretPart))
    }

    /// Splits a presented secret into key id and secret part.
    static func split(_ presented: String) -> (keyID: String, secretPart: String)? {
        let parts = presented.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[0].hasPrefix("ak_"), !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// SHA-256 of the secret part.
    static func hash(_ secretPart: String) -> [UInt8] { Array(SHA256.hash(data: Data(secretPart.utf8))) }

    /// Constant-time equality of two hashes.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// Lower-case hex SHA-1 of an issuer URL, the form ALISE accepts in lookup paths.
    static func issuerSHA1(_ issuer: String) -> String {
        Insecure.SHA1.hash(data: Data(issuer.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
