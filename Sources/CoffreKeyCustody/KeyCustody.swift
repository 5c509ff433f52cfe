import CoffreCrypto

/// Where the private parts of keys live and work: Core asks a custody to generate, use, back up and destroy keys, and
/// keeps only what ``CustodyKey/storedRepresentation`` gives it (sealed in the barrier with the key's record).
///
/// Two custodies exist: ``SoftwareCustody`` (the private key is in the stored representation, so in the sealed barrier)
/// and ``PKCS11Custody`` (the private key is an object in a PKCS#11 token; the stored representation names the object
/// and carries the public part, and Core never sees the private key's bytes). ``RoutingCustody`` puts them together.
///
/// Crypto-level failures (an algorithm that does not suit the key, a malformed input, a ciphertext that does not
/// decrypt) are the engine's `CryptoFailure`, exactly as `KeyMaterial` throws them; everything about where the key lives
/// (a token that is unreachable, an object that is gone, a PIN that is wrong) is a ``CustodyFailure``.
public protocol KeyCustody: Sendable {
    /// Generates a key. `label` names its object in a token (a software custody has no use for it).
    func generate(_ spec: KeySpec, policy: KeyPolicy, label: String) async throws -> CustodyKey

    /// Takes in a key whose private part the caller holds (a JWK or PKCS#8 import).
    func importKey(_ material: KeyMaterial, policy: KeyPolicy, label: String) async throws -> CustodyKey

    /// Imports a key brought in a BYOK transfer blob (``BYOKTransferBlob``, `CKM_RSA_AES_KEY_WRAP`), unwrapped with
    /// `keyExchangeKey`, which must have been created as a key-exchange key (``KeyPolicy/keyExchange``).
    /// `type` is the JWK's `kty` (`RSA-HSM` or `EC-HSM`): the family the wrapped key must be.
    func importBYOK(
        _ ciphertext: [UInt8], keyExchangeKey: CustodyKey, type: KeyType, policy: KeyPolicy, label: String
    ) async throws -> CustodyKey

    /// Signs a digest the caller computed; see `KeyMaterial.sign(_:digest:)`.
    func sign(_ key: CustodyKey, algorithm: String, digest: [UInt8]) async throws -> [UInt8]

    /// `false` for a signature that does not verify; see `KeyMaterial.verify(_:digest:signature:)`.
    func verify(_ key: CustodyKey, algorithm: String, digest: [UInt8], signature: [UInt8]) async throws -> Bool

    func encrypt(
        _ key: CustodyKey, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) async throws -> EncryptionResult

    /// Every failure to decrypt a well-formed input is the same `CryptoFailure.authenticationFailed`.
    func decrypt(
        _ key: CustodyKey, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) async throws -> [UInt8]

    func wrapKey(_ key: CustodyKey, algorithm: String, keyToWrap: [UInt8]) async throws -> [UInt8]

    /// Key Vault's unwrapKey: the unwrapped bytes go back to the caller (for RSA keys, a decryption).
    func unwrapKey(_ key: CustodyKey, algorithm: String, wrappedKey: [UInt8]) async throws -> [UInt8]

    /// The key's private part, wrapped for secure key release to `runtimeKey` (the attested environment's RSA key):
    /// an ephemeral AES-256 key wrapped by RSA-OAEP (SHA-1 for `CKM_RSA_AES_KEY_WRAP`, SHA-256 for
    /// `RSA_AES_KEY_WRAP_256`), then the key (PKCS#8, or an oct key's bytes) wrapped by that AES key with RFC 5649 key
    /// wrap with padding; the two concatenated. Only keys created ``KeyPolicy/exportable`` can be released.
    func release(_ key: CustodyKey, to runtimeKey: PublicKeyMaterial, encryption: ReleaseEncryption) async throws -> [UInt8]

    /// A backup of the key that only a custody holding the same protection can restore: for a software key its stored
    /// form (the caller seals the backup), for a token key the private key wrapped by the token's backup wrapping key.
    func backup(_ key: CustodyKey) async throws -> [UInt8]

    /// A key from ``backup(_:)``: a new object (named `label`) in the token, or the software key again.
    func restore(_ backup: [UInt8], label: String) async throws -> CustodyKey

    /// Destroys the key's private part where it lives (a token object; nothing for a software key, whose record the
    /// caller removes). A key that is already gone is not an error.
    func destroy(_ key: CustodyKey) async throws
}

/// What a key may do beyond its usual operations, decided when it is created: a token fixes it on the key's object,
/// and no later change can make a non-extractable key leave.
public struct KeyPolicy: Sendable, Equatable, Codable {
    /// Key Vault's `exportable`: the private key may leave, wrapped, for secure key release.
    public var exportable: Bool
    /// A key-exchange key (`key_ops: ["import"]`): it only unwraps BYOK transfer blobs into new keys; it neither signs
    /// nor decrypts.
    public var keyExchange: Bool

    public init(exportable: Bool = false, keyExchange: Bool = false) {
        self.exportable = exportable
        self.keyExchange = keyExchange
    }
}

/// The key wrapping of a secure key release (Key Vault's `enc`).
public enum ReleaseEncryption: String, Sendable, CaseIterable {
    /// RSA-OAEP with SHA-1 for the AES key.
    case rsaAESKeyWrap = "CKM_RSA_AES_KEY_WRAP"
    /// RSA-OAEP with SHA-256 for the AES key.
    case rsaAESKeyWrap256 = "RSA_AES_KEY_WRAP_256"

    /// The JWA name of the RSA-OAEP that wraps the AES key.
    var oaepAlgorithm: String {
        switch self {
        case .rsaAESKeyWrap: "RSA-OAEP"
        case .rsaAESKeyWrap256: "RSA-OAEP-256"
        }
    }
}
