import CoffreCrypto
import Foundation
import Testing

@Suite struct GenerationTests {
    @Test(arguments: [2048, 3072, 4096])
    func rsaSizes(_ bits: Int) throws {
        let key = try KeyMaterial.generate(.rsa, size: bits)
        #expect(key.sizeInBits == bits)
        let jwk = key.publicJWK()
        #expect(jwk.n?.count == bits / 8)
        #expect(jwk.n?.first != 0)
        #expect(jwk.e == [0x01, 0x00, 0x01])
    }

    @Test func rsaPublicExponentThree() throws {
        let key = try KeyMaterial.generate(.rsaHSM, size: 2048, publicExponent: 3)
        #expect(key.keyType == .rsaHSM)
        #expect(key.publicJWK().e == [3])
        let digest = ClientDigest.of(Array("three".utf8), algorithm: "RS256")
        #expect(try key.verify("RS256", digest: digest, signature: key.sign("RS256", digest: digest)))
    }

    @Test(arguments: [1024, 2047, 8192])
    func rsaRefusesOtherSizes(_ bits: Int) {
        #expect(throws: CryptoFailure.self) { try KeyMaterial.generate(.rsa, size: bits) }
    }

    @Test(arguments: [1, 2, 4, 65536, Int(Int32.max) + 2])
    func rsaRefusesBadExponents(_ exponent: Int) {
        #expect(throws: CryptoFailure.self) { try KeyMaterial.generate(.rsa, publicExponent: exponent) }
    }

    @Test(arguments: CurveName.allCases)
    func ecCurves(_ curve: CurveName) throws {
        let key = try #require(SharedKeys.ec[curve])
        #expect(key.curve == curve)
        #expect(key.sizeInBits == nil)
        let jwk = key.publicJWK()
        #expect(jwk.crv == curve.rawValue)
        #expect(jwk.x?.count == curve.coordinateByteCount)
        #expect(jwk.y?.count == curve.coordinateByteCount)
    }

    /// Generated scalars are fresh and pass OpenSSL's full check (in range, d·G = Q) when the key is read back.
    @Test(arguments: [CurveName.p256, .p384, .p521, .p256k])
    func generatedECKeysAreValidAndFresh(_ curve: CurveName) throws {
        let keys = try (0..<4).map { _ in try KeyMaterial.generate(.ec, curve: curve) }
        #expect(Set(keys.map { $0.privateJWK().d ?? [] }).count == keys.count)
        for key in keys {
            let reread = try KeyMaterial(pkcs8DER: key.pkcs8DER)
            #expect(reread.publicJWK().x == key.publicJWK().x && reread.publicJWK().y == key.publicJWK().y)
            let digest = ClientDigest.of(Array("message".utf8), algorithm: curve.signatureAlgorithm)
            #expect(try reread.verify(curve.signatureAlgorithm, digest: digest, signature: key.sign(curve.signatureAlgorithm, digest: digest)))
        }
    }

    @Test func ecCurveFromSize() throws {
        #expect(try KeyMaterial.generate(.ec).curve == .p256)
        #expect(try KeyMaterial.generate(.ecHSM, size: 384).curve == .p384)
        #expect(try KeyMaterial.generate(.ec, size: 521).curve == .p521)
        #expect(throws: CryptoFailure.self) { try KeyMaterial.generate(.ec, size: 255) }
    }

    @Test(arguments: [128, 192, 256])
    func octSizes(_ bits: Int) throws {
        let key = try KeyMaterial.generate(.octHSM, size: bits)
        #expect(key.sizeInBits == bits)
        #expect(key.privateJWK().k?.count == bits / 8)
        #expect(throws: CryptoFailure.self) { try KeyMaterial.generate(.oct, size: bits + 8) }
    }
}

