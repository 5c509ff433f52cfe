import CoffreCrypto
import Foundation
import Testing

/// A vector file (`Vectors/`): Wycheproof's layout, reduced to the fields these tests read.
struct VectorFile: Decodable {
    var source: String
    var testGroups: [Group]

    struct Group: Decodable {
        var publicKey: HexPoint?
        var keyJwk: JsonWebKey?
        var privateKeyJwk: JsonWebKey?
        var tests: [Case]
    }

    struct HexPoint: Decodable {
        var wx: String
        var wy: String
    }

    struct Case: Decodable, CustomStringConvertible {
        enum Outcome: String, Decodable { case valid, invalid, acceptable }

        var tcId: Int
        var comment: String?
        var result: Outcome
        private var msg, sig, ct, key, iv, aad, tag, kek, wrapped: String?

        var message: [UInt8] { Array(hex: msg ?? "") }
        var signature: [UInt8] { Array(hex: sig ?? "") }
        var ciphertext: [UInt8] { Array(hex: ct ?? "") }
        var keyBytes: [UInt8] { Array(hex: kek ?? key ?? "") }
        var nonce: [UInt8] { Array(hex: iv ?? "") }
        var additionalData: [UInt8] { Array(hex: aad ?? "") }
        var authenticationTag: [UInt8] { Array(hex: tag ?? "") }
        var wrappedKey: [UInt8] { Array(hex: wrapped ?? "") }
        var keyToWrap: [UInt8] { Array(hex: key ?? "") }

        var description: String { "tcId \(tcId) (\(comment ?? ""))" }
    }

    static func load(_ directory: String, _ name: String) throws -> VectorFile {
        let file = try Vectors.load(VectorFile.self, directory, name)
        let outcomes = Set(file.testGroups.flatMap { $0.tests.map(\.result) })
        #expect(outcomes.contains(.valid), "\(name) has no valid case")
        return file
    }
}

extension VectorFile.Case {
    /// Checks a verification result against the expected outcome (`acceptable` allows either).
    func expectVerified(_ verified: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        switch result {
        case .valid: #expect(verified, "\(self) should verify", sourceLocation: sourceLocation)
        case .invalid: #expect(!verified, "\(self) should not verify", sourceLocation: sourceLocation)
        case .acceptable: break
        }
    }
}

@Suite struct WycheproofSignatureTests {
    @Test(arguments: [
        ("ecdsa_secp256r1_sha256_p1363_test", CurveName.p256), ("ecdsa_secp256k1_sha256_p1363_test", .p256k),
        ("ecdsa_secp521r1_sha512_p1363_test", .p521),
    ])
    func ecdsa(_ name: String, _ curve: CurveName) throws {
        let file = try VectorFile.load("wycheproof", name)
        let algorithm = curve.signatureAlgorithm
        for group in file.testGroups {
            let point = try #require(group.publicKey)
            let key = try PublicKeyMaterial(jwk: JsonWebKey(kty: .ec, crv: curve, x: Array(hex: point.wx), y: Array(hex: point.wy)))
            #expect(key.jwk.x?.count == curve.coordinateByteCount)
            for test in group.tests {
                let digest = ClientDigest.of(test.message, algorithm: algorithm)
                test.expectVerified(try key.verify(algorithm, digest: digest, signature: test.signature))
            }
        }
    }

    @Test(arguments: [("rsa_signature_2048_sha256_test", "RS256", "PS256"), ("rsa_pss_2048_sha256_mgf1_32_test", "PS256", "RS256")])
    func rsa(_ name: String, _ algorithm: String, _ otherPadding: String) throws {
        let file = try VectorFile.load("wycheproof", name)
        for group in file.testGroups {
            let key = try PublicKeyMaterial(jwk: try #require(group.keyJwk))
            for test in group.tests {
                let digest = ClientDigest.of(test.message, algorithm: algorithm)
                test.expectVerified(try key.verify(algorithm, digest: digest, signature: test.signature))
                guard test.result == .valid else { continue }
                var flipped = test.signature
                flipped[flipped.count / 2] ^= 0x10
                #expect(try !key.verify(algorithm, digest: digest, signature: flipped), "\(test) with a bit flipped")
                #expect(try !key.verify(otherPadding, digest: digest, signature: test.signature), "\(test) as \(otherPadding)")
            }
        }
    }
}

@Suite struct WycheproofEncryptionTests {
    @Test func rsaOAEP256() throws {
        let file = try VectorFile.load("wycheproof", "rsa_oaep_2048_sha256_mgf1sha256_test")
        for group in file.testGroups {
            let key = try KeyMaterial(importing: try #require(group.privateKeyJwk))
            #expect(key.sizeInBits == 2048)
            for test in group.tests {
                switch test.result {
                case .valid:
                    let decrypted = try key.decrypt(
                        "RSA-OAEP-256", ciphertext: test.ciphertext, iv: nil, additionalData: nil, authenticationTag: nil)
                    #expect(decrypted == test.message, "\(test)")
                    #expect(try key.unwrapKey("RSA-OAEP-256", wrappedKey: test.ciphertext) == test.message, "\(test)")
                case .invalid, .acceptable:
                    #expect(throws: CryptoFailure.authenticationFailed, "\(test)") {
                        try key.decrypt("RSA-OAEP-256", ciphertext: test.ciphertext, iv: nil, additionalData: nil, authenticationTag: nil)
                    }
                }
                // The same ciphertexts never decrypt under the SHA-1 variant.
                #expect(throws: CryptoFailure.authenticationFailed) { try key.unwrapKey("RSA-OAEP", wrappedKey: test.ciphertext) }
            }
        }
    }

