import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage

/// The cryptographic operations of the Keys API: each finds the usable key version (enabled, within its validity
/// window unless exempt, the operation in its `key_ops`), has the key's custody do it (a token key's private-key work
/// runs in the PKCS#11 module) and counts the operation.
extension KeyService {
    /// The operands of encrypt and decrypt.
    public struct CipherInput: Sendable {
        public var algorithm: String
        public var value: [UInt8]
        public var iv: [UInt8]?
        public var additionalData: [UInt8]?
        public var authenticationTag: [UInt8]?

        public init(
            algorithm: String, value: [UInt8], iv: [UInt8]? = nil, additionalData: [UInt8]? = nil, authenticationTag: [UInt8]? = nil
        ) {
            self.algorithm = algorithm
            self.value = value
            self.iv = iv
            self.additionalData = additionalData
            self.authenticationTag = authenticationTag
        }
    }

    /// What an operation produced, and the key version that did it (its identifier is the answer's `kid`).
    public struct CryptoOutput: Sendable {
        public var key: Versioned<KeyVersion>
        public var value: [UInt8]
        public var iv: [UInt8]?
        public var authenticationTag: [UInt8]?
    }

    /// Encrypts with the key's public part (or the symmetric key).
    public func encrypt(in vault: VaultName, name: String, version: String?, _ input: CipherInput) async throws -> CryptoOutput {
        let (key, custodyKey) = try await keyFor(.encrypt, in: vault, name: name, version: version)
        let result = try await Self.custodial {
            try await custody.encrypt(
                custodyKey, algorithm: input.algorithm, plaintext: input.value, iv: input.iv, additionalData: input.additionalData)
        }
        metrics.crypto(operation: Operation.encrypt.rawValue, algorithm: input.algorithm)
        return CryptoOutput(key: key, value: result.ciphertext, iv: result.iv, authenticationTag: result.authenticationTag)
    }

    public func decrypt(in vault: VaultName, name: String, version: String?, _ input: CipherInput) async throws -> CryptoOutput {
        let (key, custodyKey) = try await keyFor(.decrypt, in: vault, name: name, version: version)
        let plaintext = try await Self.custodial {
            try await custody.decrypt(
                custodyKey, algorithm: input.algorithm, ciphertext: input.value, iv: input.iv, additionalData: input.additionalData,
                authenticationTag: input.authenticationTag)
        }
        metrics.crypto(operation: Operation.decrypt.rawValue, algorithm: input.algorithm)
        return CryptoOutput(key: key, value: plaintext)
    }

    public func wrapKey(in vault: VaultName, name: String, version: String?, algorithm: String, key value: [UInt8]) async throws -> CryptoOutput {
        let (key, custodyKey) = try await keyFor(.wrapKey, in: vault, name: name, version: version)
        let wrapped = try await Self.custodial { try await custody.wrapKey(custodyKey, algorithm: algorithm, keyToWrap: value) }
        metrics.crypto(operation: Operation.wrapKey.rawValue, algorithm: algorithm)
        return CryptoOutput(key: key, value: wrapped)
    }

    public func unwrapKey(in vault: VaultName, name: String, version: String?, algorithm: String, wrappedKey: [UInt8]) async throws
        -> CryptoOutput
    {
        let (key, custodyKey) = try await keyFor(.unwrapKey, in: vault, name: name, version: version)
        let unwrapped = try await Self.custodial { try await custody.unwrapKey(custodyKey, algorithm: algorithm, wrappedKey: wrappedKey) }
        metrics.crypto(operation: Operation.unwrapKey.rawValue, algorithm: algorithm)
        return CryptoOutput(key: key, value: unwrapped)
    }

    public func sign(in vault: VaultName, name: String, version: String?, algorithm: String, digest: [UInt8]) async throws -> CryptoOutput {
        let (key, custodyKey) = try await keyFor(.sign, in: vault, name: name, version: version)
        let signature = try await Self.custodial { try await custody.sign(custodyKey, algorithm: algorithm, digest: digest) }
        metrics.crypto(operation: Operation.sign.rawValue, algorithm: algorithm)
        return CryptoOutput(key: key, value: signature)
    }

