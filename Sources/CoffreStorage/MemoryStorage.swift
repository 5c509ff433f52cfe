import Synchronization

/// An in-memory backend: the reference behaviour for the conformance suite and the store of router tests.
public final class MemoryStorage: StorageBackend {
    private let entries = Mutex<[String: [UInt8]]>([:])
    private let writer = AsyncLock()

    public init() {}

    public func get(_ key: String) async throws -> [UInt8]? {
        entries.withLock { $0[key] }
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        entries.withLock { Self.scan($0, prefix: prefix, after: after, limit: limit) }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await writer.withLock {
            let transaction = MemoryTransaction(base: entries.withLock { $0 })
            let result = try await body(transaction)
            let changes = transaction.changes
            entries.withLock { entries in
                for (key, value) in changes {
                    entries[key] = value
                }
            }
            return result
        }
    }

    static func scan(_ entries: [String: [UInt8]], prefix: String, after: String?, limit: Int) -> [StorageEntry] {
        entries.lazy
            .filter { entry in entry.key.hasPrefix(prefix) && after.map { entry.key > $0 } ?? true }
            .sorted { $0.key < $1.key }
            .prefix(max(limit, 0))
            .map { StorageEntry(key: $0.key, value: $0.value) }
    }
}

/// A transaction over a snapshot; its writes are kept aside (`nil` = deleted) until commit.
private final class MemoryTransaction: StorageTransaction {
    private let state: Mutex<(base: [String: [UInt8]], changes: [String: [UInt8]?])>

    init(base: [String: [UInt8]]) { self.state = Mutex((base, [:])) }

    var changes: [String: [UInt8]?] { state.withLock { $0.changes } }

    func get(_ key: String) async throws -> [UInt8]? {
        state.withLock { $0.changes[key] ?? $0.base[key] }
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        state.withLock { state in
            var merged = state.base
            for (key, value) in state.changes { merged[key] = value }
            return MemoryStorage.scan(merged, prefix: prefix, after: after, limit: limit)
        }
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        state.withLock { $0.changes[key] = .some(value) }
    }

    func delete(_ key: String) async throws {
        state.withLock { $0.changes[key] = .some(nil) }
    }

    func deletePrefix(_ prefix: String) async throws {
        state.withLock { state in
            for key in state.base.keys where key.hasPrefix(prefix) { state.changes[key] = .some(nil) }
            for key in state.changes.keys where key.hasPrefix(prefix) { state.changes[key] = .some(nil) }
        }
    }
}