@Suite struct SignatureRoundTripTests {
    static let rsaAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]

    @Test(arguments: rsaAlgorithms)
    func rsa(_ algorithm: String) throws {
        let key = SharedKeys.rsa2048
        let digest = ClientDigest.of(Array("message".utf8), algorithm: algorithm)
        let signature = try key.sign(algorithm, digest: digest)
        #expect(signature.count == 256)
        #expect(try key.verify(algorithm, digest: digest, signature: signature))
        var tampered = signature
        tampered[17] ^= 1
        #expect(try !key.verify(algorithm, digest: digest, signature: tampered))
        var otherDigest = digest
        otherDigest[0] ^= 1
        #expect(try !key.verify(algorithm, digest: otherDigest, signature: signature))
        #expect(try !key.verify(algorithm, digest: digest, signature: Array(signature.dropLast())))
    }

    @Test func pkcs1SignaturesAreDeterministicAndPSSIsNot() throws {
        let key = SharedKeys.rsa2048
        let digest = ClientDigest.of([1, 2, 3], algorithm: "RS256")
        #expect(try key.sign("RS256", digest: digest) == key.sign("RS256", digest: digest))
        #expect(try key.sign("PS256", digest: digest) != key.sign("PS256", digest: digest))
    }

    @Test(arguments: [1, 20, 32, 36, 245])
    func rsaNull(_ length: Int) throws {
        let key = SharedKeys.rsa2048
        let data = [UInt8](repeating: 0xA5, count: length)
        let signature = try key.sign("RSNULL", digest: data)
        #expect(try key.verify("RSNULL", digest: data, signature: signature))
        // The same bytes signed as RS256 carry a DigestInfo, so they differ.
        if length == 32 { #expect(try signature != key.sign("RS256", digest: data)) }
    }

    @Test func rsaNullRefusesEmptyAndTooLongInput() {
        #expect(throws: CryptoFailure.invalidInput("RSNULL needs at least one byte to sign")) {
            try SharedKeys.rsa2048.sign("RSNULL", digest: [])
        }
        #expect(throws: CryptoFailure.invalidInput("RSNULL can sign at most 245 bytes with this key, got 246")) {
            try SharedKeys.rsa2048.sign("RSNULL", digest: [UInt8](repeating: 1, count: 246))
        }
    }

    @Test(arguments: CurveName.allCases)
    func ecdsa(_ curve: CurveName) throws {
        let key = try #require(SharedKeys.ec[curve])
        let algorithm = curve.signatureAlgorithm
        let digest = ClientDigest.of(Array("message".utf8), algorithm: algorithm)
        let signature = try key.sign(algorithm, digest: digest)
        #expect(signature.count == 2 * curve.coordinateByteCount)
        #expect(try key.verify(algorithm, digest: digest, signature: signature))
        var tampered = signature
        tampered[tampered.count - 1] ^= 1
        #expect(try !key.verify(algorithm, digest: digest, signature: tampered))
        #expect(try !key.verify(algorithm, digest: digest, signature: signature + [0]))
        #expect(try !key.verify(algorithm, digest: digest, signature: []))
    }

    @Test(arguments: ["HS256", "HS384", "HS512"])
    func hmac(_ algorithm: String) throws {
        let key = try #require(SharedKeys.oct[256])
        let data = Array("any length at all".utf8)
        let mac = try key.sign(algorithm, digest: data)
        #expect(mac.count == ["HS256": 32, "HS384": 48, "HS512": 64][algorithm])
        #expect(try key.verify(algorithm, digest: data, signature: mac))
        #expect(try !key.verify(algorithm, digest: data + [0], signature: mac))
        #expect(try !key.verify(algorithm, digest: data, signature: Array(mac.dropLast())))
    }

    @Test func digestLengthIsChecked() {
        let key = SharedKeys.rsa2048
        #expect(throws: CryptoFailure.invalidInput("RS256 needs a 32-byte digest, got 20")) {
            try key.sign("RS256", digest: [UInt8](repeating: 0, count: 20))
        }
        #expect(throws: CryptoFailure.invalidInput("PS512 needs a 64-byte digest, got 48")) {
            try key.verify("PS512", digest: [UInt8](repeating: 0, count: 48), signature: [])
        }
        #expect(throws: CryptoFailure.invalidInput("ES512 needs a 64-byte digest, got 66")) {
            try SharedKeys.ec[.p521]?.sign("ES512", digest: [UInt8](repeating: 0, count: 66))
        }
    }

    @Test func algorithmMustSuitTheKey() {
        #expect(throws: CryptoFailure.unsupported("ES384 cannot be used with a P-256 key")) {
            try SharedKeys.ec[.p256]?.sign("ES384", digest: [UInt8](repeating: 0, count: 48))
        }
        #expect(throws: CryptoFailure.unsupported("ES256 cannot be used with a P-256K key")) {
            try SharedKeys.ec[.p256k]?.sign("ES256", digest: [UInt8](repeating: 0, count: 32))
        }
        #expect(throws: CryptoFailure.unsupported("RS256 cannot be used with an EC key")) {
            try SharedKeys.ec[.p256]?.sign("RS256", digest: [UInt8](repeating: 0, count: 32))
        }
        #expect(throws: CryptoFailure.unsupported("ES256 cannot be used with an RSA key")) {
            try SharedKeys.rsa2048.verify("ES256", digest: [UInt8](repeating: 0, count: 32), signature: [])
        }
        #expect(throws: CryptoFailure.unsupported("HS256 cannot be used with an RSA key")) {
            try SharedKeys.rsa2048.sign("HS256", digest: [1])
        }
        #expect(throws: CryptoFailure.unsupported("'EdDSA' is not a supported algorithm")) {
            try SharedKeys.rsa2048.sign("EdDSA", digest: [1])
        }
        #expect(throws: CryptoFailure.unsupported("the algorithm is not supported")) {
            try SharedKeys.rsa2048.sign(String(repeating: "A", count: 100), digest: [1])
        }
    }
}