    /// Whether `signature` is valid for `digest` (an invalid signature is an answer, not an error).
    public func verify(in vault: VaultName, name: String, version: String?, algorithm: String, digest: [UInt8], signature: [UInt8])
        async throws -> Bool
    {
        let (_, custodyKey) = try await keyFor(.verify, in: vault, name: name, version: version)
        let valid = try await Self.custodial {
            try await custody.verify(custodyKey, algorithm: algorithm, digest: digest, signature: signature)
        }
        metrics.crypto(operation: Operation.verify.rawValue, algorithm: algorithm)
        return valid
    }

    /// A cryptographic operation a key may be asked for, and the `key_ops` entry it needs.
    public enum Operation: String, Sendable {
        case encrypt, decrypt, sign, verify, wrapKey, unwrapKey

        /// decrypt, unwrap and verify stay allowed outside the key's nbf/exp window.
        var allowedOutsideWindow: Bool { self == .decrypt || self == .unwrapKey || self == .verify }
    }

    /// The usable key for `operation`: enabled, within its window (unless exempt), with the operation in its key_ops.
    func keyFor(_ operation: Operation, in vault: VaultName, name: String, version: String?) async throws
        -> (key: Versioned<KeyVersion>, custodyKey: CustodyKey)
    {
        let key = try await get(in: vault, name: name, version: version)
        let record = key.record
        guard record.attributes.enabled else { throw CoffreError.disabled(.key, operation: operation.rawValue) }
        if !operation.allowedOutsideWindow, !record.attributes.isActive(at: clock.now(in: vault)) {
            let expired = record.attributes.expires.map { clock.now(in: vault) >= $0 } ?? false
            throw CoffreError.forbidden(
                expired ? .keyExpired : .keyNotYetValid,
                message: "Operation \(operation.rawValue) is not allowed on a key that is \(expired ? "expired" : "not yet valid").")
        }
        guard record.keyOps.contains(operation.rawValue) else {
            throw CoffreError.forbidden(
                .keyOperationNotPermitted, message: "Operation \(operation.rawValue) is not permitted on this key.")
        }
        return (key, try custodyKey(of: key, in: vault))
    }

    /// The custody key of a version (read once and cached: versions never change).
    func custodyKey(of key: Versioned<KeyVersion>, in vault: VaultName) throws -> CustodyKey {
        try custodyKey(stored: key.record.material, cacheID: "\(vault)/\(key.record.version)")
    }

    /// The custody key of a stored `material` (cached under `cacheID` when given).
    func custodyKey(stored material: String, cacheID: String?) throws -> CustodyKey {
        let load = {
            guard let bytes = Base64.decode(material) else { throw StorageError.corrupt("the key material is not readable") }
            return try CustodyKey(storedRepresentation: bytes)
        }
        guard let cacheID else { return try load() }
        return try cache.key(for: cacheID, stored: material, load: load)
    }

    /// Runs a custody call, turning the engine's crypto failures into 400 `BadParameter` (custody failures go to the
    /// error table as they are).
    static func custodial<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let failure as CryptoFailure {
            throw badParameter(failure)
        }
    }

    /// Runs a crypto engine call, turning its failures into Key Vault's 400 `BadParameter`.
    static func crypto<T>(_ work: () throws -> T) throws -> T {
        do {
            return try work()
        } catch let failure as CryptoFailure {
            throw badParameter(failure)
        }
    }

    /// Key Vault's 400 `BadParameter` for a crypto engine failure.
    static func badParameter(_ failure: CryptoFailure) -> CoffreError {
        switch failure {
        case .invalidKey(let message), .unsupported(let message), .invalidInput(let message):
            CoffreError.badParameter(message.prefix(1).uppercased() + message.dropFirst() + ".")
        case .authenticationFailed:
            CoffreError.badParameter("The ciphertext could not be decrypted: it was altered or made with another key or parameters.")
        case .internal:
            CoffreError.badParameter("The cryptographic operation failed.")
        }
    }
}
