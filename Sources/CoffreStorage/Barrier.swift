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
/// Sealed format: `0x01 ‖ term (4 bytes, big-endian) ‖ nonce ‖ ciphertext ‖ tag`.
public final class SealedStorage: StorageBackend {
    private let backend: any StorageBackend
    private let keys: Mutex<[UInt32: AEADKey]>
    private let activeTerm: Mutex<UInt32>

    public init(backend: any StorageBackend, keyring: Keyring) throws {
        self.backend = backend
        var keys = [UInt32: AEADKey]()
        for term in keyring.terms { keys[term.number] = try AEADKey(bytes: term.key) }
        self.keys = Mutex(keys)
        self.activeTerm = Mutex(keyring.active.number)
    }

    /// Installs a keyring read after another node rotated it.
    public func install(_ keyring: Keyring) throws {
        var keys = [UInt32: AEADKey]()
        for term in keyring.terms { keys[term.number] = try AEADKey(bytes: term.key) }
        self.keys.withLock { $0 = keys }
        self.activeTerm.withLock { $0 = keyring.active.number }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await backend.get(key).map { try open($0, at: key) }
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await backend.scan(prefix: prefix, after: after, limit: limit).map {
            StorageEntry(key: $0.key, value: try open($0.value, at: $0.key))
        }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await backend.transaction { inner in
            try await body(SealedTransaction(inner: inner, barrier: self))
        }
    }

    func seal(_ plaintext: [UInt8], at key: String) throws -> [UInt8] {
        let term = activeTerm.withLock { $0 }
        guard let aead = keys.withLock({ $0[term] }) else { throw StorageError.corrupt("no data key for term \(term)") }
        var output: [UInt8] = [0x01]
        withUnsafeBytes(of: term.bigEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: try aead.seal(plaintext, authenticating: Array(key.utf8)))
        return output
    }

    func open(_ sealed: [UInt8], at key: String) throws -> [UInt8] {
        guard sealed.count > 5, sealed[0] == 0x01 else { throw StorageError.corrupt("unknown sealed format at \(key)") }
        let term = sealed[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard let aead = keys.withLock({ $0[term] }) else { throw StorageError.corrupt("no data key for term \(term)") }
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
        try await inner.get(key).map { try barrier.open($0, at: key) }
    }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await inner.scan(prefix: prefix, after: after, limit: limit).map {
            StorageEntry(key: $0.key, value: try barrier.open($0.value, at: $0.key))
        }
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try await inner.put(key, try barrier.seal(value, at: key))
    }

    func delete(_ key: String) async throws { try await inner.delete(key) }

    func deletePrefix(_ prefix: String) async throws { try await inner.deletePrefix(prefix) }
}