@Suite struct EncryptionRoundTripTests {
    @Test(arguments: ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
    func rsa(_ algorithm: String) throws {
        let key = SharedKeys.rsa2048
        let plaintext = Array("a data key".utf8)
        let result = try key.encrypt(algorithm, plaintext: plaintext, iv: nil, additionalData: nil)
        #expect(result.ciphertext.count == 256)
        #expect(result.iv == nil && result.authenticationTag == nil)
        #expect(try key.decrypt(algorithm, ciphertext: result.ciphertext, iv: nil, additionalData: nil, authenticationTag: nil) == plaintext)
        let wrapped = try key.wrapKey(algorithm, key: plaintext)
        #expect(try key.unwrapKey(algorithm, wrappedKey: wrapped) == plaintext)
        // Encryption is randomised: the same plaintext never gives the same ciphertext.
        #expect(try key.wrapKey(algorithm, key: plaintext) != wrapped)
    }

    @Test(arguments: [("RSA1_5", 245), ("RSA-OAEP", 214), ("RSA-OAEP-256", 190)])
    func rsaPlaintextLimit(_ algorithm: String, _ limit: Int) throws {
        let key = SharedKeys.rsa2048
        let longest = [UInt8](repeating: 7, count: limit)
        let ciphertext = try key.encrypt(algorithm, plaintext: longest, iv: nil, additionalData: nil).ciphertext
        #expect(try key.decrypt(algorithm, ciphertext: ciphertext, iv: nil, additionalData: nil, authenticationTag: nil) == longest)
        #expect(throws: CryptoFailure.invalidInput("\(algorithm) can encrypt at most \(limit) bytes with this key, got \(limit + 1)")) {
            try key.encrypt(algorithm, plaintext: longest + [0], iv: nil, additionalData: nil)
        }
    }

