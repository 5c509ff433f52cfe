import CoffreCrypto
import CoffreModel
import CoffreStorage
import Synchronization

/// A token-signing key as stored (`sys/sts/keys`, inside the barrier), newest last.
public struct SigningKeyRecord: Codable, Sendable {
    public var kid: String
    public var privateKeyDER: [UInt8]
    public var created: Int64
    /// `RS256` when absent (the keys of older versions), or `ES256`.
    public var algorithm: String?

    func key() throws -> TokenSigningKey { try TokenSigningKey(algorithm: algorithm ?? "RS256", derRepresentation: privateKeyDER) }
}

/// The token service's signing keys. The newest signs; every kept key verifies, so tokens signed before a rotation
/// stay valid until they expire. Keys are re-read from storage when a token names an unknown `kid` (another node
/// rotated) and by `refresh()`, which the server calls periodically.
public final class SigningKeyring: IssuerKeys {
    struct Loaded {
        var records: [SigningKeyRecord]
        var signer: TokenSigningKey
        var verifiers: [String: VerificationKey]
        var lastReload: Int64
    }

    static let storageKey = "sys/sts/keys"
    /// How many keys stay published after a rotation.
    static let kept = 3

    let storage: any StorageBackend
    let clock: any WallClock
    /// The algorithm of new keys (`RS256`, or `ES256` for servers that must start in milliseconds).
    let algorithm: String
    private let loaded: Mutex<Loaded>

    /// Loads the keys, creating the first one (of `algorithm`) on a new server.
    public init(storage: any StorageBackend, clock: any WallClock, algorithm: String = "RS256") async throws {
        self.storage = storage
        self.clock = clock
        self.algorithm = algorithm
        var records = try await storage.read([SigningKeyRecord].self, at: Self.storageKey) ?? []
        if records.isEmpty { records = try await Self.addKey(algorithm, storage: storage, now: clock.now) }
        self.loaded = Mutex(try Self.load(records, now: clock.now))
    }

    /// The key that signs new tokens.
    public var signer: (kid: String, key: TokenSigningKey) {
        loaded.withLock { ($0.records[$0.records.count - 1].kid, $0.signer) }
    }

    public var records: [SigningKeyRecord] { loaded.withLock { $0.records } }

    /// The public keys, as the token service publishes them (`discovery/keys`).
    public func jwks() throws -> JWKSet {
        JWKSet(keys: try records.map { record in Self.publicJWK(of: try record.key(), kid: record.kid, full: true) })
    }

    public func key(kid: String) async throws -> VerificationKey? {
        if let key = loaded.withLock({ $0.verifiers[kid] }) { return key }
        // Another node may have rotated: look again, at most every 5 seconds.
        guard loaded.withLock({ clock.now - $0.lastReload >= 5 }) else { return nil }
        try await refresh()
        return loaded.withLock { $0.verifiers[kid] }
    }

    /// Re-reads the keys from storage.
    public func refresh() async throws {
        guard let records = try await storage.read([SigningKeyRecord].self, at: Self.storageKey), !records.isEmpty else { return }
        let fresh = try Self.load(records, now: clock.now)
        loaded.withLock { $0 = fresh }
    }

    /// Adds a new signing key; the oldest beyond `kept` is dropped.
    public func rotate() async throws {
        let records = try await Self.addKey(algorithm, storage: storage, now: clock.now)
        let fresh = try Self.load(records, now: clock.now)
        loaded.withLock { $0 = fresh }
    }

    private static func addKey(_ algorithm: String, storage: any StorageBackend, now: Int64) async throws -> [SigningKeyRecord] {
        let key = try TokenSigningKey.generate(algorithm)
        let record = SigningKeyRecord(
            kid: key.thumbprintId, privateKeyDER: key.derRepresentation, created: now, algorithm: algorithm == "RS256" ? nil : algorithm)
        return try await storage.transaction { transaction in
            var records = try await transaction.read([SigningKeyRecord].self, at: storageKey) ?? []
            records.append(record)
            records = Array(records.suffix(kept))
            try await transaction.write(records, at: storageKey)
            return records
        }
    }

    private static func load(_ records: [SigningKeyRecord], now: Int64) throws -> Loaded {
        var verifiers: [String: VerificationKey] = [:]
        var signer: TokenSigningKey?
        for record in records {
            let key = try record.key()
            verifiers[record.kid] = VerificationKey(jwk: publicJWK(of: key, kid: record.kid, full: false))
            signer = key
        }
        guard let signer else { throw StorageError.corrupt("no token-signing key") }
        return Loaded(records: records, signer: signer, verifiers: verifiers, lastReload: now)
    }

    /// The public key as a JWKS entry (`full`: with `use` and `alg`, as published).
    static func publicJWK(of key: TokenSigningKey, kid: String, full: Bool) -> JWKSet.Key {
        let (kty, members) = key.publicMembers
        return JWKSet.Key(
            kty: kty, kid: kid, use: full ? "sig" : nil, alg: full ? key.algorithm : nil, n: members["n"], e: members["e"], crv: members["crv"],
            x: members["x"], y: members["y"])
    }
}
