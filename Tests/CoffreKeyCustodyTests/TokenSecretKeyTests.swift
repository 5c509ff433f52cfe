import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Testing

@testable import CoffreKeyCustody

/// `oct-HSM` keys in a SoftHSM2 token: AES and HMAC run in the module and give what the same key gives in software
/// (CoffreCrypto's `KeyMaterial`, itself checked against independent implementations), with the same refusals.
@Suite(
    .softHSM([
        .init("secrets"),
        .init("secrets-backed", backupKey: .init(value: SecureRandom.bytes(32), trusted: true)),
    ]))
struct TokenSecretKeyTests {
    private func custody(_ label: String = "secrets") async throws -> PKCS11Custody {
        try await SoftHSM.requireCurrent().custody(label)
    }

    /// The same key in the token and in software.
    private func twin(bits: Int, in custody: PKCS11Custody, label: String) async throws -> (token: CustodyKey, software: KeyMaterial) {
        let material = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: SecureRandom.bytes(bits / 8)))
        let key = try await custody.importKey(material, policy: KeyPolicy(), label: label)
        return (key, material)
    }

    /// Generated in the token: an AES object and its HMAC twin, both sensitive and, in a token without a trusted backup
    /// key, never extractable; Coffre keeps no value.
    @Test(arguments: [128, 192, 256])
    func generatedKeysAreTwoSensitiveObjects(bits: Int) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .octHSM, size: bits), policy: KeyPolicy(), label: "oct-\(bits)")
        guard case .token(let tokenKey) = key else { throw SoftHSMError("not a token key") }
        #expect(key.keyType == .octHSM && key.sizeInBits == bits)
        #expect(key.publicJWK() == JsonWebKey(kty: .octHSM))
        for role in [ObjectRole.aes, .hmac] {
            let attributes = try await custody.inspect(tokenKey, role)
            #expect(attributes.sensitive && attributes.valueHidden && !attributes.extractable && attributes.token, "\(role)")
        }
        let reread = try CustodyKey(storedRepresentation: key.storedRepresentation)
        #expect(reread.keyType == .octHSM && reread.sizeInBits == bits)
        // The two objects hold one value: an encryption in the token decrypts, and each object works.
        let encrypted = try await custody.encrypt(key, algorithm: "A\(bits)GCM", plaintext: [1, 2, 3], iv: nil, additionalData: nil)
        let decrypted = try await custody.decrypt(
            key, algorithm: "A\(bits)GCM", ciphertext: encrypted.ciphertext, iv: encrypted.iv, additionalData: nil,
            authenticationTag: encrypted.authenticationTag)
        #expect(decrypted == [1, 2, 3])
        #expect(try await custody.ownedObjects().filter { $0.label == "oct-\(bits)" }.count == 1)
        try await custody.destroy(key)
        #expect(try await custody.objectCount(labelled: "oct-\(bits)") == 0)
    }

    /// AES-GCM (with additional data), AES-CBC and AES-CBC with padding: the token's ciphertext is software's, and each
    /// decrypts the other's.
    @Test(arguments: [128, 192, 256])
    func aesEncryptionMatchesSoftware(bits: Int) async throws {
        let custody = try await custody()
        let (key, software) = try await twin(bits: bits, in: custody, label: "aes-\(bits)")
        for (suffix, plaintext, additionalData) in [
            ("GCM", SecureRandom.bytes(37), SecureRandom.bytes(9)), ("CBC", SecureRandom.bytes(48), nil), ("CBCPAD", SecureRandom.bytes(37), nil),
        ] {
            let algorithm = "A\(bits)\(suffix)"
            let iv = SecureRandom.bytes(suffix == "GCM" ? 12 : 16)
            let inToken = try await custody.encrypt(key, algorithm: algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
            let inSoftware = try software.encrypt(algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
            #expect(inToken == inSoftware, "\(algorithm)")
            let decrypted = try await custody.decrypt(
                key, algorithm: algorithm, ciphertext: inSoftware.ciphertext, iv: iv, additionalData: additionalData,
                authenticationTag: inSoftware.authenticationTag)
            #expect(decrypted == plaintext, "\(algorithm)")
        }
        // An IV chosen by Coffre when the caller gives none.
        let generated = try await custody.encrypt(key, algorithm: "A\(bits)CBCPAD", plaintext: [7], iv: nil, additionalData: nil)
        #expect(generated.iv?.count == 16)
        #expect(
            try software.decrypt("A\(bits)CBCPAD", ciphertext: generated.ciphertext, iv: generated.iv, additionalData: nil, authenticationTag: nil)
                == [7])
    }

    /// A ciphertext, tag or padding that does not check is `authenticationFailed`, as in software.
    @Test func whatDoesNotDecryptIsAuthenticationFailed() async throws {
        let custody = try await custody()
        let (key, software) = try await twin(bits: 256, in: custody, label: "tampered")
        let sealed = try software.encrypt("A256GCM", plaintext: SecureRandom.bytes(20), iv: nil, additionalData: [1])
        var tag = sealed.authenticationTag!
        tag[0] ^= 1
        await expectFailure(CryptoFailure.authenticationFailed) {
            try await custody.decrypt(
                key, algorithm: "A256GCM", ciphertext: sealed.ciphertext, iv: sealed.iv, additionalData: [1], authenticationTag: tag)
        }
        await expectFailure(CryptoFailure.authenticationFailed) {
            try await custody.decrypt(
                key, algorithm: "A256GCM", ciphertext: sealed.ciphertext, iv: sealed.iv, additionalData: [2],
                authenticationTag: sealed.authenticationTag)
        }
        var padded = try software.encrypt("A256CBCPAD", plaintext: [1, 2, 3], iv: nil, additionalData: nil)
        padded.ciphertext[15] ^= 0x55
        await expectFailure(CryptoFailure.authenticationFailed) {
            try await custody.decrypt(
                key, algorithm: "A256CBCPAD", ciphertext: padded.ciphertext, iv: padded.iv, additionalData: nil, authenticationTag: nil)
        }
        var wrapped = try software.wrapKey("A256KW", key: SecureRandom.bytes(32))
        wrapped[3] ^= 1
        await expectFailure(CryptoFailure.authenticationFailed) { try await custody.unwrapKey(key, algorithm: "A256KW", wrappedKey: wrapped) }
    }

    /// RFC 3394 and RFC 5649 key wrap in the module: the same bytes as software, both ways.
    @Test(arguments: [128, 192, 256])
    func keyWrapMatchesSoftware(bits: Int) async throws {
        let custody = try await custody()
        let (key, software) = try await twin(bits: bits, in: custody, label: "kw-\(bits)")
        for (algorithm, keyToWrap) in [
            ("A\(bits)KW", SecureRandom.bytes(32)), ("CKM_AES_KEY_WRAP", SecureRandom.bytes(24)), ("CKM_AES_KEY_WRAP_PAD", SecureRandom.bytes(1)),
            ("CKM_AES_KEY_WRAP_PAD", SecureRandom.bytes(45)),
        ] {
            let inToken = try await custody.wrapKey(key, algorithm: algorithm, keyToWrap: keyToWrap)
            #expect(inToken == (try software.wrapKey(algorithm, key: keyToWrap)), "\(algorithm)")
            #expect(try await custody.unwrapKey(key, algorithm: algorithm, wrappedKey: inToken) == keyToWrap, "\(algorithm)")
        }
    }

    /// HMAC in the module where it computes it (SoftHSM2: a key at least as long as the hash, so HS256 with 256-bit
    /// keys), the same as software; elsewhere a clear refusal naming the module.
    @Test func hmacMatchesSoftwareWhereTheModuleComputesIt() async throws {
        let custody = try await custody()
        let (key, software) = try await twin(bits: 256, in: custody, label: "hmac")
        let data = SecureRandom.bytes(100)
        let mac = try await custody.sign(key, algorithm: "HS256", digest: data)
        #expect(mac == (try software.sign("HS256", digest: data)))
        #expect(try await custody.verify(key, algorithm: "HS256", digest: data, signature: mac))
        var other = mac
        other[0] ^= 1
        #expect(try await !custody.verify(key, algorithm: "HS256", digest: data, signature: other))
        #expect(try await !custody.verify(key, algorithm: "HS256", digest: data, signature: Array(mac.prefix(16))))
        for algorithm in ["HS384", "HS512"] {
            await expectFailure(CryptoFailure.unsupported("the PKCS#11 module does not compute \(algorithm) with a 256-bit key")) {
                try await custody.sign(key, algorithm: algorithm, digest: data)
            }
        }
        let (short, _) = try await twin(bits: 128, in: custody, label: "hmac-128")
        await expectFailure(CryptoFailure.unsupported("the PKCS#11 module does not compute HS256 with a 128-bit key")) {
            try await custody.verify(short, algorithm: "HS256", digest: data, signature: mac)
        }
    }

    /// Inputs are checked before the module is called, by the same code as software keys: the same messages.
    @Test func badInputsGetSoftwaresAnswers() async throws {
        let custody = try await custody()
        let (key, software) = try await twin(bits: 256, in: custody, label: "checks")
        let cases: [(String, [UInt8], [UInt8]?, [UInt8]?)] = [
            ("A128GCM", [1], nil, nil), ("A256CBC", [1, 2, 3], nil, nil), ("A256CBCPAD", [1], nil, [1]), ("A256GCM", [1], [1, 2], nil),
            ("RSA-OAEP", [1], nil, nil), ("A256KW", [1], nil, nil),
        ]
        for (algorithm, plaintext, iv, additionalData) in cases {
            var expected: (any Error)?
            do { _ = try software.encrypt(algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData) } catch { expected = error }
            let failure = try #require(expected as? CryptoFailure, "\(algorithm)")
            await expectFailure(failure) {
                try await custody.encrypt(key, algorithm: algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
            }
        }
        await expectFailure(CryptoFailure.invalidInput("A256KW wraps keys of at least 16 bytes in multiples of 8, got 12")) {
            try await custody.wrapKey(key, algorithm: "A256KW", keyToWrap: SecureRandom.bytes(12))
        }
        await expectFailure(CryptoFailure.invalidInput("A256GCM needs an authentication tag to decrypt")) {
            try await custody.decrypt(
                key, algorithm: "A256GCM", ciphertext: [1], iv: SecureRandom.bytes(12), additionalData: nil, authenticationTag: nil)
        }
    }

    /// An exportable key is released wrapped by the module: the runtime unwraps the key's bytes.
    @Test func exportableKeysAreReleasedAsTheirBytes() async throws {
        let custody = try await custody()
        let material = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: SecureRandom.bytes(32)))
        let key = try await custody.importKey(material, policy: KeyPolicy(exportable: true), label: "released")
        let runtime = try KeyMaterial.generate(.rsa, size: 2048)
        let blob = try await custody.release(key, to: runtime.publicKey!, encryption: .rsaAESKeyWrap)
        let transferKey = try runtime.unwrapKey("RSA-OAEP", wrappedKey: Array(blob.prefix(256)))
        let released = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: transferKey))
            .unwrapKey("CKM_AES_KEY_WRAP_PAD", wrappedKey: Array(blob.dropFirst(256)))
        #expect(released == material.privateJWK().k)
    }

    /// With a trusted backup key, a secret key's backup restores as new objects that encrypt and MAC as before.
    @Test func backupsRestoreBothObjects() async throws {
        let custody = try await custody("secrets-backed")
        let key = try await custody.generate(KeySpec(type: .octHSM, size: 256), policy: KeyPolicy(), label: "backed")
        let sealed = try await custody.encrypt(key, algorithm: "A256GCM", plaintext: [9, 9], iv: nil, additionalData: nil)
        let mac = try await custody.sign(key, algorithm: "HS256", digest: [1])
        let backup = try await custody.backup(key)
        try await custody.destroy(key)
        let restored = try await custody.restore(backup, label: "restored")
        #expect(restored.keyType == .octHSM && restored.sizeInBits == 256)
        let opened = try await custody.decrypt(
            restored, algorithm: "A256GCM", ciphertext: sealed.ciphertext, iv: sealed.iv, additionalData: nil,
            authenticationTag: sealed.authenticationTag)
        #expect(opened == [9, 9])
        #expect(try await custody.sign(restored, algorithm: "HS256", digest: [1]) == mac)
        await expectFailure(CustodyFailure.backupKeyMissing(label: "coffre-backup")) { try await self.custody().restore(backup, label: "refused") }
        #expect(try await self.custody().objectCount(labelled: "refused") == 0)
    }
}
