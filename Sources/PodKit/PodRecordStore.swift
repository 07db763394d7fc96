import Foundation
import Gen
import GRDB
import WeftProtobuf

/// What a kubelet API or a sidecar remembers about one pod.
public struct PodRecord: Sendable, Equatable {
    /// Pod UID (the key).
    public var uid: String
    /// Virtual node the pod belongs to.
    public var node: String
    /// Namespace.
    public var namespace: String
    /// Name.
    public var name: String
    /// The backend's job id, once known.
    public var remoteJobID: String
    /// The pod and its data, as submitted.
    public var submission: Weft_Kubelet_V1_PodSubmission
    /// Last known status.
    public var status: Weft_Kubelet_V1_PodStatus
    /// When the status was observed, nanoseconds since the epoch.
    public var observeTime: Int64
    /// Where the record is in its owner's life cycle (e.g. `creating`, `created`).
    public var state: String
    /// Revision of the last change (kubelet API watch revisions).
    public var revision: Int64

    /// Creates a record.
    public init(uid: String, node: String, namespace: String, name: String, remoteJobID: String = "",
                submission: Weft_Kubelet_V1_PodSubmission, status: Weft_Kubelet_V1_PodStatus = .init(),
                observeTime: Int64 = 0, state: String, revision: Int64 = 0) {
        self.uid = uid
        self.node = node
        self.namespace = namespace
        self.name = name
        self.remoteJobID = remoteJobID
        self.submission = submission
        self.status = status
        self.observeTime = observeTime
        self.state = state
        self.revision = revision
    }

    /// The pod's reference.
    public var ref: Weft_Kubelet_V1_PodRef {
        var r = Weft_Kubelet_V1_PodRef()
        r.uid = uid
        r.name = name
        r.namespace = namespace
        return r
    }

    /// The status as a report.
    public var report: Weft_Kubelet_V1_PodStatusReport {
        var r = Weft_Kubelet_V1_PodStatusReport()
        r.pod = ref
        r.remoteJobId = remoteJobID
        r.status = status
        if observeTime > 0 { r.observeTime = .init(unixNanos: observeTime) }
        return r
    }
}

/// Durable pod records in SQLite (WAL; a write that returned survives a crash of the process).
///
/// The file holds Secret data as submitted, so it is created readable by its owner only.
public final class PodRecordStore: Sendable {
    private let db: DatabasePool

    /// Opens or creates the store at `path`.
    public init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        db = try DatabasePool(path: path, configuration: config)
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 pods") { db in
            try db.execute(sql: """
                CREATE TABLE pods (
                    uid TEXT PRIMARY KEY NOT NULL,
                    node TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    name TEXT NOT NULL,
                    remote_job_id TEXT NOT NULL,
                    submission BLOB NOT NULL,
                    status BLOB NOT NULL,
                    observe_time INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    revision INTEGER NOT NULL
                );
                CREATE INDEX pods_by_node ON pods(node, namespace, name);
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                """)
        }
        try migrator.migrate(db)
    }

    /// Inserts `record`; returns the existing record instead if its UID is already stored.
    public func insert(_ record: PodRecord) async throws -> PodRecord? {
        try await db.write { db in
            if let existing = try Self.fetch(db, uid: record.uid) { return existing }
            try db.execute(sql: """
                INSERT INTO pods (uid, node, namespace, name, remote_job_id, submission, status, observe_time, state, revision)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: Self.arguments(record))
            return nil
        }
    }

    /// Replaces the stored record with the same UID (no-op when it is gone).
    public func update(_ record: PodRecord) async throws {
        try await db.write { db in
            try db.execute(sql: """
                UPDATE pods SET node = ?2, namespace = ?3, name = ?4, remote_job_id = ?5, submission = ?6, status = ?7,
                    observe_time = ?8, state = ?9, revision = ?10 WHERE uid = ?1
                """, arguments: Self.arguments(record))
        }
    }

    /// A status to store for one pod.
    public struct StatusUpdate: Sendable {
        /// The pod.
        public var uid: String
        /// Its status.
        public var status: Weft_Kubelet_V1_PodStatus
        /// When it was observed (nanoseconds since the epoch).
        public var observeTime: Int64
        /// Revision of the change; an update never replaces a newer one.
        public var revision: Int64

        /// Creates an update.
        public init(uid: String, status: Weft_Kubelet_V1_PodStatus, observeTime: Int64, revision: Int64) {
            self.uid = uid
            self.status = status
            self.observeTime = observeTime
            self.revision = revision
        }
    }

    /// Stores several statuses in one transaction, skipping any older than what is stored.
    public func updateStatuses(_ updates: [StatusUpdate]) async throws {
        guard !updates.isEmpty else { return }
        let rows = updates.map { (Data($0.status.serializedBytes()), $0.observeTime, $0.revision, $0.uid) }
        try await db.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE pods SET status = ?, observe_time = ?, revision = ? WHERE uid = ? AND revision <= ?")
            for (blob, observe, revision, uid) in rows {
                try statement.execute(arguments: [blob, observe, revision, uid, revision])
            }
        }
    }

    /// Removes the record of `uid`; returns it if there was one.
    @discardableResult
    public func delete(uid: String) async throws -> PodRecord? {
        try await db.write { db in
            let existing = try Self.fetch(db, uid: uid)
            try db.execute(sql: "DELETE FROM pods WHERE uid = ?", arguments: [uid])
            return existing
        }
    }

    /// The record of `uid`, if any.
    public func get(uid: String) async throws -> PodRecord? {
        try await db.read { db in try Self.fetch(db, uid: uid) }
    }

    /// Every record, optionally of one node, ordered by namespace, name and UID.
    public func all(node: String? = nil) async throws -> [PodRecord] {
        try await db.read { db in
            let rows: [Row]
            if let node {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM pods WHERE node = ? ORDER BY namespace, name, uid", arguments: [node])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM pods ORDER BY namespace, name, uid")
            }
            return try rows.map(Self.record)
        }
    }

    /// Reads and writes a counter kept with the records (e.g. the last watch revision).
    public func counter(_ key: String) async throws -> Int64 {
        try await db.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) ?? 0 }
    }

    /// Stores a counter.
    public func setCounter(_ key: String, _ value: Int64) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [key, value])
        }
    }

    private static func arguments(_ r: PodRecord) -> StatementArguments {
        [r.uid, r.node, r.namespace, r.name, r.remoteJobID, Data(r.submission.serializedBytes()), Data(r.status.serializedBytes()),
         r.observeTime, r.state, r.revision]
    }

    private static func fetch(_ db: Database, uid: String) throws -> PodRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM pods WHERE uid = ?", arguments: [uid]).map(record)
    }

    private static func record(_ row: Row) throws -> PodRecord {
        let submission: Data = row["submission"]
        let status: Data = row["status"]
        return PodRecord(
            uid: row["uid"], node: row["node"], namespace: row["namespace"], name: row["name"], remoteJobID: row["remote_job_id"],
            submission: try Weft_Kubelet_V1_PodSubmission(serializedBytes: submission),
            status: try Weft_Kubelet_V1_PodStatus(serializedBytes: status),
            observeTime: row["observe_time"], state: row["state"], revision: row["revision"])
    }
}
