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

    /// The values at `keys` that exist, in one statement.
    static func get(_ keys: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: [UInt8]] {
        if keys.count == 1 { return try await get(keys[0], on: connection, logger: logger).map { [keys[0]: $0] } ?? [:] }
        var values: [String: [UInt8]] = [:]
        for (key, value) in try await connection.rows(GetMany(keys: keys), logger: logger) { values[key] = Array(value.readableBytesView) }
        return values
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

    /// An empty notice on the changes channel, which the listener hears to know that its connection still works.
    static func announceHeartbeat(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.rows(Heartbeat(), logger: logger)
    }

    /// Applies each change's writes if every key it read still holds the value read (`nil`: still absent), in order,
    /// in one serializable transaction; returns which changes it applied. A change without writes is only checked.
    static func apply(_ changes: [Change], on connection: PostgresConnection, logger: Logger) async throws -> [Bool] {
        let applied = try await connection.rows(ApplyBatch(changes), logger: logger).first ?? []
        guard applied.count == changes.count else {
            throw PostgresFailure(.final, .corrupt("coffre_apply_batch answered for \(applied.count) of \(changes.count) transactions"))
        }
        return applied
    }

    struct Get: PostgresPreparedStatement {
        static let sql = "SELECT v FROM kv WHERE k = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = ByteBuffer
        var key: String

        func makeBindings() -> PostgresBindings { .init(key) }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(ByteBuffer.self) }
    }

    struct GetMany: PostgresPreparedStatement {
        static let sql = "SELECT k, v FROM kv WHERE k = ANY($1)"
        static let bindingDataTypes: [PostgresDataType] = [.textArray]
        typealias Row = (String, ByteBuffer)
        var keys: [String]

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(keys)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    struct Heartbeat: PostgresPreparedStatement {
        static let sql = "SELECT pg_notify('\(Migrations.changesChannel)', '')"
        static let bindingDataTypes: [PostgresDataType] = []
        typealias Row = ()

        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Row {}
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

    /// `coffre_apply_batch` (see `Migrations`), called outside any transaction block so that it may commit: the checks
    /// and writes of all its changes are one serializable transaction.
    struct ApplyBatch: PostgresPreparedStatement {
        static let sql = "CALL coffre_apply_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        static let bindingDataTypes: [PostgresDataType] = [
            .int4, .int4Array, .textArray, .byteaArray, .int4Array, .textArray, .int4Array, .textArray, .byteaArray, .int4Array,
            .int4Array, .textArray,
        ]
        typealias Row = [Bool]

        private var transactions: Int32 = 0
        private var present: (tx: [Int32], keys: [String], values: [ByteBuffer]) = ([], [], [])
        private var absent: (tx: [Int32], keys: [String]) = ([], [])
        private var puts: (tx: [Int32], keys: [String], values: [ByteBuffer], modes: [Int32]) = ([], [], [], [])
        private var deletes: (tx: [Int32], keys: [String]) = ([], [])

        init(_ changes: [Change]) {
            for change in changes {
                transactions += 1
                for (key, value) in change.reads {
                    if let value {
                        present.tx.append(transactions)
                        present.keys.append(key)
                        present.values.append(ByteBuffer(bytes: value))
                    } else {
                        absent.tx.append(transactions)
                        absent.keys.append(key)
                    }
                }
                for (key, value) in change.writes {
                    if let value {
                        puts.tx.append(transactions)
                        puts.keys.append(key)
                        puts.values.append(ByteBuffer(bytes: value))
                        puts.modes.append(change.reads[key].map { $0 == nil ? 0 : 1 } ?? 2)
                    } else {
                        deletes.tx.append(transactions)
                        deletes.keys.append(key)
                    }
                }
            }
        }

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 12)
            bindings.append(transactions)
            bindings.append(present.tx)
            bindings.append(present.keys)
            bindings.append(present.values)
            bindings.append(absent.tx)
            bindings.append(absent.keys)
            bindings.append(puts.tx)
            bindings.append(puts.keys)
            bindings.append(puts.values)
            bindings.append(puts.modes)
            bindings.append(deletes.tx)
            bindings.append(deletes.keys)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode([Bool].self) }
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
    /// A statement written to a connection that has closed is never answered (see `PostgresStorage.use`), so a
    /// closed connection fails at once, also in the middle of a transaction.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws -> [Statement.Row] {
        guard !isClosed else { throw PostgresFailure.closedBeforeSending }
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
