import Foundation
import GRDB
import Logging
import Synchronization
#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// Copies the write-ahead log into the database file on a connection and thread of its own.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so the
/// writer, which is what limits ingest, would stop every few commits to copy and fsync a few
/// megabytes of pages. Here the writer's WAL hook only asks for a checkpoint every
/// `backgroundFrames` new frames, and a PASSIVE checkpoint runs beside the next commits.
/// SQLite starts the log over only when a write begins with every frame copied, which commits
/// arriving back to back rarely allow; so at `inlineFrames` the hook checkpoints inline, as
/// SQLite itself would; the background checkpoints have copied most frames by then, and the log
/// stays within `inlineFrames` (checked by `walIsCheckpointedBesideTheCommits`).
final class Checkpointer: Sendable {
    /// New WAL frames after which a background checkpoint is asked for (SQLite's default threshold).
    static let backgroundFrames: Int32 = 1000
    /// WAL frames after which the committing connection checkpoints itself (16 MiB of 4 KiB pages).
    static let inlineFrames: Int32 = 4 * backgroundFrames

    private let connection = Mutex<DatabaseQueue?>(nil)
    private let scheduled = Atomic<Bool>(false)
    /// WAL size (frames) at the last request; the hook runs on the writer alone.
    private let requestedAt = Atomic<Int32>(0)
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Opens the checkpointing connection to the database at `path`, which must exist in WAL mode.
    func open(path: String, synchronous: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        config.label = "accounting checkpointer"
        let queue = try DatabaseQueue(path: path, configuration: config)
        connection.withLock { $0 = queue }
    }

    /// Closes the connection; later requests do nothing.
    func close() throws {
        try connection.withLock { c in
            defer { c = nil }
            try c?.close()
        }
    }

    /// Installs the WAL hook on `db` (every connection of the pool; only the writer commits).
    /// The hook holds `self` unretained: the store keeps the checkpointer as long as its pool.
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, { context, db, name, frames in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue()
            checkpointer.walGrew(to: frames, db: db, name: name)
            return SQLITE_OK
        }, context)
    }

    /// After a commit on `db`, whose WAL now holds `frames` frames.
    private func walGrew(to frames: Int32, db: OpaquePointer?, name: UnsafePointer<CChar>?) {
        var last = requestedAt.load(ordering: .relaxed)
        if frames < last { last = 0 }  // the log was started over since: count from its beginning
        if frames >= Self.inlineFrames {
            _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            last = 0
        } else if frames - last >= Self.backgroundFrames {
            last = frames
            request()
        }
        requestedAt.store(last, ordering: .relaxed)
    }

    /// Schedules one checkpoint unless one is scheduled and has not started yet.
    private func request() {
        guard scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        connection.withLock { c in
            guard let c else { return }
            c.asyncWriteWithoutTransaction { [self] db in
                scheduled.store(false, ordering: .releasing)
                do {
                    try db.checkpoint(.passive)
                } catch {
                    logger.warning("WAL checkpoint failed; SQLite will retry at the next one", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
