import CoffreStorage
import Synchronization

/// A backend that fails on purpose, for all-or-nothing tests: it wraps another backend and makes the next access to
/// a key a rule names throw ``StorageError/unavailable(_:)``, as a storage that goes away between two writes of one
/// operation would. A test puts the failure between an operation's writes, then checks with ``snapshot()`` that none of
/// them stayed.
public final class FaultyStorage: StorageBackend {
    /// Which accesses a rule fails.
    public enum Access: Sendable {
        case read, write, any

        func includes(_ access: Access) -> Bool { self == .any || self == access }
    }

    private struct Rule {
        let access: Access
        let matches: @Sendable (String) -> Bool
    }

    public let base: any StorageBackend
    private let state = Mutex((rules: [Rule](), injected: 0))

    public init(_ base: any StorageBackend) { self.base = base }

    /// Fails the next access of kind `access` to a key that `matches` (once).
    public func failNext(_ access: Access = .any, where matches: @escaping @Sendable (String) -> Bool) {
        state.withLock { $0.rules.append(Rule(access: access, matches: matches)) }
    }

    /// Fails the next access to a key containing `fragment` (once).
    public func failNext(_ access: Access = .any, keyContaining fragment: String) {
        failNext(access) { $0.contains(fragment) }
    }

    /// How many failures were injected so far.
    public var injected: Int { state.withLock { $0.injected } }

    /// Every entry of the wrapped backend (to compare before and after a failed operation).
    public func snapshot() async throws -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: try await base.scan(prefix: "", after: nil, limit: .max).map { ($0.key, $0.value) })
    }

    func check(_ access: Access, _ key: String) throws {
        let failing = state.withLock { state -> Bool in
            guard let index = state.rules.firstIndex(where: { $0.access.includes(access) && $0.matches(key) }) else { return false }
            state.rules.remove(at: index)
            state.injected += 1
            return true
        }
        if failing { throw StorageError.unavailable("injected failure at \(key)") }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try check(.read, key)
        return try await base.get(key)
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try check(.read, prefix)
        return try await base.scan(prefix: prefix, after: after, limit: limit)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await base.transaction { try await body(FaultyTransaction(base: $0, owner: self)) }
    }

    public var changeFeed: ChangeFeed? { base.changeFeed }
}

/// A transaction of ``FaultyStorage``: every access passes its owner's rules first.
private struct FaultyTransaction: StorageTransaction {
    let base: any StorageTransaction
    let owner: FaultyStorage

    func get(_ key: String) async throws -> [UInt8]? {
        try owner.check(.read, key)
        return try await base.get(key)
    }

    func get(_ keys: [String]) async throws -> [[UInt8]?] {
        for key in keys { try owner.check(.read, key) }
        return try await base.get(keys)
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try owner.check(.read, prefix)
        return try await base.scan(prefix: prefix, after: after, limit: limit)
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try owner.check(.write, key)
        try await base.put(key, value)
    }

    func delete(_ key: String) async throws {
        try owner.check(.write, key)
        try await base.delete(key)
    }

    func deletePrefix(_ prefix: String) async throws {
        try owner.check(.write, prefix)
        try await base.deletePrefix(prefix)
    }
}