    /// Every way an RSA ciphertext can be wrong gives the same error, whatever the padding.
    @Test(arguments: ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
    func rsaDecryptFailuresAreIndistinguishable(_ algorithm: String) throws {
        let key = SharedKeys.rsa2048
        let ciphertext = try key.encrypt(algorithm, plaintext: [1, 2, 3], iv: nil, additionalData: nil).ciphertext
        var tampered = ciphertext
        tampered[100] ^= 0x40
        let other = algorithm == "RSA-OAEP" ? "RSA-OAEP-256" : "RSA-OAEP"
        for (name, bytes) in [(algorithm, tampered), (other, ciphertext), (algorithm, [UInt8](repeating: 0, count: 256))] {
            #expect(throws: CryptoFailure.authenticationFailed) {
                try key.decrypt(name, ciphertext: bytes, iv: nil, additionalData: nil, authenticationTag: nil)
            }
        }
        #expect(throws: CryptoFailure.invalidInput("\(algorithm) needs a 256-byte ciphertext with this key, got 255")) {
            try key.unwrapKey(algorithm, wrappedKey: Array(ciphertext.dropLast()))
        }
    }

    @Test(arguments: [128, 192, 256])
    func aesGCM(_ bits: Int) throws {
        let key = try #require(SharedKeys.oct[bits])
        let algorithm = "A\(bits)GCM"
        let plaintext = Array("secret payload".utf8)
        let aad = Array("header".utf8)
        let result = try key.encrypt(algorithm, plaintext: plaintext, iv: nil, additionalData: aad)
        let iv = try #require(result.iv)
        let tag = try #require(result.authenticationTag)
        #expect(iv.count == 12 && tag.count == 16 && result.ciphertext.count == plaintext.count)
        #expect(try key.decrypt(algorithm, ciphertext: result.ciphertext, iv: iv, additionalData: aad, authenticationTag: tag) == plaintext)
        #expect(try key.encrypt(algorithm, plaintext: plaintext, iv: nil, additionalData: aad).iv != iv)
        for (ciphertext, aadVariant, tagVariant) in [
            (result.ciphertext, Array("other".utf8), tag), (result.ciphertext, aad, Array(tag.reversed())),
            ([result.ciphertext[0] ^ 1] + result.ciphertext.dropFirst(), aad, tag), (result.ciphertext, [], tag),
        ] {
            #expect(throws: CryptoFailure.authenticationFailed) {
                try key.decrypt(algorithm, ciphertext: ciphertext, iv: iv, additionalData: aadVariant, authenticationTag: tagVariant)
            }
        }
    }

    @Test func aesGCMChecksItsParameters() throws {
        let key = try #require(SharedKeys.oct[128])
        #expect(throws: CryptoFailure.unsupported("A256GCM cannot be used with a 128-bit key")) {
            try key.encrypt("A256GCM", plaintext: [1], iv: nil, additionalData: nil)
        }
        #expect(throws: CryptoFailure.invalidInput("A128GCM needs a 12-byte IV, got 16")) {
            try key.encrypt("A128GCM", plaintext: [1], iv: [UInt8](repeating: 0, count: 16), additionalData: nil)
        }
        #expect(throws: CryptoFailure.invalidInput("A128GCM needs an IV to decrypt")) {
            try key.decrypt("A128GCM", ciphertext: [1], iv: nil, additionalData: nil, authenticationTag: [UInt8](repeating: 0, count: 16))
        }
        #expect(throws: CryptoFailure.invalidInput("A128GCM needs an authentication tag to decrypt")) {
            try key.decrypt("A128GCM", ciphertext: [1], iv: [UInt8](repeating: 0, count: 12), additionalData: nil, authenticationTag: nil)
        }
        #expect(throws: CryptoFailure.invalidInput("A128GCM needs a 16-byte authentication tag, got 12")) {
            try key.decrypt(
                "A128GCM", ciphertext: [1], iv: [UInt8](repeating: 0, count: 12), additionalData: nil,
                authenticationTag: [UInt8](repeating: 0, count: 12))
        }
    }

    @Test(arguments: [128, 192, 256])
    func aesCBC(_ bits: Int) throws {
        let key = try #require(SharedKeys.oct[bits])
        let blocks = [UInt8](repeating: 0x42, count: 48)
        let result = try key.encrypt("A\(bits)CBC", plaintext: blocks, iv: nil, additionalData: nil)
        let iv = try #require(result.iv)
        #expect(iv.count == 16 && result.ciphertext.count == 48 && result.authenticationTag == nil)
        #expect(try key.decrypt("A\(bits)CBC", ciphertext: result.ciphertext, iv: iv, additionalData: nil, authenticationTag: nil) == blocks)
        #expect(throws: CryptoFailure.invalidInput("A\(bits)CBC needs a plaintext whose length is a multiple of 16 bytes, got 47")) {
            try key.encrypt("A\(bits)CBC", plaintext: Array(blocks.dropLast()), iv: nil, additionalData: nil)
        }

        let text = Array("not a multiple of the block size".utf8) + [1]
        let fixedIV = [UInt8](repeating: 9, count: 16)
        let padded = try key.encrypt("A\(bits)CBCPAD", plaintext: text, iv: fixedIV, additionalData: nil)
        #expect(padded.iv == fixedIV && padded.ciphertext.count == 48)
        #expect(try key.decrypt("A\(bits)CBCPAD", ciphertext: padded.ciphertext, iv: fixedIV, additionalData: nil, authenticationTag: nil) == text)
        // Flipping the top bit of the last byte of the second-to-last block turns the padding byte into 0x8F.
        var badPadding = padded.ciphertext
        badPadding[31] ^= 0x80
        #expect(throws: CryptoFailure.authenticationFailed) {
            try key.decrypt("A\(bits)CBCPAD", ciphertext: badPadding, iv: fixedIV, additionalData: nil, authenticationTag: nil)
        }
        #expect(throws: CryptoFailure.invalidInput("A\(bits)CBCPAD does not authenticate additional data; only AES-GCM does")) {
            try key.encrypt("A\(bits)CBCPAD", plaintext: text, iv: nil, additionalData: [1])
        }
    }

    @Test(arguments: [128, 192, 256])
    func aesKeyWrap(_ bits: Int) throws {
        let key = try #require(SharedKeys.oct[bits])
        let dataKey = [UInt8](repeating: 0x5A, count: 32)
        for algorithm in ["A\(bits)KW", "CKM_AES_KEY_WRAP"] {
            let wrapped = try key.wrapKey(algorithm, key: dataKey)
            #expect(wrapped.count == 40)
            #expect(try key.unwrapKey(algorithm, wrappedKey: wrapped) == dataKey)
            var tampered = wrapped
            tampered[3] ^= 1
            #expect(throws: CryptoFailure.authenticationFailed) { try key.unwrapKey(algorithm, wrappedKey: tampered) }
            #expect(throws: CryptoFailure.self) { try key.wrapKey(algorithm, key: [1, 2, 3]) }
        }
        for length in [1, 7, 8, 9, 31, 32, 33, 100] {
            let data = [UInt8](repeating: UInt8(length), count: length)
            let wrapped = try key.wrapKey("CKM_AES_KEY_WRAP_PAD", key: data)
            #expect(wrapped.count == (length + 7) / 8 * 8 + 8)
            #expect(try key.unwrapKey("CKM_AES_KEY_WRAP_PAD", wrappedKey: wrapped) == data)
        }
        #expect(throws: CryptoFailure.invalidInput("CKM_AES_KEY_WRAP_PAD cannot wrap an empty key")) {
            try key.wrapKey("CKM_AES_KEY_WRAP_PAD", key: [])
        }
        let other = bits == 128 ? 256 : 128
        #expect(throws: CryptoFailure.unsupported("A\(other)KW cannot be used with a \(bits)-bit key")) {
            try key.wrapKey("A\(other)KW", key: dataKey)
        }
    }

    @Test func operationsMustSuitTheAlgorithm() throws {
        let oct = try #require(SharedKeys.oct[256])
        #expect(throws: CryptoFailure.unsupported("A256KW can only wrap and unwrap keys")) {
            try oct.encrypt("A256KW", plaintext: [UInt8](repeating: 0, count: 16), iv: nil, additionalData: nil)
        }
        #expect(throws: CryptoFailure.unsupported("A256GCM cannot wrap or unwrap keys")) {
            try oct.wrapKey("A256GCM", key: [UInt8](repeating: 0, count: 16))
        }
        #expect(throws: CryptoFailure.unsupported("RSA-OAEP cannot be used with an oct key")) {
            try oct.encrypt("RSA-OAEP", plaintext: [1], iv: nil, additionalData: nil)
        }
        #expect(throws: CryptoFailure.unsupported("RSA-OAEP cannot be used with an EC key")) {
            try SharedKeys.ec[.p256]?.wrapKey("RSA-OAEP", key: [1])
        }
        #expect(throws: CryptoFailure.unsupported("A256GCM cannot be used with an RSA key")) {
            try SharedKeys.rsa2048.encrypt("A256GCM", plaintext: [1], iv: nil, additionalData: nil)
        }
    }
}

