import CoffreCrypto
import CoffreModel
import CoffreStorage

/// The token-signing keys of the token service (`sys/sts/keys`), newest last. Old keys stay published in the
/// JWKS so tokens they signed stay valid until they expire.
public struct SigningKeyRecord: Codable, Sendable {
    public var kid: String
    public var privateKeyDER: [UInt8]
    public var created: Int64
}

public struct SigningKeyStore: Sendable {
    let storage: any StorageBackend
    static let key = "sys/sts/keys"

    public init(storage: any StorageBackend) { self.storage = storage }

    /// The stored keys, creating the first one if there is none.
    public func load(now: Int64) async throws -> [SigningKeyRecord] {
        if let keys = try await storage.read([SigningKeyRecord].self, at: Self.key), !keys.isEmpty { return keys }
        return try await rotate(now: now)
    }

    /// Adds a new signing key, which signs every token from now on.
    @discardableResult
    public func rotate(now: Int64, keep: Int = 3) async throws -> [SigningKeyRecord] {
        let key = try RSASigningKey.generate()
        let (modulus, _) = key.publicKey.components
        let record = SigningKeyRecord(
            kid: Base64.urlEncoded(Digest.sha256(modulus).prefix(20)), privateKeyDER: key.derRepresentation, created: now)
        return try await storage.transaction { transaction in
            var keys = try await transaction.read([SigningKeyRecord].self, at: Self.key) ?? []
            keys.append(record)
            keys = Array(keys.suffix(keep))
            try await transaction.write(keys, at: Self.key)
            return keys
        }
    }
}
