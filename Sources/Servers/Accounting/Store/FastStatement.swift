import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// A value bound to a statement on the hot path.
enum SQLValue {
    case int(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// Runs one of GRDB's cached statements with values bound straight through the SQLite C API.
/// Used for the statements a batch runs per record or per summary row: GRDB's
/// `StatementArguments` boxes every value and cost as much as SQLite's own work there. The
/// statement still comes from GRDB's cache and runs inside GRDB's transaction.
struct FastStatement {
    let statement: Statement
    let db: Database

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the bind call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds `values` to parameters 1…n and steps once; true if a row changed.
    @discardableResult
    func run(_ values: SQLValue...) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case .int(let x): sqlite3_bind_int64(s, index, x)
            case .real(let x): sqlite3_bind_double(s, index, x)
            case .text(let x): x.withCString { _ = sqlite3_bind_text(s, index, $0, -1, Self.transient) }
            case .blob(let x):
                x.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress, bytes.count > 0 {
                        _ = sqlite3_bind_blob(s, index, base, Int32(bytes.count), Self.transient)
                    } else {
                        _ = sqlite3_bind_zeroblob(s, index, 0)
                    }
                }
            }
        }
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errstr(rc)), sql: statement.sql)
        }
        return db.changesCount > 0
    }

    /// Binds `r` to (kind, key, site, year, month, data) and steps once; true if a row changed.
    func run(_ r: PreparedRecord) throws -> Bool {
        try run(.int(Int64(r.kind.rawValue)), .text(r.key), .text(r.site), .int(Int64(r.month.year)), .int(Int64(r.month.month)), .blob(r.data))
    }
}
