import Synchronization

/// Writes kept aside over a base storage, then committed in one transaction of the base: for work that must happen
/// all together or not at all (a seed file's vault) while each step is written by the services as usual. Reads see
/// the staged writes; nothing reaches the base before ``commit()``, and nothing at all if it is never called.
public final class StagingStorage: StorageBackend {
    public let base: any StorageBackend
    /// Staged values by key; `nil` marks a deletion.
    private let staged = Mutex<[String: [UInt8]?]>([:])
    private let writer = AsyncLock()

    public init(base: any StorageBackend) { self.base = base }

    public func get(_ key: String) async throws -> [UInt8]? {
        if let value = staged.withLock({ $0[key] }) { return value }
        return try await base.get(key)
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        let changes = staged.withLock { $0 }
        return try await Self.merged(base, changes, prefix: prefix, after: after, limit: limit)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await writer.withLock {
            let transaction = StagedTransaction(storage: self)
            let result = try await body(transaction)
            let changes = transaction.changes
            staged.withLock { staged in staged.merge(changes) { _, new in new } }
            return result
        }
    }

    /// Writes every staged change to the base in one transaction; the stage is then empty.
    public func commit() async throws {
        try await writer.withLock {
            let changes = staged.withLock { $0 }
            guard !changes.isEmpty else { return }
            try await base.transaction { transaction in
                for (key, value) in changes.sorted(by: { $0.key < $1.key }) {
                    if let value { try await transaction.put(key, value) } else { try await transaction.delete(key) }
                }
            }
            staged.withLock { $0.removeAll() }
        }
    }

    /// `reader`'s entries under `prefix` after `after` with `changes` laid over them, in key order, at most `limit`.
    static func merged(
        _ reader: any StorageReader, _ changes: [String: [UInt8]?], prefix: String, after: String?, limit: Int
    ) async throws -> [StorageEntry] {
        let relevant = changes.filter { change in change.key.hasPrefix(prefix) && after.map { change.key > $0 } ?? true }
        // Each change hides at most one entry of the reader: that many more entries are enough.
        let (more, overflow) = limit.addingReportingOverflow(relevant.count)
        var merged: [String: [UInt8]] = [:]
        for entry in try await reader.scan(prefix: prefix, after: after, limit: overflow ? .max : more) { merged[entry.key] = entry.value }
        for (key, value) in relevant { merged[key] = value }
        return merged.sorted { $0.key < $1.key }.prefix(max(limit, 0)).map { StorageEntry(key: $0.key, value: $0.value) }
    }
}

/// One transaction over a staging storage: its own writes over the stage, merged into it when the body returns.
private final class StagedTransaction: StorageTransaction {
    let storage: StagingStorage
    private let own = Mutex<[String: [UInt8]?]>([:])

    init(storage: StagingStorage) { self.storage = storage }

    var changes: [String: [UInt8]?] { own.withLock { $0 } }

    func get(_ key: String) async throws -> [UInt8]? {
        if let value = own.withLock({ $0[key] }) { return value }
        return try await storage.get(key)
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await StagingStorage.merged(storage, changes, prefix: prefix, after: after, limit: limit)
    }

    func put(_ key: String, _ value: [UInt8]) async throws { own.withLock { $0[key] = .some(value) } }

    func delete(_ key: String) async throws { own.withLock { $0[key] = .some(nil) } }

    func deletePrefix(_ prefix: String) async throws {
        for entry in try await scan(prefix: prefix, after: nil, limit: .max) { try await delete(entry.key) }
    }
}
