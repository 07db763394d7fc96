import Foundation
import GRDB
import Logging
import Synchronization

/// Durable accounting state in SQLite (WAL): records, publishers and summaries.
///
/// One batch is one transaction (records, summary rows and the publisher's sequence together),
/// so summaries never disagree with the records, and a batch is either wholly there or not.
public final class AccountingStore: Sendable {
    /// How hard a commit pushes to disk before it returns.
    public enum Durability: String, Sendable, Hashable {
        /// `synchronous=FULL`: the WAL is fsynced at every commit, so an acknowledged batch
        /// survives a power failure or kernel crash. The default: an ack is a promise.
        case full
        /// `synchronous=NORMAL`: the WAL is fsynced only at checkpoints. An acknowledged batch
        /// survives a crash of the process, but the last commits may be lost if the machine
        /// loses power; faster when the disk's fsync is slow.
        case normal
    }

    let pool: DatabasePool
    /// Checkpoints the WAL beside the commits; its hook on the pool's connections holds it
    /// unretained, so it lives exactly as long as the store.
    let checkpointer: Checkpointer
    /// Row ids of job summary rows summed from job records (they are never deleted), so that a
    /// batch updates a known row by id instead of searching the 14-column unique index.
    /// Filled only after a commit succeeds, so a rolled-back insert never leaves an id behind.
    let jobRowIDs = Mutex<[HashedJobGroup: Int64]>([:])
    /// Ids remembered at most; the cache starts over beyond.
    static let jobRowIDCapacity = 200_000
    /// The file the store lives in.
    public let path: String
    /// The durability commits have.
    public let durability: Durability
    let logger: Logger

    /// Opens or creates the store at `path` (its directory is created, readable by its owner only).
    public init(path: String, durability: Durability = .full, logger: Logger = Logger(label: "weft.accounting.store")) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var config = Configuration()
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        let checkpointer = Checkpointer(logger: logger)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // The key index and the summary tables of a million records exceed SQLite's default
            // 2 MiB page cache; misses became a pread per insert. 32 MiB per connection, filled on use.
            try db.execute(sql: "PRAGMA cache_size = -32768")
            checkpointer.install(on: db)
        }
        pool = try DatabasePool(path: path, configuration: config)
        self.path = path
        self.durability = durability
        self.logger = logger
        self.checkpointer = checkpointer
        try Schema.migrator().migrate(pool)
        try checkpointer.open(path: path, synchronous: synchronous)
        logger.info("opened the accounting store", metadata: ["path": "\(path)", "durability": "\(durability.rawValue)"])
    }

    /// Closes the database; the store is unusable afterwards.
    public func close() throws {
        try checkpointer.close()
        try pool.close()
    }

    // MARK: Publishers

    /// The publishing state of one publisher.
    public struct PublisherState: Sendable, Hashable {
        /// The publisher.
        public var id: String
        /// The site it publishes for.
        public var site: String
        /// Highest batch sequence committed.
        public var lastCommittedSequence: UInt64
        /// When it last committed a batch, nanoseconds since the epoch (0 if never).
        public var lastPublishTime: Int64
        /// Records stored in total.
        public var acceptedRecords: Int64
        /// Records rejected in total.
        public var rejectedRecords: Int64
    }

    /// Why a publishing session cannot open.
    public struct PublisherSiteMismatch: Error, Sendable, Hashable {
        /// The publisher.
        public var publisherID: String
        /// Site it is registered for.
        public var registeredSite: String
        /// Site the session asked for.
        public var requestedSite: String
    }

    /// Registers `id` for `site` if it is new and returns its last committed sequence; throws
    /// ``PublisherSiteMismatch`` when the publisher is registered for another site (sequences are
    /// per publisher, so one id cannot serve two sites).
    public func openPublisher(id: String, site: String) async throws -> UInt64 {
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT site, last_sequence FROM publishers WHERE id = ?", arguments: [id]) {
                let registered: String = row[0]
                guard registered == site else { throw PublisherSiteMismatch(publisherID: id, registeredSite: registered, requestedSite: site) }
                return UInt64(bitPattern: row[1] as Int64)
            }
            try db.execute(sql: "INSERT INTO publishers (id, site) VALUES (?, ?)", arguments: [id, site])
            return 0
        }
    }

    /// The state of publisher `id`, or nil if it never opened a session.
    public func publisher(id: String) async throws -> PublisherState? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM publishers WHERE id = ?", arguments: [id]).map { row in
                PublisherState(
                    id: row["id"], site: row["site"], lastCommittedSequence: UInt64(bitPattern: row["last_sequence"] as Int64),
                    lastPublishTime: row["last_publish_time"], acceptedRecords: row["accepted"], rejectedRecords: row["rejected"])
            }
        }
    }

    /// Number of records stored (all kinds).
    public func recordCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM records") ?? 0 }
    }
}
