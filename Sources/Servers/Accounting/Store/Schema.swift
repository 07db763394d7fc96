import GRDB

/// The store's tables. Every summary table has the columns of ``GroupColumns`` under the same
/// names, so one query builder serves every kind.
enum Schema {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 accounting") { db in
            try db.execute(sql: """
                -- Every record as received (protobuf), once per APEL key. A rowid table so that the
                -- ~200-byte rows are appended in arrival order and only the small key index takes
                -- inserts all over its B-tree: keyed by the APEL key itself (WITHOUT ROWID), every
                -- insert dirtied a random leaf of a 1M-record tree and the WAL carried whole pages
                -- of it (at 1M records that layout ingested 23k records/s end to end).
                CREATE TABLE records (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    kind INTEGER NOT NULL,
                    site TEXT NOT NULL,
                    year INTEGER NOT NULL,
                    month INTEGER NOT NULL,
                    data BLOB NOT NULL
                );

                CREATE TABLE publishers (
                    id TEXT PRIMARY KEY NOT NULL,
                    site TEXT NOT NULL,
                    last_sequence INTEGER NOT NULL DEFAULT 0,
                    last_publish_time INTEGER NOT NULL DEFAULT 0,
                    accepted INTEGER NOT NULL DEFAULT 0,
                    rejected INTEGER NOT NULL DEFAULT 0
                );

                -- Job summaries keyed as APEL's summariser groups (plus the benchmark value).
                -- source is '' for rows summed from job records, or the record key of an imported
                -- summary record, whose row a resent summary replaces.
                CREATE TABLE job_summaries (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    site TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL,
                    vo TEXT NOT NULL, vo_group TEXT NOT NULL, vo_role TEXT NOT NULL, user TEXT NOT NULL,
                    submit_host TEXT NOT NULL, infrastructure TEXT NOT NULL,
                    node_count INTEGER NOT NULL, processors INTEGER NOT NULL,
                    benchmark_type TEXT NOT NULL, benchmark_value REAL NOT NULL,
                    jobs INTEGER NOT NULL, wall INTEGER NOT NULL, cpu INTEGER NOT NULL, core_seconds INTEGER NOT NULL,
                    earliest_end INTEGER NOT NULL, latest_end INTEGER NOT NULL, update_time INTEGER NOT NULL,
                    UNIQUE (source, site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure,
                            node_count, processors, benchmark_type, benchmark_value)
                );
                CREATE INDEX job_summaries_by_month ON job_summaries(year, month, site);

                -- Normalised durations of a job summary row, per benchmark (APEL rounds the sum, so REAL).
                CREATE TABLE job_normalised (
                    summary_id INTEGER NOT NULL REFERENCES job_summaries(id) ON DELETE CASCADE,
                    benchmark_type TEXT NOT NULL,
                    wall REAL NOT NULL,
                    cpu REAL NOT NULL,
                    PRIMARY KEY (summary_id, benchmark_type)
                ) WITHOUT ROWID;

                -- Cloud usage: the latest record per instance and month ('vm|<uuid>'), or one
                -- cloud summary record ('summary|<key>'); summed at query time.
                CREATE TABLE cloud_usage (
                    entry TEXT NOT NULL,
                    site TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL,
                    vo TEXT NOT NULL, vo_group TEXT NOT NULL, vo_role TEXT NOT NULL, user TEXT NOT NULL,
                    submit_host TEXT NOT NULL, infrastructure TEXT NOT NULL, benchmark_type TEXT NOT NULL,
                    order_time INTEGER NOT NULL,
                    vms INTEGER NOT NULL, wall INTEGER NOT NULL, cpu INTEGER NOT NULL, cpu_count REAL NOT NULL,
                    memory_mb INTEGER NOT NULL, disk_gb INTEGER NOT NULL, net_in INTEGER NOT NULL, net_out INTEGER NOT NULL,
                    update_time INTEGER NOT NULL,
                    PRIMARY KEY (entry, year, month)
                );
                CREATE INDEX cloud_usage_by_month ON cloud_usage(year, month, site);

                -- Storage: the latest record per share (and identity) and month; summed at query time.
                CREATE TABLE storage_usage (
                    share TEXT NOT NULL,
                    site TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL,
                    vo TEXT NOT NULL, vo_group TEXT NOT NULL, vo_role TEXT NOT NULL, user TEXT NOT NULL,
                    submit_host TEXT NOT NULL, infrastructure TEXT NOT NULL, benchmark_type TEXT NOT NULL,
                    order_time INTEGER NOT NULL,
                    used INTEGER NOT NULL, logical INTEGER NOT NULL, allocated INTEGER NOT NULL, files INTEGER NOT NULL,
                    update_time INTEGER NOT NULL,
                    PRIMARY KEY (share, year, month)
                );
                CREATE INDEX storage_usage_by_month ON storage_usage(year, month, site);

                -- Accelerator usage, summed as records arrive.
                CREATE TABLE accelerator_usage (
                    id INTEGER PRIMARY KEY,
                    site TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL,
                    vo TEXT NOT NULL, vo_group TEXT NOT NULL, vo_role TEXT NOT NULL, user TEXT NOT NULL,
                    submit_host TEXT NOT NULL, infrastructure TEXT NOT NULL, benchmark_type TEXT NOT NULL,
                    model TEXT NOT NULL,
                    available REAL NOT NULL, active REAL NOT NULL, update_time INTEGER NOT NULL,
                    UNIQUE (site, year, month, vo, vo_group, vo_role, user, submit_host, infrastructure, benchmark_type, model)
                );
                CREATE INDEX accelerator_usage_by_month ON accelerator_usage(year, month, site);
                """)
        }
        return migrator
    }
}
