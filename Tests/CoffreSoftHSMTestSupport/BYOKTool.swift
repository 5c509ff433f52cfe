import CoffreCrypto
import CoffreKeyCustody

/// A BYOK transfer blob made as Azure's BYOK tooling makes one, written from the specification (`CKM_RSA_AES_KEY_WRAP`):
/// a fresh AES-256 key wrapped by the key-exchange key's public key with RSA-OAEP (SHA-1, MGF1-SHA-1), then the private
/// key's PKCS#8 wrapped by that AES key with AES key wrap with padding (RFC 5649), the two concatenated.
public enum BYOKTool {
    public static func ciphertext(wrapping material: KeyMaterial, for kek: PublicKeyMaterial) throws -> [UInt8] {
        let transferKey = SecureRandom.bytes(32)
        let wrappedTransferKey = try kek.encrypt("RSA-OAEP", plaintext: transferKey)
        let wrappedKey = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: transferKey))
            .wrapKey("CKM_AES_KEY_WRAP_PAD", key: try material.pkcs8DER)
        return wrappedTransferKey + wrappedKey
    }

    /// The `.byok` file's bytes, as they go into `key_hsm`.
    public static func file(wrapping material: KeyMaterial, for kek: PublicKeyMaterial, kid: String) throws -> [UInt8] {
        BYOKTransferBlob(keyExchangeKeyID: kid, ciphertext: try ciphertext(wrapping: material, for: kek)).keyHSM
    }
}
