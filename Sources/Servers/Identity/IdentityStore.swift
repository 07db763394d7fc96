import Foundation
import Gen
import GRDB
import WeftPodKit

/// Durable links and API keys of the identity service (SQLite, WAL).
///
/// Each row keeps its protobuf message as the source of truth plus the columns lookups need.
final class IdentityStore: Sendable {
    private let db: DatabasePool

    init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        db = try DatabasePool(path: path)
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 links and keys") { db in
            try db.execute(sql: """
                CREATE TABLE links (
                    site TEXT NOT NULL, issuer TEXT NOT NULL, issuer_sha1 TEXT NOT NULL, subject TEXT NOT NULL,
                    username TEXT NOT NULL, link BLOB NOT NULL,
                    PRIMARY KEY (site, issuer, subject)
                );
                CREATE INDEX links_by_sha1 ON links(site, issuer_sha1, subject);
                CREATE INDEX links_by_account ON links(site, username);
                CREATE INDEX links_by_identity ON links(issuer, subject, site);
                CREATE TABLE api_keys (
                    key_id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL, secret_hash BLOB NOT NULL, key BLOB NOT NULL
                );
                CREATE INDEX api_keys_by_site ON api_keys(site, key_id);
                """)
        }
        try migrator.migrate(db)
    }

    // MARK: Links

    /// Stores `link`, replacing a link of the same identity at the same site. Returns false when
    /// an identical link (same account) was there already; it is then kept with its dates.
    func upsert(_ link: Weft_Identity_V1_IdentityLink) throws -> (link: Weft_Identity_V1_IdentityLink, created: Bool) {
        try db.write { db in
            let site = link.localAccount.site, issuer = link.identity.issuer, subject = link.identity.subject
            if let data = try Data.fetchOne(db, sql: "SELECT link FROM links WHERE site = ? AND issuer = ? AND subject = ?", arguments: [site, issuer, subject]) {
                let old = try Weft_Identity_V1_IdentityLink(serializedBytes: data)
                if old.localAccount == link.localAccount { return (old, false) }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO links (site, issuer, issuer_sha1, subject, username, link) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [site, issuer, APIKeySecret.issuerSHA1(issuer), subject, link.localAccount.username, Data(link.serializedBytes())])
            return (link, true)
        }
    }

    /// Removes and returns the link of an identity at a site.
    func deleteLink(site: String, issuer: String, subject: String) throws -> Weft_Identity_V1_IdentityLink? {
        try db.write { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT link FROM links WHERE site = ? AND issuer = ? AND subject = ?", arguments: [site, issuer, subject]) else { return nil }
            try db.execute(sql: "DELETE FROM links WHERE site = ? AND issuer = ? AND subject = ?", arguments: [site, issuer, subject])
            return try Weft_Identity_V1_IdentityLink(serializedBytes: data)
        }
    }

    /// The link of an identity at a site, the issuer given as URL or SHA-1; marks it used at `now`.
    /// Also returns every identity linked to the same account.
    func lookup(site: String, issuer: String, subject: String, now: Date) throws -> (link: Weft_Identity_V1_IdentityLink, linked: [Weft_Common_V1_FederatedIdentity])? {
        try db.write { db in
            let sha1 = issuer.count == 40 && issuer.allSatisfy(\.isHexDigit) ? issuer.lowercased() : APIKeySecret.issuerSHA1(issuer)
            guard let row = try Row.fetchOne(db, sql: "SELECT issuer, link FROM links WHERE site = ? AND issuer_sha1 = ? AND subject = ?", arguments: [site, sha1, subject]) else { return nil }
            var link = try Weft_Identity_V1_IdentityLink(serializedBytes: row["link"] as Data)
            link.lastUsedAt = .init(date: now)
            try db.execute(sql: "UPDATE links SET link = ? WHERE site = ? AND issuer = ? AND subject = ?",
                           arguments: [Data(link.serializedBytes()), site, row["issuer"] as String, subject])
            let others = try Data.fetchAll(db, sql: "SELECT link FROM links WHERE site = ? AND username = ? ORDER BY issuer, subject",
                                           arguments: [site, link.localAccount.username])
            let linked = try others.map { try Weft_Identity_V1_IdentityLink(serializedBytes: $0).identity }
            return (link, linked)
        }
    }

    /// Links of one identity, at one site or all, ordered by site; `offset` and `limit` page them.
    func links(issuer: String, subject: String, site: String?, offset: Int, limit: Int) throws -> [Weft_Identity_V1_IdentityLink] {
        try db.read { db in
            let rows = try Data.fetchAll(
                db, sql: "SELECT link FROM links WHERE issuer = ? AND subject = ? AND (? IS NULL OR site = ?) ORDER BY site LIMIT ? OFFSET ?",
                arguments: [issuer, subject, site, site, limit, offset])
            return try rows.map { try Weft_Identity_V1_IdentityLink(serializedBytes: $0) }
        }
    }

    // MARK: API keys

    /// Stores a new key.
    func insert(_ key: Weft_Identity_V1_ApiKey, hash: [UInt8]) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO api_keys (key_id, site, secret_hash, key) VALUES (?, ?, ?, ?)",
                           arguments: [key.keyId, key.site, Data(hash), Data(key.serializedBytes())])
        }
    }

    /// A key and its secret hash.
    func key(id: String) throws -> (key: Weft_Identity_V1_ApiKey, hash: [UInt8])? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT key, secret_hash FROM api_keys WHERE key_id = ?", arguments: [id]) else { return nil }
            return (try Weft_Identity_V1_ApiKey(serializedBytes: row["key"] as Data), [UInt8](row["secret_hash"] as Data))
        }
    }

    /// Applies `change` to a stored key and returns the result.
    func update(id: String, _ change: (inout Weft_Identity_V1_ApiKey) -> Void) throws -> Weft_Identity_V1_ApiKey? {
        try db.write { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT key FROM api_keys WHERE key_id = ?", arguments: [id]) else { return nil }
            var key = try Weft_Identity_V1_ApiKey(serializedBytes: data)
            change(&key)
            try db.execute(sql: "UPDATE api_keys SET key = ? WHERE key_id = ?", arguments: [Data(key.serializedBytes()), id])
            return key
        }
    }

    /// The keys of a site ordered by id, after `afterID`.
    func keys(site: String, afterID: String, limit: Int) throws -> [Weft_Identity_V1_ApiKey] {
        try db.read { db in
            try Data.fetchAll(db, sql: "SELECT key FROM api_keys WHERE site = ? AND key_id > ? ORDER BY key_id LIMIT ?",
                              arguments: [site, afterID, limit])
                .map { try Weft_Identity_V1_ApiKey(serializedBytes: $0) }
        }
    }
}
