import CoffreCrypto

/// A hardware key's backup: its private or secret key wrapped (RFC 5649) by the token's backup wrapping key, its public
/// part (a secret key's type and size) and its policy. `"CB"`, format version 1, then JSON. Nothing in it is usable
/// without the wrapping key, which never leaves a token; the caller seals the whole like any backup.
struct TokenBackup {
    var shape: TokenKey.Shape
    var policy: KeyPolicy
    var wrappedKey: [UInt8]

    private static let format = TaggedJSON(magic: Array("CB".utf8), version: 1)

    private struct Stored: Codable {
        var jwk: JsonWebKey
        /// A secret key's size in bits.
        var size: Int?
        var policy: KeyPolicy
        var wrapped: String
    }

    init(shape: TokenKey.Shape, policy: KeyPolicy, wrappedKey: [UInt8]) {
        self.shape = shape
        self.policy = policy
        self.wrappedKey = wrappedKey
    }

    static func isEncoded(_ bytes: [UInt8]) -> Bool { format.isTagged(bytes) }

    var encoded: [UInt8] {
        Self.format.encode(Stored(jwk: shape.jwk, size: shape.secretBits, policy: policy, wrapped: Base64.urlEncoded(wrappedKey)))
    }

    init(encoded bytes: [UInt8]) throws {
        guard let stored = Self.format.decode(Stored.self, from: bytes), let wrapped = Base64.decode(stored.wrapped), !wrapped.isEmpty,
            let shape = try? TokenKey.Shape(jwk: stored.jwk, size: stored.size)
        else { throw CustodyFailure.backupNotRestorable("it is not a hardware key backup") }
        self.init(shape: shape, policy: stored.policy, wrappedKey: wrapped)
    }
}
