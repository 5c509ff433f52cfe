import CoffreStorage
import Logging
import PostgresNIO

/// The reads and writes on `kv`, as named prepared statements (prepared once per connection). Keys and values
/// are always bound parameters, never spliced into SQL. Prefixes are ranges on the primary key
/// (`k >= prefix AND k < prefix.prefixUpperBound`), which the `COLLATE "C"` B-tree serves byte-wise.
enum KV {
    static func get(_ key: String, on connection: PostgresConnection, logger: Logger) async throws -> [UInt8]? {
        try await connection.rows(Get(key: key), logger: logger).first.map { Array($0.readableBytesView) }
    }

    static func scan(
        prefix: String, after: String?, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [StorageEntry] {
        guard limit > 0 else { return [] }
        let statement = Scan(lower: prefix, upper: prefix.prefixUpperBound, after: after ?? "", limit: limit)
        return try await connection.rows(statement, logger: logger).map { key, value in
            StorageEntry(key: key, value: Array(value.readableBytesView))
        }
    }

    static func put(_ key: String, _ value: [UInt8], on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows(Put(key: key, value: ByteBuffer(bytes: value)), logger: logger)
    }

    static func delete(_ key: String, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows(Delete(key: key), logger: logger)
    }

    static func deletePrefix(_ prefix: String, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows(DeleteRange(lower: prefix, upper: prefix.prefixUpperBound), logger: logger)
    }

    /// Applies `writes` if every key of `reads` still holds the value read (`nil`: still absent); returns whether
    /// it did. With no writes, it only checks.
    static func apply(
        _ writes: [String: [UInt8]?], ifUnchanged reads: [String: [UInt8]?], on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let statement = Apply(read: Entries(reads), written: Entries(writes))
        return try await connection.rows(statement, logger: logger).first ?? false
    }

    /// Keys with a value, and keys without one (absent, or deleted), as the arrays `coffre_apply` takes.
    struct Entries {
        var keys: [String] = []
        var values: [ByteBuffer] = []
        var missing: [String] = []

        init(_ entries: [String: [UInt8]?]) {
            for (key, value) in entries {
                if let value {
                    keys.append(key)
                    values.append(ByteBuffer(bytes: value))
                } else {
                    missing.append(key)
                }
            }
        }
    }

    struct Get: PostgresPreparedStatement {
        static let sql = "SELECT v FROM kv WHERE k = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = ByteBuffer
        var key: String

        func makeBindings() -> PostgresBindings { .init(key) }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(ByteBuffer.self) }
    }

    /// `k > after` with `after = ""` (no cursor) excludes nothing but the empty key, as in the SQLite backend.
    struct Scan: PostgresPreparedStatement {
        static let sql = "SELECT k, v FROM kv WHERE k >= $1 AND k < $2 AND k > $3 ORDER BY k LIMIT $4"
        static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .int8]
        typealias Row = (String, ByteBuffer)
        var lower: String
        var upper: String
        var after: String
        var limit: Int

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(lower, upper, after)
            bindings.append(limit)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    struct Put: PostgresPreparedStatement {
        static let sql = "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
        static let bindingDataTypes: [PostgresDataType] = [.text, .bytea]
        typealias Row = ()
        var key: String
        var value: ByteBuffer

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(key)
            bindings.append(value)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    struct Delete: PostgresPreparedStatement {
        static let sql = "DELETE FROM kv WHERE k = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = ()
        var key: String

        func makeBindings() -> PostgresBindings { .init(key) }
        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    struct DeleteRange: PostgresPreparedStatement {
        static let sql = "DELETE FROM kv WHERE k >= $1 AND k < $2"
        static let bindingDataTypes: [PostgresDataType] = [.text, .text]
        typealias Row = ()
        var lower: String
        var upper: String

        func makeBindings() -> PostgresBindings { .init(lower, upper) }
        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// `coffre_apply` (see `Migrations`), called outside any transaction block so that it may commit: its check and
    /// writes are one serializable transaction.
    struct Apply: PostgresPreparedStatement {
        static let sql = "CALL coffre_apply($1, $2, $3, $4, $5, $6)"
        static let bindingDataTypes: [PostgresDataType] = [.textArray, .byteaArray, .textArray, .textArray, .byteaArray, .textArray]
        typealias Row = Bool
        var read: Entries
        var written: Entries

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 6)
            for entries in [read, written] {
                bindings.append(entries.keys)
                bindings.append(entries.values)
                bindings.append(entries.missing)
            }
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Bool.self) }
    }
}

extension PostgresBindings {
    fileprivate init(_ texts: String...) {
        self.init(capacity: texts.count)
        for text in texts { append(text) }
    }
}

extension PostgresConnection {
    /// Runs a prepared statement and collects its rows. Statements without rows go through here too: the
    /// command-tag variant of `execute` traps when the tag arrives after the statement's result is handed over.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws -> [Statement.Row] {
        var rows: [Statement.Row] = []
        for try await row in try await execute(statement, logger: logger) { rows.append(row) }
        return rows
    }

    /// Ends the open transaction, if any. A failure leaves nothing to undo: the server rolls back a transaction
    /// whose connection breaks, and the pool drops a broken connection.
    func rollback(logger: Logger) async {
        _ = try? await query("ROLLBACK", logger: logger)
    }
}
