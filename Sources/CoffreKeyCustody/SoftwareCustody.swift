import CoffreCrypto
import CoffreModel
import Synchronization

/// Keys whose private part lives in Coffre's sealed barrier: the engine's `KeyMaterial`, stored in its own stored form.
/// This is every software key, and every `-HSM` key of a Coffre without a PKCS#11 module (development: the same
/// behaviour as a software key, under the `-HSM` type).
///
/// It holds no policy of its own: `exportable` and `key_ops` are the caller's record, checked by the caller.
/// Expensive private-key operations (RSA, and the curves OpenSSL computes generically) run off the cooperative pool, in
/// a bounded queue: past `capacity` of them waiting or running, more are refused at once as unavailable (503 with
/// `Retry-After`) rather than waiting without end.
public struct SoftwareCustody: KeyCustody {
    private let executor = BlockingExecutor(label: "coffre.custody.software")
    /// Heavy operations waiting or running at once.
    public let capacity: Int
    private let admitted = AdmissionCount()

    /// - Parameter capacity: heavy operations waiting or running at once (1,024: about a second of RSA-2048 signing
    ///   on two cores).
    public init(capacity: Int = 1024) { self.capacity = capacity }

    public func generate(_ spec: KeySpec, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        let material = try await run(heavy: spec.type.family == .rsa) {
            try KeyMaterial.generate(spec.type, size: spec.size, curve: spec.curve, publicExponent: spec.publicExponent)
        }
        return .software(material)
    }

    public func importKey(_ material: KeyMaterial, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        .software(material)
    }

    /// Unwraps the blob in software with the key-exchange key's private key (what a module does inside itself).
    public func importBYOK(
        _ ciphertext: [UInt8], keyExchangeKey: CustodyKey, type: KeyType, policy: KeyPolicy, label: String
    ) async throws -> CustodyKey {
        let kek = try material(of: keyExchangeKey)
        guard kek.keyType.family == .rsa, let bits = kek.sizeInBits else { throw CustodyFailure.notAKeyExchangeKey }
        let parts = try BYOKTransferBlob.split(ciphertext, modulusByteCount: (bits + 7) / 8)
        let imported = try await run(heavy: true) { () throws -> KeyMaterial in
            let pkcs8: [UInt8]
            do {
                let aesKey = try kek.unwrapKey("RSA-OAEP", wrappedKey: parts.wrappedAESKey)
                pkcs8 = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: aesKey)).unwrapKey(
                    "CKM_AES_KEY_WRAP_PAD", wrappedKey: parts.wrappedKey)
            } catch {
                throw BYOKTransferBlob.notUnwrappable
            }
            let material = try KeyMaterial(pkcs8DER: pkcs8)
            guard material.keyType.family == type.family else {
                throw CustodyFailure.invalidBYOK("the wrapped key is not an \(type.rawValue) key")
            }
            return try material.withKeyType(type)
        }
        return .software(imported)
    }

    public func sign(_ key: CustodyKey, algorithm: String, digest: [UInt8]) async throws -> [UInt8] {
        let material = try material(of: key)
        return try await run(for: material) { try material.sign(algorithm, digest: digest) }
    }

    public func verify(_ key: CustodyKey, algorithm: String, digest: [UInt8], signature: [UInt8]) async throws -> Bool {
        try material(of: key).verify(algorithm, digest: digest, signature: signature)
    }

    public func encrypt(
        _ key: CustodyKey, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) async throws -> EncryptionResult {
        try material(of: key).encrypt(algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
    }

    public func decrypt(
        _ key: CustodyKey, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) async throws -> [UInt8] {
        let material = try material(of: key)
        return try await run(for: material) {
            try material.decrypt(
                algorithm, ciphertext: ciphertext, iv: iv, additionalData: additionalData, authenticationTag: authenticationTag)
        }
    }

    public func wrapKey(_ key: CustodyKey, algorithm: String, keyToWrap: [UInt8]) async throws -> [UInt8] {
        try material(of: key).wrapKey(algorithm, key: keyToWrap)
    }

    public func unwrapKey(_ key: CustodyKey, algorithm: String, wrappedKey: [UInt8]) async throws -> [UInt8] {
        let material = try material(of: key)
        return try await run(for: material) { try material.unwrapKey(algorithm, wrappedKey: wrappedKey) }
    }

    public func release(_ key: CustodyKey, to runtimeKey: PublicKeyMaterial, encryption: ReleaseEncryption) async throws -> [UInt8] {
        let material = try material(of: key)
        let secret = material.keyType.family == .oct ? (material.privateJWK().k ?? []) : try material.pkcs8DER
        let transient = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: SecureRandom.bytes(32)))
        return try await run(heavy: true) {
            try runtimeKey.encrypt(encryption.oaepAlgorithm, plaintext: transient.privateJWK().k ?? [])
                + transient.wrapKey("CKM_AES_KEY_WRAP_PAD", key: secret)
        }
    }

    /// The stored form: the caller seals backups under its backup key.
    public func backup(_ key: CustodyKey) async throws -> [UInt8] {
        try material(of: key).storedRepresentation
    }

    public func restore(_ backup: [UInt8], label: String) async throws -> CustodyKey {
        .software(try KeyMaterial(storedRepresentation: backup))
    }

    /// Nothing to do: the key is in the caller's record, which the caller removes.
    public func destroy(_ key: CustodyKey) async throws {
        _ = try material(of: key)
    }

    // MARK: - Helpers

    private func material(of key: CustodyKey) throws -> KeyMaterial {
        guard case .software(let material) = key else { throw CustodyFailure.noModule }
        return material
    }

    /// `work` on the executor when it is expensive (RSA, P-521 and secp256k1, which OpenSSL computes generically),
    /// inline otherwise.
    private func run<T: Sendable>(for material: KeyMaterial, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let heavy =
            switch material.keyType.family {
            case .rsa: true
            case .ec: material.curve == .p256k || material.curve == .p521
            case .oct: false
            }
        return try await run(heavy: heavy, work)
    }

    private func run<T: Sendable>(heavy: Bool, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard heavy else { return try work() }
        guard admitted.value.add(1, ordering: .relaxed).newValue <= capacity else {
            admitted.value.subtract(1, ordering: .relaxed)
            throw CoffreError.unavailable("Coffre has \(capacity) key operations waiting: retry shortly.")
        }
        defer { admitted.value.subtract(1, ordering: .relaxed) }
        return try await executor.run(work)
    }
}

/// The heavy operations waiting or running, shared by every copy of a ``SoftwareCustody``.
private final class AdmissionCount: Sendable {
    let value = Atomic<Int>(0)
}
