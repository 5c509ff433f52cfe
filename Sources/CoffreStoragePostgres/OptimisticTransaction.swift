import CoffreStorage
import Logging
import PostgresNIO
import Synchronization

/// The first, optimistic run of a transaction body: reads are statements of their own (several keys read together are
/// one) and are remembered, writes wait in memory, and at the end one call (the procedure `coffre_apply_batch`, through
/// `ApplyQueue`) checks that every key read still holds what was read, only then applies the writes, and commits. That
/// call is a serializable transaction of its own, so the body takes effect as if it had run at that instant; if a
/// value changed in between, the body runs again. A typical write thus costs its reads and a share of one round trip
/// (calls carry the ends of several transactions), instead of `BEGIN`, each statement and `COMMIT`.
///
/// Reading `.guesses`, the body sends nothing at all: each key takes the value this node last saw there, or absent
/// when it saw none (a new name, typically). The end's check then covers the guesses too, so a write costs a share of
/// one round trip, and needs no connection unless it sends the group commit. A guessed run must end in writes that
/// apply: a body that failed, wrote nothing, or whose check failed has run on guesses that proved nothing, and runs
/// again with reads (see `PostgresStorage`).
///
/// Scans and prefix deletes are not checked this way (a check of values read cannot see a key that appeared in a
/// range): a body that uses them is run again in a serializable `BEGIN … COMMIT` transaction instead.
final class OptimisticTransaction: StorageTransaction {
    /// What the body read and wrote: a key's value, or `nil` for an absent (or deleted) key.
    struct Outcome: Sendable {
        var reads: [String: [UInt8]?] = [:]
        var writes: [String: [UInt8]?] = [:]
        /// The first failure a statement hit; the attempt ends with it whatever the body did with the error.
        var failure: PostgresFailure?
        /// The body scanned or deleted a range: only a serializable transaction can run it.
        var needsSerializable = false
        /// The keys among `reads` whose value is a guess, not read.
        var guessed: Set<String> = []
    }

    /// Thrown at a body that scans or deletes a range.
    struct NeedsSerializable: Error {}

    /// Where the values of keys come from.
    enum Source: Sendable {
        /// What this node last saw there.
        case guesses(RecentValues)
        /// Read on this connection.
        case connection(PostgresConnection)
    }

    private let source: Source
    private let logger: Logger
    private let state = Mutex((open: true, outcome: Outcome()))

    init(reading source: Source, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    func get(_ key: String) async throws -> [UInt8]? {
        try await get([key])[0]
    }

    /// The keys not read or written yet are guessed, or read in one statement.
    func get(_ keys: [String]) async throws -> [[UInt8]?] {
        let unknown = try state.withLock { state -> [String] in
            guard state.open else { throw StorageError.unavailable("a storage transaction was used after its body returned") }
            let unknown = keys.filter { state.outcome.writes[$0] == nil && state.outcome.reads[$0] == nil }
            guard case .guesses(let guesses) = source else { return unknown }
            for key in unknown {
                state.outcome.reads[key] = .some(guesses.value(at: key) ?? nil)
                state.outcome.guessed.insert(key)
            }
            return []
        }
        if case .connection(let connection) = source, !unknown.isEmpty {
            let found: [String: [UInt8]]
            do {
                found = try await KV.get(unknown, on: connection, logger: logger)
            } catch {
                guard let failure = PostgresFailure(classifying: error) else { throw error }
                state.withLock { $0.outcome.failure = $0.outcome.failure ?? failure }
                throw failure.error
            }
            // The first value read is the one the final check compares with.
            state.withLock { state in
                for key in unknown where state.outcome.reads[key] == nil { state.outcome.reads[key] = .some(found[key]) }
            }
        }
        return state.withLock { state in keys.map { state.outcome.writes[$0] ?? state.outcome.reads[$0] ?? nil } }
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        throw needsSerializable()
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try write(key, value)
    }

    func delete(_ key: String) async throws {
        try write(key, nil)
    }

    func deletePrefix(_ prefix: String) async throws {
        throw needsSerializable()
    }

    /// Ends the attempt: what the body read and wrote.
    func finish() -> Outcome {
        state.withLock { state in
            state.open = false
            return state.outcome
        }
    }

    private func write(_ key: String, _ value: [UInt8]?) throws {
        try state.withLock { state in
            guard state.open else { throw StorageError.unavailable("a storage transaction was used after its body returned") }
            state.outcome.writes[key] = .some(value)
        }
    }

    private func needsSerializable() -> NeedsSerializable {
        state.withLock { $0.outcome.needsSerializable = true }
        return NeedsSerializable()
    }
}