@Suite struct ExportTests {
    static func everyKind() throws -> [KeyMaterial] {
        [SharedKeys.rsa2048, try KeyMaterial.generate(.rsaHSM, publicExponent: 3)]
            + CurveName.allCases.compactMap { SharedKeys.ec[$0] }
            + [try KeyMaterial.generate(.ecHSM, curve: .p256k)]
            + [128, 192, 256].compactMap { SharedKeys.oct[$0] } + [try KeyMaterial.generate(.octHSM)]
    }

    @Test func storedRepresentationRoundTripsExactly() throws {
        for key in try Self.everyKind() {
            let stored = key.storedRepresentation
            let restored = try KeyMaterial(storedRepresentation: stored)
            #expect(restored.storedRepresentation == stored)
            #expect(restored.keyType == key.keyType)
            #expect(restored.curve == key.curve && restored.sizeInBits == key.sizeInBits)
            #expect(restored.privateJWK() == key.privateJWK())
        }
    }

    @Test func storedRepresentationKeepsWorking() throws {
        let restored = try KeyMaterial(storedRepresentation: SharedKeys.rsa2048.storedRepresentation)
        let digest = ClientDigest.of([9], algorithm: "PS384")
        #expect(try SharedKeys.rsa2048.verify("PS384", digest: digest, signature: restored.sign("PS384", digest: digest)))
        let k1 = try #require(SharedKeys.ec[.p256k])
        let digest256 = ClientDigest.of([9], algorithm: "ES256K")
        let restoredK1 = try KeyMaterial(storedRepresentation: k1.storedRepresentation)
        #expect(try k1.verify("ES256K", digest: digest256, signature: restoredK1.sign("ES256K", digest: digest256)))
    }

