import CoffreCrypto
import Foundation
import Synchronization

/// The data keys of the barrier. Each rotation adds a term; data sealed under older terms stays readable.
public struct Keyring: Codable, Sendable {
    public struct Term: Codable, Sendable {
        public var number: UInt32
        public var key: [UInt8]
        public var created: Int64
    }

    public private(set) var terms: [Term]

    public init(created: Int64) {
        self.terms = [Term(number: 1, key: AEADKey.generate(), created: created)]
    }

    public var active: Term { terms[terms.count - 1] }

    public func term(_ number: UInt32) -> Term? { terms.first { $0.number == number } }

    /// Adds a new data key, which seals everything written from now on.
    public mutating func rotate(at now: Int64) {
        terms.append(Term(number: active.number + 1, key: AEADKey.generate(), created: now))
    }

    /// Where the keyring lives, sealed by the root key, outside the barrier.
    public static let storageKey = "core/keyring"

    public func sealed(with rootKey: AEADKey) throws -> [UInt8] {
        try rootKey.seal(try JSONEncoder().encode(self), authenticating: Array(Self.storageKey.utf8))
    }

    public static func unsealed(_ bytes: [UInt8], with rootKey: AEADKey) throws -> Keyring {
        let plaintext: [UInt8]
        do {
            plaintext = try rootKey.open(bytes, authenticating: Array(storageKey.utf8))
        } catch {
            throw StorageError.corrupt("the keyring cannot be opened with this root key")
        }
        return try JSONDecoder().decode(Keyring.self, from: Data(plaintext))
    }
}

/// The barrier: a backend wrapper that seals every value with AES-256-GCM, binding it to its storage key as
/// associated data, so a stolen database reveals no value and a value moved to another key fails to open.
///
/// Sealed format: `0x01 ‖ term (4 bytes, big-endian) ‖ nonce ‖ ciphertext ‖ tag`. The keyring itself is stored
/// outside the barrier, sealed by the root key (`core/keyring`). When a value names a term this node does not know
/// (another node rotated the keyring), the keyring is read again once.
public final class SealedStorage: StorageBackend {
    private struct Terms {
        var keys: [UInt32: AEADKey]
        var active: UInt32
    }

    /// The raw backend (whole-server backups copy its sealed bytes).
    public let backend: any StorageBackend
    private let rootKey: AEADKey
    private let terms: Mutex<Terms>

    public init(backend: any StorageBackend, keyring: Keyring, rootKey: AEADKey) throws {
        self.backend = backend
        self.rootKey = rootKey
        self.terms = Mutex(try Self.terms(of: keyring))
    }

    /// Opens the barrier with the root key: reads the keyring, creating it on a new store.
    public static func unseal(_ backend: any StorageBackend, rootKey: AEADKey, now: Int64) async throws -> SealedStorage {
        let keyring: Keyring = try await backend.transaction { transaction in
            if let sealed = try await transaction.get(Keyring.storageKey) { return try Keyring.unsealed(sealed, with: rootKey) }
            let keyring = Keyring(created: now)
            try await transaction.put(Keyring.storageKey, try keyring.sealed(with: rootKey))
            return keyring
        }
        return try SealedStorage(backend: backend, keyring: keyring, rootKey: rootKey)
    }

    private static func terms(of keyring: Keyring) throws -> Terms {
        var keys = [UInt32: AEADKey]()
        for term in keyring.terms { keys[term.number] = try AEADKey(bytes: term.key) }
        return Terms(keys: keys, active: keyring.active.number)
    }

    /// The keyring's terms, oldest first (for status output; never the keys).
    public var termNumbers: [UInt32] { terms.withLock { $0.keys.keys.sorted() } }

    /// Adds a data-key term: everything written from now on is sealed with it; older data stays readable.
    @discardableResult
    public func rotate(now: Int64) async throws -> UInt32 {
        let rootKey = self.rootKey
        let keyring: Keyring = try await backend.transaction { transaction in
            guard let sealed = try await transaction.get(Keyring.storageKey) else { throw StorageError.corrupt("the keyring is missing") }
            var keyring = try Keyring.unsealed(sealed, with: rootKey)
            keyring.rotate(at: now)
            try await transaction.put(Keyring.storageKey, try keyring.sealed(with: rootKey))
            return keyring
        }
        let fresh = try Self.terms(of: keyring)
        terms.withLock { $0 = fresh }
        return keyring.active.number
    }

