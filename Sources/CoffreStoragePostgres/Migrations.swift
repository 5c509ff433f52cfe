import CoffreStorage
import Logging
import PostgresNIO

/// The schema, as numbered steps recorded in `coffre_schema`. Applying them is idempotent and safe when several
/// nodes start at once: each node takes a transaction-scoped advisory lock first, so one applies the missing steps
/// and the others then find them recorded.
enum Migrations {
    /// Version n is `steps[n - 1]`. Append only; never edit a released step.
    static let steps: [PostgresQuery] = [
        // `COLLATE "C"`: keys sort byte-wise whatever the database's locale, as the storage protocol requires.
        #"CREATE TABLE IF NOT EXISTS kv (k text COLLATE "C" PRIMARY KEY, v bytea NOT NULL)"#,
        // Point reads go through a hash index: its predicate locks fall on hash buckets, so transactions that create
        // neighbouring names (whose keys share a B-tree leaf page) no longer look like serialization conflicts to
        // each other. A low fill factor spreads keys over more bucket pages. Range scans keep using the primary key.
        "CREATE INDEX IF NOT EXISTS kv_k_hash ON kv USING hash (k) WITH (fillfactor = 10)",
    ]

    /// The advisory lock that serialises migrations ("Coffre" in ASCII); it is scoped to the database.
    static let lockKey: Int64 = 0x436f_6666_7265

    /// Applies the missing steps; returns the schema version found and the one left.
    static func apply(on connection: PostgresConnection, logger: Logger) async throws -> (found: Int, now: Int) {
        // READ COMMITTED: each statement after the lock sees what a node that held it before committed.
        try await connection.query("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS coffre_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var found = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0)::int8 FROM coffre_schema", logger: logger)
                .decode(Int64.self)
            {
                found = Int(version)
            }
            guard found <= steps.count else {
                throw PostgresFailure(
                    .final, .unavailable("the database schema is version \(found), newer than this Coffre knows (\(steps.count)): upgrade Coffre"))
            }
            for (index, step) in steps.enumerated() where index >= found {
                try await connection.query(step, logger: logger)
                try await connection.query("INSERT INTO coffre_schema (version) VALUES (\(Int64(index + 1)))", logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            return (found, steps.count)
        } catch {
            await connection.rollback(logger: logger)
            throw error
        }
    }
}