    /// Empty, truncated, wrong version, unknown type, unknown curve, bad PKCS#8, wrong oct length.
    @Test(arguments: [
        [UInt8](), [0x43], [0x43, 0x4B, 1, 1, 0], [0x43, 0x4B, 2, 1, 0, 1], [0x43, 0x4B, 1, 9, 0, 1], [0x43, 0x4B, 1, 3, 7, 1],
        [0x43, 0x4B, 1, 1, 0, 0x30, 0x00], [0x43, 0x4B, 1, 5, 0, 1, 2, 3],
    ])
    func storedRepresentationRefusesGarbage(_ stored: [UInt8]) {
        #expect(throws: CryptoFailure.self) { try KeyMaterial(storedRepresentation: stored) }
    }

    @Test func privateJWKReimportsToTheSameKey() throws {
        for key in try Self.everyKind() {
            let jwk = key.privateJWK()
            let reimported = try KeyMaterial(importing: jwk)
            #expect(reimported.keyType == key.keyType)
            #expect(reimported.privateJWK() == jwk)
            #expect(reimported.publicJWK() == key.publicJWK())
        }
    }

    @Test func publicJWKHasNoPrivateMember() throws {
        for key in try Self.everyKind() {
            let jwk = key.publicJWK()
            #expect(!jwk.hasPrivateMaterial)
            #expect(jwk.kty == key.keyType.rawValue)
            let json = String(decoding: try JSONEncoder().encode(jwk), as: UTF8.self)
            for member in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\"", "\"key_hsm\""] {
                #expect(!json.contains(member))
            }
        }
        let oct = try #require(SharedKeys.oct[128])
        #expect(oct.publicJWK() == JsonWebKey(kty: .oct))
        #expect(oct.publicKey == nil)
    }

    @Test func pkcs8RoundTripsForRSAAndEC() throws {
        for key in try Self.everyKind() where key.keyType.family != .oct {
            let der = try key.pkcs8DER
            let reimported = try KeyMaterial(pkcs8DER: der)
            #expect(reimported.keyType.family == key.keyType.family)
            #expect(!reimported.keyType.isHSM)
            #expect(reimported.privateJWK().d == key.privateJWK().d)
            #expect(try reimported.subjectPublicKeyInfoDER == key.subjectPublicKeyInfoDER)
        }
        #expect(throws: CryptoFailure.self) { try SharedKeys.oct[128]?.pkcs8DER }
        #expect(throws: CryptoFailure.self) { try SharedKeys.oct[128]?.subjectPublicKeyInfoDER }
    }

    @Test func keyTypeCanChangeWithinItsFamily() throws {
        let hsm = try SharedKeys.rsa2048.withKeyType(.rsaHSM)
        #expect(hsm.keyType == .rsaHSM && hsm.publicJWK().kty == "RSA-HSM")
        #expect(throws: CryptoFailure.self) { try SharedKeys.rsa2048.withKeyType(.ec) }
    }

    @Test func descriptionsShowNoMaterial() throws {
        for key in try Self.everyKind() {
            let jwk = key.privateJWK()
            var dumped = ""
            dump(key, to: &dumped)
            dump(jwk, to: &dumped)
            let texts = [String(describing: key), String(reflecting: key), "\(jwk)", String(reflecting: jwk), dumped]
            for secret in [jwk.d, jwk.k, jwk.p].compactMap({ $0 }) {
                for text in texts {
                    #expect(!text.contains(Base64.urlEncoded(secret)))
                    #expect(!text.contains(secret.hex))
                    #expect(!text.contains(secret.map(String.init).joined(separator: ", ")))
                }
            }
        }
    }

    @Test func supportedAlgorithms() {
        let rsa = KeyMaterial.algorithms(for: .rsaHSM, curve: nil)
        #expect(rsa.operations == ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])
        #expect(rsa.signing.contains("RSNULL") && rsa.encryption == ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"])
        #expect(KeyMaterial.algorithms(for: .ec, curve: .p256k).signing == ["ES256K"])
        #expect(KeyMaterial.algorithms(for: .ec, curve: .p256k).operations == ["sign", "verify"])
        let oct = KeyMaterial.algorithms(for: .octHSM, curve: nil, size: 192)
        #expect(oct.encryption == ["A192GCM", "A192CBC", "A192CBCPAD"])
        #expect(oct.keyWrapping == ["A192KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"])
        #expect(SharedKeys.ec[.p521]?.supportedAlgorithms.signing == ["ES512"])
    }

    /// Every algorithm the table lists actually works with such a key.
    @Test func everyListedAlgorithmWorks() throws {
        for key in try Self.everyKind() {
            let supported = key.supportedAlgorithms
            for algorithm in supported.signing {
                let digest = ClientDigest.of([1, 2, 3], algorithm: algorithm)
                #expect(try key.verify(algorithm, digest: digest, signature: key.sign(algorithm, digest: digest)), "\(algorithm)")
            }
            for algorithm in supported.encryption {
                let result = try key.encrypt(algorithm, plaintext: [UInt8](repeating: 3, count: 32), iv: nil, additionalData: nil)
                let decrypted = try key.decrypt(
                    algorithm, ciphertext: result.ciphertext, iv: result.iv, additionalData: nil, authenticationTag: result.authenticationTag)
                #expect(decrypted == [UInt8](repeating: 3, count: 32), "\(algorithm)")
            }
            for algorithm in supported.keyWrapping {
                let wrapped = try key.wrapKey(algorithm, key: [UInt8](repeating: 4, count: 32))
                #expect(try key.unwrapKey(algorithm, wrappedKey: wrapped) == [UInt8](repeating: 4, count: 32), "\(algorithm)")
            }
        }
    }
}

@Suite struct ConcurrencyTests {
    /// One KeyMaterial shared by many tasks: the parsed keys (BoringSSL and OpenSSL) are used concurrently.
    @Test func sharedKeysSignAndDecryptConcurrently() async throws {
        let rsa = SharedKeys.rsa2048
        let k1 = try #require(SharedKeys.ec[.p256k])
        let oct = try #require(SharedKeys.oct[256])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<10 {
                        let digest = ClientDigest.of([UInt8(task), UInt8(round)], algorithm: "PS256")
                        #expect(try rsa.verify("PS256", digest: digest, signature: rsa.sign("PS256", digest: digest)))
                        #expect(try k1.verify("ES256K", digest: digest, signature: k1.sign("ES256K", digest: digest)))
                        let wrapped = try rsa.wrapKey("RSA-OAEP-256", key: digest)
                        #expect(try rsa.unwrapKey("RSA-OAEP-256", wrappedKey: wrapped) == digest)
                        #expect(try oct.unwrapKey("CKM_AES_KEY_WRAP_PAD", wrappedKey: oct.wrapKey("CKM_AES_KEY_WRAP_PAD", key: digest)) == digest)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
