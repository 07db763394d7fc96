import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JWTKit
import Logging

/// The public keys of one issuer, loaded from its JWKS and kept fresh.
///
/// Keys are loaded on first use and then refreshed after `refreshInterval`; a token whose `kid`
/// is not known triggers an early reload (key rotation), at most once per `minimumReloadInterval`
/// so that tokens with made-up key ids cannot make the server hammer the issuer. A failed reload
/// keeps the keys it had.
actor IssuerKeys {
    private let source: IssuerConfiguration.KeySource
    private let refreshInterval: Duration
    private let minimumReloadInterval: Duration
    private let logger: Logger
    private var collection: JWTKeyCollection?
    private var keyIDs: Set<String> = []
    private var loadedAt: ContinuousClock.Instant?
    private var lastAttempt: ContinuousClock.Instant?
    private var fileStamp: Date?

    init(source: IssuerConfiguration.KeySource, refreshInterval: Duration, minimumReloadInterval: Duration, logger: Logger) {
        self.source = source
        self.refreshInterval = refreshInterval
        self.minimumReloadInterval = minimumReloadInterval
        self.logger = logger
    }

    /// The key collection to verify a token signed with `kid`.
    func keys(for kid: String?) async throws(AuthenticationError) -> JWTKeyCollection {
        let now = ContinuousClock.now
        let stale = loadedAt.map { now - $0 > refreshInterval } ?? true
        let unknownKid = kid.map { !keyIDs.contains($0) } ?? false
        let mayRetry = lastAttempt.map { now - $0 > minimumReloadInterval } ?? true
        if collection == nil || (stale && mayRetry) || (unknownKid && mayRetry) || fileChanged() {
            await reload()
        }
        guard let collection else { throw AuthenticationError(.keysUnavailable, "cannot load the keys of the issuer from \(describe(source))") }
        return collection
    }

    private func fileChanged() -> Bool {
        guard case .file(let path) = source else { return false }
        let stamp = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        return stamp != fileStamp
    }

    private func reload() async {
        lastAttempt = .now
        do {
            let json: [UInt8]
            switch source {
            case .file(let path):
                fileStamp = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
                guard let data = FileManager.default.contents(atPath: path) else { throw KeyLoadError("cannot read \(path)") }
                json = [UInt8](data)
            case .url(let string):
                guard let url = URL(string: string) else { throw KeyLoadError("not a URL: \(string)") }
                var request = URLRequest(url: url)
                request.timeoutInterval = 10
                let (data, response) = try await URLSession.shared.data(for: request)
                if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                    throw KeyLoadError("\(string) answered HTTP \(http.statusCode)")
                }
                json = [UInt8](data)
            }
            let jwks = try JSONDecoder().decode(JWKS.self, from: Data(json))
            let fresh = JWTKeyCollection()
            var ids: Set<String> = []
            for key in jwks.keys {
                // A key without an id cannot be chosen by a token's `kid`; one we cannot use is skipped.
                guard let kid = key.keyIdentifier?.string else { continue }
                do {
                    try await fresh.add(jwk: key)
                    ids.insert(kid)
                } catch {
                    logger.warning("skipping a key of the JWKS", metadata: ["kid": "\(kid)", "error": "\(error)"])
                }
            }
            collection = fresh
            keyIDs = ids
            loadedAt = .now
            logger.debug("loaded issuer keys", metadata: ["source": "\(describe(source))", "keys": "\(ids.sorted())"])
        } catch {
            logger.warning("cannot load issuer keys", metadata: ["source": "\(describe(source))", "error": "\(error)"])
        }
    }

    private func describe(_ source: IssuerConfiguration.KeySource) -> String {
        switch source {
        case .file(let p): "file \(p)"
        case .url(let u): u
        }
    }
}

private struct KeyLoadError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
