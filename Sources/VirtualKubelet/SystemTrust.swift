import Foundation

/// The host's CA bundle, to tell whether a kubeconfig's CA is already trusted system-wide.
enum SystemTrust {
    /// Bundles libcurl and OpenSSL use on common distributions.
    static let bundles = [
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem",
    ]

    /// True if any certificate of `pem` is in the system bundle.
    static func contains(pem: Data) -> Bool {
        let wanted = Set(certificates(in: pem))
        guard !wanted.isEmpty else { return false }
        for path in bundles {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            if !wanted.isDisjoint(with: certificates(in: data)) { return true }
        }
        return false
    }

    /// The base64 bodies of the `CERTIFICATE` blocks of a PEM file, without whitespace.
    static func certificates(in pem: Data) -> [String] {
        let text = String(decoding: pem, as: UTF8.self)
        var out: [String] = []
        var current: String?
        for line in text.split(whereSeparator: \.isNewline) {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l == "-----BEGIN CERTIFICATE-----" {
                current = ""
            } else if l == "-----END CERTIFICATE-----" {
                if let c = current, !c.isEmpty { out.append(c) }
                current = nil
            } else if current != nil {
                current? += l
            }
        }
        return out
    }
}
