import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Testing

@testable import CoffreKeyCustody

/// Which custody a key lives in, with and without a module.
@Suite(.softHSM([.init("routing", backupKey: .init(value: SecureRandom.bytes(32), trusted: true))]))
struct RoutingCustodyTests {
    @Test func withAModuleHSMKeysLiveInTheTokenAndOthersInSoftware() async throws {
        let custody = RoutingCustody(hardware: try await SoftHSM.requireCurrent().custody("routing"))
        for (type, inToken) in [(KeyType.rsaHSM, true), (.ecHSM, true), (.rsa, false), (.ec, false), (.octHSM, true), (.oct, false)] {
            let key = try await custody.generate(KeySpec(type: type), policy: KeyPolicy(), label: "routed")
            #expect(key.keyType == type)
            if case .token = key { #expect(inToken, "\(type)") } else { #expect(!inToken, "\(type)") }
            let reread = try CustodyKey(storedRepresentation: key.storedRepresentation)
            #expect(reread.publicJWK() == key.publicJWK())
        }
        let imported = try await custody.importKey(try KeyMaterial.generate(.ecHSM), policy: KeyPolicy(), label: "imported")
        guard case .token = imported else { throw SoftHSMError("an imported EC-HSM key is not in the token") }

        // Backups go back to the custody that made them.
        let token = try await custody.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "backed-up")
        let software = try await custody.generate(KeySpec(type: .ec), policy: KeyPolicy(), label: "backed-up")
        for key in [token, software] {
            let restored = try await custody.restore(try await custody.backup(key), label: "restored")
            #expect(restored.publicJWK() == key.publicJWK())
            try await custody.expectSignatureVerifies(restored, algorithm: "ES256")
        }
    }

    /// Without a module, `-HSM` keys are software keys (development behaviour); a token key or a hardware backup that
    /// reaches such a Coffre is refused, not misread.
    @Test func withoutAModuleTokenKeysAreRefusedClearly() async throws {
        let software = RoutingCustody(hardware: nil)
        let key = try await software.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "dev")
        guard case .software(let material) = key else { throw SoftHSMError("not a software key") }
        #expect(material.keyType == .rsaHSM)
        try await software.expectSignatureVerifies(key, algorithm: "RS256")

        let hardware = try await SoftHSM.requireCurrent().custody("routing")
        let tokenKey = try await hardware.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "elsewhere")
        let stored = try CustodyKey(storedRepresentation: tokenKey.storedRepresentation)
        await expectFailure(CustodyFailure.noModule) { try await software.sign(stored, algorithm: "RS256", digest: Digest.sha256([1])) }
        let backup = try await hardware.backup(tokenKey)
        await expectFailure(CustodyFailure.noModule) { try await software.restore(backup, label: "x") }
        // Public operations need the public part only, but still go to the key's custody: refused alike.
        await expectFailure(CustodyFailure.noModule) {
            try await software.verify(stored, algorithm: "RS256", digest: Digest.sha256([1]), signature: [1])
        }
    }

    /// A released software key, unwrapped by the runtime, is the key.
    @Test(arguments: ReleaseEncryption.allCases)
    func softwareKeysAreReleasedWrapped(encryption: ReleaseEncryption) async throws {
        let custody = SoftwareCustody()
        let runtime = try KeyMaterial.generate(.rsa, size: 3072)
        for spec in [KeySpec(type: .ec), KeySpec(type: .oct)] {
            let key = try await custody.generate(spec, policy: KeyPolicy(exportable: true), label: "")
            let blob = try await custody.release(key, to: runtime.publicKey!, encryption: encryption)
            let transferKey = try runtime.unwrapKey(encryption.oaepAlgorithm, wrappedKey: Array(blob.prefix(384)))
            let secret = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: transferKey))
                .unwrapKey("CKM_AES_KEY_WRAP_PAD", wrappedKey: Array(blob.dropFirst(384)))
            guard case .software(let material) = key else { throw SoftHSMError("not a software key") }
            #expect(secret == (spec.type == .oct ? material.privateJWK().k : try material.pkcs8DER))
        }
    }

    /// Software keys keep the stored form they had before custodies existed ("CK…"): records already written read back.
    @Test func softwareKeysKeepTheirStoredForm() async throws {
        let material = try KeyMaterial.generate(.ec)
        let key = try await SoftwareCustody().importKey(material, policy: KeyPolicy(), label: "")
        #expect(key.storedRepresentation == material.storedRepresentation)
        guard case .software(let reread) = try CustodyKey(storedRepresentation: material.storedRepresentation) else {
            throw SoftHSMError("a stored software key did not read back as one")
        }
        #expect(reread.publicJWK() == material.publicJWK())
        #expect(throws: CryptoFailure.self) { try CustodyKey(storedRepresentation: Array("CT\u{1}{}".utf8)) }
    }

    /// The raw RSA result of an RSA-OAEP-256 ciphertext decodes to the message; any change to it does not.
    @Test func oaepDecodingRejectsEveryAlteredEncoding() async throws {
        let custody = try await SoftHSM.requireCurrent().custody("routing")
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "oaep")
        guard case .token(let tokenKey) = key else { throw SoftHSMError("not a token key") }
        let message = Array("the message".utf8)
        let ciphertext = try key.publicKey!.encrypt("RSA-OAEP-256", plaintext: message)
        let encoded = try await custody.withSession { session in
            let object = try session.find([(CKA_CLASS, .ulong(CKO_PRIVATE_KEY)), (CKA_ID, .bytes(tokenKey.objectID))])[0]
            return try session.decrypt(.plain(CKM_RSA_X_509), key: object, ciphertext: ciphertext, capacity: 256)
        }
        #expect(encoded.count == 256)
        #expect(OAEPDecoding.decodeSHA256(encoded) == message)
        for position in [0, 1, 20, 40, 100, 255] {
            var altered = encoded
            altered[position] ^= 0x80
            #expect(OAEPDecoding.decodeSHA256(altered) == nil, "byte \(position)")
        }
        #expect(OAEPDecoding.decodeSHA256([UInt8](repeating: 0, count: 256)) == nil)
        #expect(OAEPDecoding.decodeSHA256(Array(encoded.prefix(65))) == nil)
    }
}
