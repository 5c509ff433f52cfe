import Synchronization

/// Decoded records kept in memory in front of a backend, so that a hot record is not decoded (and, with one writer,
/// not even read) per request.
///
/// - `.thisProcess` (SQLite, memory): only this process writes, so a cached record is answered without a storage
///   query. Every write goes through `transaction`, which forgets what the transaction wrote once it has committed.
///   Each forgetting bumps a generation; a record read before it is not cached after it, so a read that raced with a
///   write never leaves the old record behind.
/// - `.shared` (PostgreSQL): other nodes write too, so a read goes to the storage, and the cached record is used only
///   when the bytes read are the bytes it was decoded from. The exception are keys whose changes the backend's
///   `ChangeFeed` announces (vaults, principals, roles): while the feed listens, those are answered from memory and
///   forgotten when a change is heard (or when the feed stops listening).
///
/// The cache holds at most `capacity` records and starts over when full. Raw reads and reads inside transactions
/// are not cached.
public final class RecordCache: StorageBackend {
    public enum Writers: Sendable {
        case thisProcess
        case shared
    }

    private struct Entry {
        var record: any Sendable
        /// The bytes `record` was decoded from (`.shared` only).
        var bytes: [UInt8]?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
        /// The backend's change feed listens (`.shared` only).
        var hearing = false
    }

    public let backend: any StorageBackend
    private let writers: Writers
    private let capacity: Int
    private let state = Mutex(State())
    private let feed: ChangeFeed?

    public init(_ backend: any StorageBackend, writers: Writers = .thisProcess, capacity: Int = 4096) {
        self.backend = backend
        self.writers = writers
        self.capacity = capacity
        if writers == .shared, let feed = backend.changeFeed {
            self.feed = feed
            feed.subscribe { [weak self] in self?.hear($0) }
        } else {
            self.feed = nil
        }
    }

    public func get(_ key: String) async throws -> [UInt8]? { try await backend.get(key) }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await backend.scan(prefix: prefix, after: after, limit: limit)
    }

    public func read<T: Decodable & Sendable>(_ type: T.Type, at key: String) async throws -> T? {
        let (cached, generation, current) = state.withLock { state in
            (state.entries[key], state.generation, writers == .thisProcess || state.hearing && feed?.announces(key) == true)
        }
        if current, let record = cached?.record as? T { return record }
        guard let bytes = try await backend.get(key) else { return nil }
        return try record(type, StorageEntry(key: key, value: bytes), cached: cached, generation: generation)
    }

    public func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String] {
        try await backend.scanKeys(prefix: prefix, after: after, limit: limit)
    }

    /// The keys come from the backend; each record from memory when cached, decoded (and cached) otherwise. With one
    /// writer, a page whose records are all cached is answered from its keys alone: no value is read or unsealed.
    public func readAll<T: Decodable & Sendable>(_ type: T.Type, prefix: String, after: String?, limit: Int) async throws
        -> [(key: String, record: T)]
    {
        if writers == .thisProcess {
            let keys = try await backend.scanKeys(prefix: prefix, after: after, limit: limit)
            var page: [(key: String, record: T)] = []
            page.reserveCapacity(keys.count)
            let cached = state.withLock { state in
                for key in keys {
                    guard let record = state.entries[key]?.record as? T else { return false }
                    page.append((key, record))
                }
                return true
            }
            if cached { return page }
        }
        let generation = state.withLock { $0.generation }
        return try await backend.scan(prefix: prefix, after: after, limit: limit).map { entry in
            (entry.key, try record(type, entry, cached: state.withLock { $0.entries[entry.key] }, generation: generation))
        }
    }

    /// The record of `entry`: the cached one when it may be used, else decoded and cached (when no write has been
    /// forgotten since `generation`).
    private func record<T: Decodable & Sendable>(_ type: T.Type, _ entry: StorageEntry, cached: Entry?, generation: UInt64) throws -> T {
        if let cached, let record = cached.record as? T, writers == .thisProcess || cached.bytes == entry.value { return record }
        let record = try RecordCoder.decode(type, from: entry.value, at: entry.key)
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[entry.key] = Entry(record: record, bytes: writers == .shared ? entry.value : nil)
        }
        return record
    }

    public var changeFeed: ChangeFeed? { backend.changeFeed }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        let written = WrittenKeys()
        defer { forget(written) }
        return try await backend.transaction { try await body(TrackedTransaction(inner: $0, written: written)) }
    }

    /// A change heard from the feed: the key's record is forgotten; starting or stopping to hear forgets everything
    /// (changes may have gone unheard). Like a write, it keeps reads that began before it from caching.
    private func hear(_ notice: ChangeNotice) {
        state.withLock { state in
            state.generation += 1
            switch notice {
            case .changed(let key):
                state.entries[key] = nil
            case .listening, .deaf:
                state.entries.removeAll(keepingCapacity: true)
                state.hearing = notice == .listening
            }
        }
    }

    /// Drops what a transaction wrote (also when it failed: it may have committed before the error reached us).
    private func forget(_ written: WrittenKeys) {
        let (keys, prefixes) = written.snapshot
        state.withLock { state in
            state.generation += 1
            for key in keys { state.entries[key] = nil }
            if !prefixes.isEmpty {
                state.entries = state.entries.filter { key, _ in !prefixes.contains { key.hasPrefix($0) } }
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

    func get(_ keys: [String]) async throws -> [[UInt8]?] { try await inner.get(keys) }

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