    @Test(arguments: [("wycheproof", "aes_gcm_test"), ("known-answer", "gcm_spec_test")])
    func aesGCM(_ directory: String, _ name: String) throws {
        let file = try VectorFile.load(directory, name)
        for test in file.testGroups.flatMap(\.tests) {
            let key = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: test.keyBytes))
            let algorithm = "A\(test.keyBytes.count * 8)GCM"
            guard test.nonce.count == 12 else {
                #expect(throws: CryptoFailure.invalidInput("\(algorithm) needs a 12-byte IV, got \(test.nonce.count)"), "\(test)") {
                    try key.encrypt(algorithm, plaintext: test.message, iv: test.nonce, additionalData: test.additionalData)
                }
                continue
            }
            let decrypt = {
                try key.decrypt(
                    algorithm, ciphertext: test.ciphertext, iv: test.nonce, additionalData: test.additionalData,
                    authenticationTag: test.authenticationTag)
            }
            switch test.result {
            case .valid:
                let sealed = try key.encrypt(algorithm, plaintext: test.message, iv: test.nonce, additionalData: test.additionalData)
                #expect(sealed == EncryptionResult(ciphertext: test.ciphertext, iv: test.nonce, authenticationTag: test.authenticationTag), "\(test)")
                #expect(try decrypt() == test.message, "\(test)")
            case .invalid, .acceptable:
                #expect(throws: CryptoFailure.authenticationFailed, "\(test)") { try decrypt() }
            }
        }
    }

    @Test func aesCBCWithPadding() throws {
        let file = try VectorFile.load("wycheproof", "aes_cbc_pkcs5_test")
        for test in file.testGroups.flatMap(\.tests) {
            let key = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: test.keyBytes))
            let algorithm = "A\(test.keyBytes.count * 8)CBCPAD"
            let decrypt = { try key.decrypt(algorithm, ciphertext: test.ciphertext, iv: test.nonce, additionalData: nil, authenticationTag: nil) }
            switch test.result {
            case .valid:
                let encrypted = try key.encrypt(algorithm, plaintext: test.message, iv: test.nonce, additionalData: nil)
                #expect(encrypted == EncryptionResult(ciphertext: test.ciphertext, iv: test.nonce), "\(test)")
                #expect(try decrypt() == test.message, "\(test)")
            case .invalid, .acceptable:
                #expect(throws: CryptoFailure.self, "\(test)") { try decrypt() }
                if !test.ciphertext.isEmpty { #expect(throws: CryptoFailure.authenticationFailed, "\(test)") { try decrypt() } }
            }
        }
    }
}

@Suite struct KeyWrapVectorTests {
    /// `algorithms` wrap with the file's key; wrapping `msg` must give `ct` and unwrapping `ct` must give `msg`.
    private func run(_ file: VectorFile, algorithms: (Int) -> [String]) throws {
        for test in file.testGroups.flatMap(\.tests) {
            let key = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: test.keyBytes))
            let wrapped = test.wrappedKey.isEmpty ? test.ciphertext : test.wrappedKey
            let data = test.wrappedKey.isEmpty ? test.message : test.keyToWrap
            for algorithm in algorithms(test.keyBytes.count * 8) {
                switch test.result {
                case .valid:
                    #expect(try key.wrapKey(algorithm, key: data) == wrapped, "\(algorithm) \(test)")
                    #expect(try key.unwrapKey(algorithm, wrappedKey: wrapped) == data, "\(algorithm) \(test)")
                case .invalid:
                    #expect(throws: CryptoFailure.self, "\(algorithm) \(test)") { try key.unwrapKey(algorithm, wrappedKey: wrapped) }
                case .acceptable:
                    if let unwrapped = try? key.unwrapKey(algorithm, wrappedKey: wrapped) { #expect(unwrapped == data) }
                }
            }
        }
    }

    @Test func rfc3394() throws {
        try run(VectorFile.load("known-answer", "rfc3394_test")) { ["A\($0)KW", "CKM_AES_KEY_WRAP"] }
    }

    @Test func rfc5649() throws {
        try run(VectorFile.load("known-answer", "rfc5649_test")) { _ in ["CKM_AES_KEY_WRAP_PAD"] }
    }

    @Test func wycheproofKeyWrap() throws {
        let file = try VectorFile.load("wycheproof", "aes_wrap_test")
        try run(file) { ["A\($0)KW", "CKM_AES_KEY_WRAP"] }
        // Data that RFC 3394 cannot wrap is refused before any wrapping.
        for test in file.testGroups.flatMap(\.tests) where test.result == .invalid && !test.message.isEmpty && test.ciphertext.isEmpty {
            let key = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: test.keyBytes))
            #expect(throws: CryptoFailure.self, "\(test)") { try key.wrapKey("A128KW", key: test.message) }
        }
    }

    @Test func wycheproofKeyWrapWithPadding() throws {
        try run(VectorFile.load("wycheproof", "aes_kwp_test")) { _ in ["CKM_AES_KEY_WRAP_PAD"] }
    }
}
