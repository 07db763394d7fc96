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

    /// Binds the record at `r` to (kind, key, site, year, month, data) and steps once; true if a
    /// row changed. Read through the pointer, the record is borrowed where it lies: passed by
    /// value, it was copied, retaining and releasing its dozen references, once per record. The
    /// text and blob are bound in place (`SQLITE_STATIC`): SQLite reads them during the step, while
    /// the closures keep them alive, instead of copying each into its own allocation.
    func insert(_ r: UnsafePointer<PreparedRecord>) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, Int64(r.pointee.kind.rawValue))
        sqlite3_bind_int64(s, 4, Int64(r.pointee.month.year))
        sqlite3_bind_int64(s, 5, Int64(r.pointee.month.month))
        let rc = Self.withUTF8(r.pointee.key) { key in
            Self.withUTF8(r.pointee.site) { site in
                r.pointee.data.withUnsafeBytes { data in
                    sqlite3_bind_text(s, 2, key.baseAddress, Int32(key.count), nil)
                    sqlite3_bind_text(s, 3, site.baseAddress, Int32(site.count), nil)
                    sqlite3_bind_blob(s, 6, data.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(data.count), nil)
                    let rc = sqlite3_step(s)
                    // Unbind before the buffers go away.
                    sqlite3_reset(s)
                    sqlite3_clear_bindings(s)
                    return rc
                }
            }
        }
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errstr(rc)), sql: statement.sql)
        }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// ``insert(_:)-(UnsafePointer<PreparedRecord>)`` for a record held on its own.
    func insert(_ r: PreparedRecord) throws -> Bool {
        try withUnsafePointer(to: r) { try insert($0) }
    }

    /// Calls `body` with the UTF-8 bytes of `text`, without copying them when the string is
    /// stored contiguously (native Swift strings are).
    private static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = text.utf8.withContiguousStorageIfAvailable(body) { return r }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }
}
