import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Testing

@testable import CoffreKeyCustody

/// Keys generated in a SoftHSM2 token, used through the module, checked with CoffreCrypto's software public-key
/// operations (what a client holding the public JWK does).
@Suite(.softHSM([.init("operations")]))
struct TokenOperationTests {
    private func custody() async throws -> PKCS11Custody {
        try await SoftHSM.requireCurrent().custody("operations")
    }

    @Test(arguments: [2048, 3072, 4096])
    func rsaKeysSignEveryAlgorithm(bits: Int) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM, size: bits), policy: KeyPolicy(), label: "rsa-\(bits)")
        #expect(key.keyType == .rsaHSM)
        #expect(key.sizeInBits == bits)
        #expect(key.publicJWK().e == [0x01, 0x00, 0x01])
        for algorithm in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
            try await custody.expectSignatureVerifies(key, algorithm: algorithm)
        }
    }

    @Test func rsnullSignsTheBytesGiven() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "rsnull")
        let data = Array("raw bytes, no DigestInfo".utf8)
        let signature = try await custody.sign(key, algorithm: "RSNULL", digest: data)
        #expect(try key.publicKey!.verify("RSNULL", digest: data, signature: signature))
    }

    @Test func aChosenPublicExponentIsKept() async throws {
        let key = try await custody().generate(KeySpec(type: .rsaHSM, publicExponent: 3), policy: KeyPolicy(), label: "e3")
        #expect(key.publicJWK().e == [0x03])
    }

    @Test(arguments: [CurveName.p256, .p384, .p521])
    func ecKeysSignTheirCurvesAlgorithm(curve: CurveName) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .ecHSM, curve: curve), policy: KeyPolicy(), label: "ec-\(curve.rawValue)")
        #expect(key.curve == curve)
        #expect(key.publicJWK().x?.count == curve.coordinateByteCount)
        try await custody.expectSignatureVerifies(key, algorithm: curve.signatureAlgorithm)
        await expectFailure(CryptoFailure.unsupported("RS256 cannot be used with an EC-HSM key")) {
            try await custody.sign(key, algorithm: "RS256", digest: Digest.sha256([1]))
        }
    }

    /// SoftHSM computes EC with OpenSSL, which knows secp256k1: P-256K keys live in the token like the NIST curves.
    @Test func secp256k1KeysSignES256K() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .ecHSM, curve: .p256k), policy: KeyPolicy(), label: "ec-p256k")
        try await custody.expectSignatureVerifies(key, algorithm: "ES256K")
    }

    @Test func aKeySizeSelectsTheCurve() async throws {
        let key = try await custody().generate(KeySpec(type: .ecHSM, size: 384), policy: KeyPolicy(), label: "ec-384")
        #expect(key.curve == .p384)
    }

    @Test func wrongDigestLengthsAndUnknownSizesAreRefusedBeforeTheModule() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "checks")
        await expectFailure(CryptoFailure.invalidInput("RS256 needs a 32-byte digest, got 20")) {
            try await custody.sign(key, algorithm: "RS256", digest: Digest.sha1([1]))
        }
        await expectFailure(CryptoFailure.unsupported("RSA keys can be 2048, 3072 or 4096 bits, not 1024")) {
            try await custody.generate(KeySpec(type: .rsaHSM, size: 1024), policy: KeyPolicy(), label: "small")
        }
    }

    /// RSA1_5 and RSA-OAEP run in the module; RSA-OAEP-256, which SoftHSM refuses, is a raw RSA decryption in the module
    /// and the OAEP decoding outside. Ciphertexts are made in software from the public JWK.
    @Test(arguments: ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
    func rsaKeysDecryptAndUnwrap(algorithm: String) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM, size: 3072), policy: KeyPolicy(), label: "decrypt-\(algorithm)")
        let publicKey = try PublicKeyMaterial(jwk: key.publicJWK())
        let plaintext = SecureRandom.bytes(32)
        let ciphertext = try publicKey.encrypt(algorithm, plaintext: plaintext)
        #expect(
            try await custody.decrypt(key, algorithm: algorithm, ciphertext: ciphertext, iv: nil, additionalData: nil, authenticationTag: nil)
                == plaintext)
        #expect(try await custody.unwrapKey(key, algorithm: algorithm, wrappedKey: ciphertext) == plaintext)
        // Encrypting and wrapping are public-key operations: they need no module, and the module decrypts them.
        let wrapped = try await custody.wrapKey(key, algorithm: algorithm, keyToWrap: plaintext)
        #expect(try await custody.unwrapKey(key, algorithm: algorithm, wrappedKey: wrapped) == plaintext)
    }

    @Test(arguments: ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
    func alteredCiphertextsFailAlike(algorithm: String) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "altered-\(algorithm)")
        var ciphertext = try key.publicKey!.encrypt(algorithm, plaintext: SecureRandom.bytes(16))
        ciphertext[ciphertext.count / 2] ^= 0x40
        await expectFailure(CryptoFailure.authenticationFailed) {
            try await custody.unwrapKey(key, algorithm: algorithm, wrappedKey: ciphertext)
        }
        await expectFailure(CryptoFailure.invalidInput("\(algorithm) needs a 256-byte ciphertext with this key, got 255")) {
            try await custody.unwrapKey(key, algorithm: algorithm, wrappedKey: Array(ciphertext.dropFirst()))
        }
    }

    /// The token holds the private key as a sensitive object labelled as asked; what Coffre keeps (the stored
    /// representation) names the object and carries only the public part.
    @Test func theTokenHoldsASensitiveNonExtractablePrivateKey() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "coffre:vault/name/version")
        guard case .token(let tokenKey) = key else { throw SoftHSMError("not a token key") }
        #expect(tokenKey.objectID.count == 16)
        let attributes = try await custody.inspect(tokenKey)
        #expect(attributes.label == "coffre:vault/name/version")
        #expect(attributes.sensitive && !attributes.extractable && attributes.private && attributes.token)
        #expect(attributes.valueHidden)

        let stored = key.storedRepresentation
        #expect(stored.starts(with: Array("CT".utf8)))
        let text = String(decoding: stored, as: UTF8.self)
        #expect(!text.contains("\"d\"") && !text.contains("\"p\""))
        let reread = try CustodyKey(storedRepresentation: stored)
        try await custody.expectSignatureVerifies(reread, algorithm: "PS256")
    }

    @Test func exportableKeysAreExtractable() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(exportable: true), label: "exportable")
        guard case .token(let tokenKey) = key else { throw SoftHSMError("not a token key") }
        let attributes = try await custody.inspect(tokenKey)
        #expect(attributes.sensitive && attributes.extractable && attributes.valueHidden)
    }

    /// A JWK import with `Hsm: true` creates the token object from the client's key.
    @Test func importedKeysBecomeTokenObjects() async throws {
        let custody = try await custody()
        for material in [try KeyMaterial.generate(.rsa), try KeyMaterial.generate(.ec, curve: .p384)] {
            let key = try await custody.importKey(
                try material.withKeyType(material.keyType == .rsa ? .rsaHSM : .ecHSM), policy: KeyPolicy(), label: "imported")
            #expect(key.publicJWK().n == material.publicJWK().n && key.publicJWK().x == material.publicJWK().x)
            try await custody.expectSignatureVerifies(key, algorithm: material.keyType == .rsa ? "RS256" : "ES384")
        }
    }

    /// Release wraps the key inside the module to the runtime's RSA key; the runtime unwraps it (here in software) and
    /// gets the same key.
    @Test(arguments: ReleaseEncryption.allCases)
    func exportableKeysAreReleasedWrapped(encryption: ReleaseEncryption) async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(exportable: true), label: "release")
        let runtime = try KeyMaterial.generate(.rsa)
        let blob = try await custody.release(key, to: runtime.publicKey!, encryption: encryption)
        let transferKey = try runtime.unwrapKey(encryption.oaepAlgorithm, wrappedKey: Array(blob.prefix(256)))
        let pkcs8 = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: transferKey)).unwrapKey(
            "CKM_AES_KEY_WRAP_PAD", wrappedKey: Array(blob.dropFirst(256)))
        // SoftHSM 2.6.1 pads a private key's PKCS#8 with zero bytes to a multiple of 8 before wrapping it (RFC 5649
        // needs no such padding): what the runtime unwraps is the DER, then fewer than 8 zero bytes.
        let derLength = 4 + Int(pkcs8[2]) << 8 + Int(pkcs8[3])
        #expect(pkcs8.count - derLength < 8 && pkcs8.dropFirst(derLength).allSatisfy { $0 == 0 })
        #expect(try KeyMaterial(pkcs8DER: Array(pkcs8.prefix(derLength))).publicJWK().n == key.publicJWK().n)

        let kept = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "kept")
        await expectFailure(CustodyFailure.notExtractable) {
            try await custody.release(kept, to: runtime.publicKey!, encryption: encryption)
        }
    }

    @Test func destroyedKeysAreGoneAndDestroyingAgainIsFine() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "short-lived")
        try await custody.destroy(key)
        await expectFailure(CustodyFailure.keyNotFound(label: "short-lived")) {
            try await custody.sign(key, algorithm: "ES256", digest: Digest.sha256([1]))
        }
        try await custody.destroy(key)
    }

    /// Two installations share the token (a copy made by whole-server restore refers to the original's objects): neither
    /// destroys the other's objects, each destroys its own.
    @Test func onlyItsOwnInstallationDestroysAnObject() async throws {
        let token = try await custody()
        let original = token.owned(by: [1, 1, 1, 1, 1, 1, 1, 1])
        let copy = token.owned(by: [2, 2, 2, 2, 2, 2, 2, 2])
        let key = try await original.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "shared")
        try await copy.destroy(key)
        try await original.expectSignatureVerifies(key, algorithm: "ES256")
        try await original.destroy(key)
        await expectFailure(CustodyFailure.keyNotFound(label: "shared")) {
            try await original.sign(key, algorithm: "ES256", digest: Digest.sha256([1]))
        }
    }

    /// Another user of the token (a second custody, as another Coffre node or pkcs11-tool would be) destroys the object:
    /// this custody's cached handle fails, and the key is reported gone.
    @Test func anObjectDestroyedElsewhereIsReportedGone() async throws {
        let custody = try await custody()
        let key = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "destroyed-elsewhere")
        try await custody.expectSignatureVerifies(key, algorithm: "RS256")
        try await SoftHSM.requireCurrent().custody("operations").destroy(key)
        await expectFailure(CustodyFailure.keyNotFound(label: "destroyed-elsewhere")) {
            try await custody.sign(key, algorithm: "RS256", digest: Digest.sha256([1]))
        }
    }
}

