import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// Runs the per-record statements of a batch (`INSERT INTO records …`) with values bound
/// straight through the SQLite C API. This is the one statement that runs once per record;
/// GRDB's `StatementArguments` boxes every value and cost as much as SQLite's own work here.
/// The statement still comes from GRDB's cache and runs inside GRDB's transaction.
struct RecordInsert {
    let statement: Statement
    let db: Database

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds `r` to (kind, key, site, year, month, data), steps once; true if a row changed.
    func run(_ r: PreparedRecord) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, Int64(r.kind.rawValue))
        r.key.withCString { _ = sqlite3_bind_text(s, 2, $0, -1, Self.transient) }
        r.site.withCString { _ = sqlite3_bind_text(s, 3, $0, -1, Self.transient) }
        sqlite3_bind_int64(s, 4, Int64(r.month.year))
        sqlite3_bind_int64(s, 5, Int64(r.month.month))
        r.data.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress, bytes.count > 0 {
                _ = sqlite3_bind_blob(s, 6, base, Int32(bytes.count), Self.transient)
            } else {
                _ = sqlite3_bind_zeroblob(s, 6, 0)
            }
        }
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errstr(rc)), sql: statement.sql)
        }
        return db.changesCount > 0
    }
}