    /// Re-seals every value under the active term, a page per transaction; returns how many were rewritten.
    public func rewrap(pageSize: Int = 200) async throws -> Int {
        try await reloadKeyring()
        var rewritten = 0
        var cursor: String?
        repeat {
            let active = terms.withLock { $0.active }
            let page = try await backend.scan(prefix: "", after: cursor, limit: pageSize).filter { $0.key != Keyring.storageKey }
            let count = try await backend.transaction { transaction in
                var count = 0
                for entry in page where Self.term(of: entry.value) != active {
                    // Re-read inside the transaction so a concurrent write is never overwritten with older data.
                    guard let current = try await transaction.get(entry.key) else { continue }
                    try await transaction.put(entry.key, try self.seal(try await self.open(current, at: entry.key), at: entry.key))
                    count += 1
                }
                return count
            }
            rewritten += count
            cursor = page.last?.key
            if page.count < pageSize { break }
        } while cursor != nil
        return rewritten
    }

    /// Reads the keyring again (after another node rotated it).
    public func reloadKeyring() async throws {
        guard let sealed = try await backend.get(Keyring.storageKey) else { return }
        let fresh = try Self.terms(of: try Keyring.unsealed(sealed, with: rootKey))
        terms.withLock { $0 = fresh }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        guard let value = try await backend.get(key) else { return nil }
        return try await open(value, at: key)
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        var entries: [StorageEntry] = []
        for entry in try await backend.scan(prefix: prefix, after: after, limit: limit) {
            entries.append(StorageEntry(key: entry.key, value: try await open(entry.value, at: entry.key)))
        }
        return entries
    }

    /// Keys are not sealed, so the changes heard are those of the backend.
    public var changeFeed: ChangeFeed? { backend.changeFeed }

    /// Keys are not sealed: no value is read.
    public func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String] {
        try await backend.scanKeys(prefix: prefix, after: after, limit: limit)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await backend.transaction { inner in
            try await body(SealedTransaction(inner: inner, barrier: self))
        }
    }

    func seal(_ plaintext: [UInt8], at key: String) throws -> [UInt8] {
        let (term, aead) = terms.withLock { ($0.active, $0.keys[$0.active]) }
        guard let aead else { throw StorageError.corrupt("no data key for term \(term)") }
        var output: [UInt8] = [0x01]
        withUnsafeBytes(of: term.bigEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: try aead.seal(plaintext, authenticating: Array(key.utf8)))
        return output
    }

    static func term(of sealed: [UInt8]) -> UInt32? {
        guard sealed.count > 5, sealed[0] == 0x01 else { return nil }
        return sealed[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    func open(_ sealed: [UInt8], at key: String) async throws -> [UInt8] {
        guard let term = Self.term(of: sealed) else { throw StorageError.corrupt("unknown sealed format at \(key)") }
        var aead = terms.withLock { $0.keys[term] }
        if aead == nil {
            try await reloadKeyring()
            aead = terms.withLock { $0.keys[term] }
        }
        guard let aead else { throw StorageError.corrupt("no data key for term \(term)") }
        do {
            return try aead.open(sealed[5...], authenticating: Array(key.utf8))
        } catch {
            throw StorageError.corrupt("the value at \(key) failed authentication")
        }
    }
}

private struct SealedTransaction: StorageTransaction {
    let inner: any StorageTransaction
    let barrier: SealedStorage

    func get(_ key: String) async throws -> [UInt8]? {
        guard let value = try await inner.get(key) else { return nil }
        return try await barrier.open(value, at: key)
    }

    func get(_ keys: [String]) async throws -> [[UInt8]?] {
        var values: [[UInt8]?] = []
        for (key, value) in zip(keys, try await inner.get(keys)) {
            if let value { values.append(try await barrier.open(value, at: key)) } else { values.append(nil) }
        }
        return values
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        var entries: [StorageEntry] = []
        for entry in try await inner.scan(prefix: prefix, after: after, limit: limit) {
            entries.append(StorageEntry(key: entry.key, value: try await barrier.open(entry.value, at: entry.key)))
        }
        return entries
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try await inner.put(key, try barrier.seal(value, at: key))
    }

    func delete(_ key: String) async throws { try await inner.delete(key) }

    func deletePrefix(_ prefix: String) async throws { try await inner.deletePrefix(prefix) }
}