/// What the token says of a private key object.
struct ObjectAttributes {
    var label: String
    var sensitive, extractable, `private`, token: Bool
    /// `CKA_PRIVATE_EXPONENT` or `CKA_VALUE` cannot be read.
    var valueHidden: Bool
}

extension PKCS11Custody {
    /// What the token says of the key's object in `role` (a key pair's private key unless told).
    func inspect(_ key: TokenKey, _ role: ObjectRole = .privateKey) async throws -> ObjectAttributes {
        try await withSession { session in
            guard let object = try session.find(role.template + [(CKA_ID, .bytes(key.objectID))]).first else {
                throw SoftHSMError("no object")
            }
            let secret = key.keyType.family == .rsa ? CKA_PRIVATE_EXPONENT : CKA_VALUE
            return ObjectAttributes(
                label: String(decoding: try session.attribute(CKA_LABEL, of: object) ?? [], as: UTF8.self),
                sensitive: try session.bool(CKA_SENSITIVE, of: object) == true,
                extractable: try session.bool(CKA_EXTRACTABLE, of: object) == true,
                private: try session.bool(CKA_PRIVATE, of: object) == true, token: try session.bool(CKA_TOKEN, of: object) == true,
                valueHidden: try session.attribute(secret, of: object) == nil)
        }
    }
}
