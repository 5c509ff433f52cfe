import CoffreCrypto

/// The custody Core uses: software keys in the barrier, and `-HSM` keys (RSA, EC and oct) in the PKCS#11 token when a module is
/// configured (without one, `-HSM` keys are software keys too: development behaviour). Each key goes to the custody
/// that holds it (``CustodyKey``); a token key reaching a Coffre without a module fails with
/// ``CustodyFailure/noModule``.
public struct RoutingCustody: KeyCustody {
    public let software: SoftwareCustody
    public let hardware: PKCS11Custody?

    public init(software: SoftwareCustody = SoftwareCustody(), hardware: PKCS11Custody?) {
        self.software = software
        self.hardware = hardware
    }

    /// Whether a new key of this type is made in the token (an RSA-HSM, EC-HSM or oct-HSM key, with a module configured).
    public func keepsInHardware(_ type: KeyType) -> Bool {
        hardware != nil && type.isHSM
    }

    /// The custody a new key of this type is made in.
    private func custody(forNew type: KeyType) -> any KeyCustody {
        if keepsInHardware(type), let hardware { return hardware }
        return software
    }

    private func custody(of key: CustodyKey) throws -> any KeyCustody {
        switch key {
        case .software: return software
        case .token:
            guard let hardware else { throw CustodyFailure.noModule }
            return hardware
        }
    }

    public func generate(_ spec: KeySpec, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        try await custody(forNew: spec.type).generate(spec, policy: policy, label: label)
    }

    public func importKey(_ material: KeyMaterial, policy: KeyPolicy, label: String) async throws -> CustodyKey {
        try await custody(forNew: material.keyType).importKey(material, policy: policy, label: label)
    }

    /// In the custody of the key-exchange key: a token unwraps inside itself, a software key-exchange key in software.
    public func importBYOK(
        _ ciphertext: [UInt8], keyExchangeKey: CustodyKey, type: KeyType, policy: KeyPolicy, label: String
    ) async throws -> CustodyKey {
        try await custody(of: keyExchangeKey).importBYOK(ciphertext, keyExchangeKey: keyExchangeKey, type: type, policy: policy, label: label)
    }

    public func sign(_ key: CustodyKey, algorithm: String, digest: [UInt8]) async throws -> [UInt8] {
        try await custody(of: key).sign(key, algorithm: algorithm, digest: digest)
    }

    public func verify(_ key: CustodyKey, algorithm: String, digest: [UInt8], signature: [UInt8]) async throws -> Bool {
        try await custody(of: key).verify(key, algorithm: algorithm, digest: digest, signature: signature)
    }

    public func encrypt(
        _ key: CustodyKey, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) async throws -> EncryptionResult {
        try await custody(of: key).encrypt(key, algorithm: algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
    }

    public func decrypt(
        _ key: CustodyKey, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) async throws -> [UInt8] {
        try await custody(of: key).decrypt(
            key, algorithm: algorithm, ciphertext: ciphertext, iv: iv, additionalData: additionalData, authenticationTag: authenticationTag)
    }

    public func wrapKey(_ key: CustodyKey, algorithm: String, keyToWrap: [UInt8]) async throws -> [UInt8] {
        try await custody(of: key).wrapKey(key, algorithm: algorithm, keyToWrap: keyToWrap)
    }

    public func unwrapKey(_ key: CustodyKey, algorithm: String, wrappedKey: [UInt8]) async throws -> [UInt8] {
        try await custody(of: key).unwrapKey(key, algorithm: algorithm, wrappedKey: wrappedKey)
    }

    public func release(_ key: CustodyKey, to runtimeKey: PublicKeyMaterial, encryption: ReleaseEncryption) async throws -> [UInt8] {
        try await custody(of: key).release(key, to: runtimeKey, encryption: encryption)
    }

    public func backup(_ key: CustodyKey) async throws -> [UInt8] {
        try await custody(of: key).backup(key)
    }

    /// A hardware key backup goes to the token (refused clearly without a module); anything else is a software key.
    public func restore(_ backup: [UInt8], label: String) async throws -> CustodyKey {
        guard TokenBackup.isEncoded(backup) else { return try await software.restore(backup, label: label) }
        guard let hardware else { throw CustodyFailure.noModule }
        return try await hardware.restore(backup, label: label)
    }

    public func destroy(_ key: CustodyKey) async throws {
        try await custody(of: key).destroy(key)
    }
}
