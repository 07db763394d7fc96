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
/// megabytes of pages. Here the writer's WAL hook only asks for a checkpoint, and a PASSIVE
/// checkpoint runs beside the next commits. Should the log still grow far beyond the threshold
/// (a checkpoint that keeps losing the race with new commits cannot finish, and SQLite starts
/// the log over only after one has), the hook checkpoints inline, as SQLite itself would.
final class Checkpointer: Sendable {
    /// WAL frames after which a background checkpoint is asked for (SQLite's default threshold).
    static let backgroundFrames: Int32 = 1000
    /// WAL frames after which the committing connection checkpoints itself.
    static let inlineFrames: Int32 = 16 * backgroundFrames

    private let connection = Mutex<DatabaseQueue?>(nil)
    private let scheduled = Atomic<Bool>(false)
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
            if frames >= Checkpointer.inlineFrames {
                _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if frames >= Checkpointer.backgroundFrames {
                checkpointer.request()
            }
            return SQLITE_OK
        }, context)
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
