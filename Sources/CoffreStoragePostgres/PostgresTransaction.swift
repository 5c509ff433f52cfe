import CoffreStorage
import Logging
import PostgresNIO
import Synchronization

/// What a transaction body reads and writes through: one leased connection inside `BEGIN … COMMIT`.
///
/// It remembers the first failure PostgreSQL reports: after any failed statement PostgreSQL has aborted the
/// transaction, so the attempt must end in a rollback (and a retry, for a conflict) whatever the body does with
/// the error. It refuses use after the attempt ended, when the connection may already serve someone else.
final class PostgresTransaction: StorageTransaction {
    private struct State {
        var open = true
        var failure: PostgresFailure?
    }

    private let connection: PostgresConnection
    private let logger: Logger
    private let state = Mutex(State())

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func get(_ key: String) async throws -> [UInt8]? {
        try await statement { try await KV.get(key, on: $0, logger: $1) }
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await statement { try await KV.scan(prefix: prefix, after: after, limit: limit, on: $0, logger: $1) }
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try await statement { try await KV.put(key, value, on: $0, logger: $1) }
    }

    func delete(_ key: String) async throws {
        try await statement { try await KV.delete(key, on: $0, logger: $1) }
    }

    func deletePrefix(_ prefix: String) async throws {
        try await statement { try await KV.deletePrefix(prefix, on: $0, logger: $1) }
    }

    /// Ends the attempt and returns the first failure its statements hit.
    func finish() -> PostgresFailure? {
        state.withLock { state in
            state.open = false
            return state.failure
        }
    }

    private func statement<R>(_ run: (PostgresConnection, Logger) async throws -> R) async throws -> R {
        guard state.withLock({ $0.open }) else {
            throw StorageError.unavailable("a storage transaction was used after its body returned")
        }
        do {
            return try await run(connection, logger)
        } catch {
            guard let failure = PostgresFailure(classifying: error) else { throw error }
            state.withLock { state in state.failure = state.failure ?? failure }
            throw failure.error
        }
    }
}
