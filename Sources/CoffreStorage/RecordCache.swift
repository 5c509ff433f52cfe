import Synchronization

/// Decoded records kept in memory in front of a backend that only this process writes (SQLite, memory): a hot
/// record is read without a storage query, an unsealing or a JSON decoding.
///
/// Every write goes through `transaction`, which forgets what the transaction wrote once it has committed. Each
/// forgetting bumps a generation; a record read before it is not cached after it, so a read that raced with a write
/// never leaves the old record behind. The cache holds at most `capacity` records and starts over when full.
/// Raw reads and reads inside transactions are not cached.
public final class RecordCache: StorageBackend {
    private struct State {
        var records: [String: any Sendable] = [:]
        var generation: UInt64 = 0
    }

    public let backend: any StorageBackend
    private let capacity: Int
    private let state = Mutex(State())

    public init(_ backend: any StorageBackend, capacity: Int = 4096) {
        self.backend = backend
        self.capacity = capacity
    }

    public func get(_ key: String) async throws -> [UInt8]? { try await backend.get(key) }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await backend.scan(prefix: prefix, after: after, limit: limit)
    }

    public func read<T: Decodable & Sendable>(_ type: T.Type, at key: String) async throws -> T? {
        let (cached, generation) = state.withLock { ($0.records[key], $0.generation) }
        if let record = cached as? T { return record }
        guard let bytes = try await backend.get(key) else { return nil }
        return try decode(type, StorageEntry(key: key, value: bytes), cachingIf: generation)
    }

    /// The keys come from the backend; each record from memory when cached, decoded (and cached) otherwise.
    public func readAll<T: Decodable & Sendable>(_ type: T.Type, prefix: String, after: String?, limit: Int) async throws
        -> [(key: String, record: T)]
    {
        let generation = state.withLock { $0.generation }
        return try await backend.scan(prefix: prefix, after: after, limit: limit).map { entry in
            if let record = state.withLock({ $0.records[entry.key] }) as? T { return (entry.key, record) }
            return (entry.key, try decode(type, entry, cachingIf: generation))
        }
    }

    /// Decodes a record read while the cache was at `generation`; caches it when no write has been forgotten since.
    private func decode<T: Decodable & Sendable>(_ type: T.Type, _ entry: StorageEntry, cachingIf generation: UInt64) throws -> T {
        let record = try RecordCoder.decode(type, from: entry.value, at: entry.key)
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.records.count >= capacity { state.records.removeAll(keepingCapacity: true) }
            state.records[entry.key] = record
        }
        return record
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        let written = WrittenKeys()
        defer { forget(written) }
        return try await backend.transaction { try await body(TrackedTransaction(inner: $0, written: written)) }
    }

    /// Drops what a transaction wrote (also when it failed: it may have committed before the error reached us).
    private func forget(_ written: WrittenKeys) {
        let (keys, prefixes) = written.snapshot
        state.withLock { state in
            state.generation += 1
            for key in keys { state.records[key] = nil }
            if !prefixes.isEmpty {
                state.records = state.records.filter { key, _ in !prefixes.contains { key.hasPrefix($0) } }
            }
        }
    }
}

/// The keys and prefixes a transaction wrote.
private final class WrittenKeys: Sendable {
    private let state = Mutex<(keys: Set<String>, prefixes: [String])>(([], []))

    func key(_ key: String) { state.withLock { _ = $0.keys.insert(key) } }
    func prefix(_ prefix: String) { state.withLock { $0.prefixes.append(prefix) } }
    var snapshot: (keys: Set<String>, prefixes: [String]) { state.withLock { $0 } }
}

private struct TrackedTransaction: StorageTransaction {
    let inner: any StorageTransaction
    let written: WrittenKeys

    func get(_ key: String) async throws -> [UInt8]? { try await inner.get(key) }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await inner.scan(prefix: prefix, after: after, limit: limit)
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        written.key(key)
        try await inner.put(key, value)
    }

    func delete(_ key: String) async throws {
        written.key(key)
        try await inner.delete(key)
    }

    func deletePrefix(_ prefix: String) async throws {
        written.prefix(prefix)
        try await inner.deletePrefix(prefix)
    }
}
