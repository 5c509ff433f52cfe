import CoffreCrypto
import Foundation
import Testing

@Suite struct JWKImportTests {
    private func expectInvalidKey(_ jwk: JsonWebKey, _ message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try KeyMaterial(importing: jwk)
            Issue.record("imported an invalid key", sourceLocation: sourceLocation)
        } catch let CryptoFailure.invalidKey(text) {
            if let message { #expect(text == message, sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func kty() {
        expectInvalidKey(JsonWebKey(), "JSON Web Key: kty is missing")
        var jwk = SharedKeys.rsa2048.privateJWK()
        jwk.kty = "OKP"
        expectInvalidKey(jwk, "JSON Web Key: the key type is not supported")
        jwk.kty = "rsa"
        expectInvalidKey(jwk, "JSON Web Key: the key type is not supported")
        var byok = JsonWebKey(kty: .rsaHSM, n: [1], e: [1], t: [1, 2, 3])
        #expect(throws: CryptoFailure.unsupported("JSON Web Key: importing a protected key (key_hsm, BYOK) is not supported")) {
            try KeyMaterial(importing: byok)
        }
        byok.t = nil
        expectInvalidKey(byok)
    }

    @Test func rsaNeedsEveryPrivatePart() throws {
        let full = SharedKeys.rsa2048.privateJWK()
        var jwk = full
        jwk.d = nil
        expectInvalidKey(jwk, "JSON Web Key: an RSA key to import needs its private exponent d")
        jwk = full
        jwk.q = nil
        expectInvalidKey(jwk, "JSON Web Key: an RSA key to import needs its primes p and q")
        jwk = full
        jwk.n = nil
        expectInvalidKey(jwk, "JSON Web Key: an RSA key needs n and e")
        // dp, dq and qi are optional: they are computed.
        jwk = full
        jwk.dp = nil
        jwk.dq = nil
        jwk.qi = nil
        #expect(try KeyMaterial(importing: jwk).privateJWK() == full)
    }

    @Test func rsaPartsMustAgree() throws {
        let full = SharedKeys.rsa2048.privateJWK()
        let other = try KeyMaterial.generate(.rsa).privateJWK()
        var jwk = full
        jwk.d = other.d
        expectInvalidKey(jwk)
        jwk = full
        jwk.e = [0x01, 0x00, 0x03]
        expectInvalidKey(jwk)
        jwk = full
        jwk.n = other.n
        expectInvalidKey(jwk)
        jwk = full
        jwk.p = other.p
        expectInvalidKey(jwk)
        jwk = full
        jwk.qi = other.qi
        expectInvalidKey(jwk, "JSON Web Key: dp, dq or qi does not match the RSA private key")
        jwk = full
        jwk.dp = full.dq
        expectInvalidKey(jwk, "JSON Web Key: dp, dq or qi does not match the RSA private key")
        jwk = full
        (jwk.p, jwk.q) = (full.q, full.p)
        expectInvalidKey(jwk, "JSON Web Key: dp, dq or qi does not match the RSA private key")
        jwk = full
        jwk.e = [1]
        expectInvalidKey(jwk, "JSON Web Key: the RSA public exponent must be odd, at least 3 and at most 32 bits")
        jwk = full
        jwk.e = [0x01, 0x00, 0x00, 0x00, 0x01]
        expectInvalidKey(jwk, "JSON Web Key: the RSA public exponent must be odd, at least 3 and at most 32 bits")
        jwk = full
        jwk.n = Array((jwk.n ?? []).prefix(128))
        expectInvalidKey(jwk, "JSON Web Key: RSA keys must have 2048 to 4096 bits")
    }

    @Test func rsaAcceptsLeadingZeros() throws {
        var jwk = SharedKeys.rsa2048.privateJWK()
        jwk.n = [0] + (jwk.n ?? [])
        jwk.e = [0, 0] + (jwk.e ?? [])
        jwk.qi = [0] + (jwk.qi ?? [])
        let key = try KeyMaterial(importing: jwk)
        #expect(key.publicJWK() == SharedKeys.rsa2048.publicJWK())
    }

    @Test(arguments: CurveName.allCases)
    func ecDMustMatchXY(_ curve: CurveName) throws {
        let full = try #require(SharedKeys.ec[curve]).privateJWK()
        let other = try KeyMaterial.generate(.ec, curve: curve).privateJWK()
        var jwk = full
        jwk.d = other.d
        expectInvalidKey(jwk, "JSON Web Key: d does not match x and y")
        jwk = full
        jwk.x = other.x
        expectInvalidKey(jwk)
        jwk = full
        jwk.y = other.y
        expectInvalidKey(jwk)
        jwk = full
        jwk.d = [UInt8](repeating: 0, count: curve.coordinateByteCount)
        expectInvalidKey(jwk)
        jwk = full
        jwk.d = [UInt8](repeating: 0xFF, count: curve.coordinateByteCount)
        expectInvalidKey(jwk)
        jwk = full
        jwk.x = [1] + (full.x ?? [])
        expectInvalidKey(jwk, "JSON Web Key: x and y must be at most \(curve.coordinateByteCount) bytes for \(curve.rawValue)")
        jwk = full
        jwk.d = nil
        expectInvalidKey(jwk, "JSON Web Key: an EC key to import needs its private key d")
        // Leading zero bytes are tolerated on import; export is always full width.
        jwk = full
        jwk.x = [0, 0] + (full.x ?? [])
        jwk.d = [0] + (full.d ?? [])
        #expect(try KeyMaterial(importing: jwk).privateJWK() == full)
    }

    @Test func ecCurveMustBeKnownAndMatch() throws {
        var jwk = try #require(SharedKeys.ec[.p256]).privateJWK()
        jwk.crv = nil
        expectInvalidKey(jwk, "JSON Web Key: an EC key needs crv")
        jwk.crv = "P-192"
        expectInvalidKey(jwk, "JSON Web Key: the curve is not supported")
        jwk.crv = CurveName.p256k.rawValue
        expectInvalidKey(jwk)
        jwk = try #require(SharedKeys.ec[.p384]).privateJWK()
        jwk.crv = CurveName.p256.rawValue
        expectInvalidKey(jwk)
    }

    @Test func octKeySizes() throws {
        expectInvalidKey(JsonWebKey(kty: .oct), "JSON Web Key: an oct key needs k")
        expectInvalidKey(JsonWebKey(kty: .oct, k: []), "JSON Web Key: an oct key needs k")
        expectInvalidKey(
            JsonWebKey(kty: .octHSM, k: [UInt8](repeating: 1, count: 65)),
            "JSON Web Key: k property of oct key is too large, maximum size is 64")
        for count in [1, 15, 17, 20, 31, 33, 48, 64] {
            expectInvalidKey(JsonWebKey(kty: .oct, k: [UInt8](repeating: 1, count: count)), "JSON Web Key: k of an oct key must be 16, 24 or 32 bytes")
        }
        for count in [16, 24, 32] {
            let key = try KeyMaterial(importing: JsonWebKey(kty: .octHSM, k: [UInt8](repeating: 2, count: count)))
            #expect(key.sizeInBits == count * 8 && key.keyType == .octHSM)
        }
    }
}

@Suite struct JsonWebKeyCodingTests {
    @Test func wireNames() throws {
        let jwk = JsonWebKey(kid: "https://v/keys/k/1", kty: .rsaHSM, keyOps: ["sign"], n: [0xFF, 0xEE], e: [1, 0, 1], t: [7])
        let json = String(decoding: try JSONEncoder().encode(jwk), as: UTF8.self)
        #expect(json.contains(#""key_ops":["sign"]"#) && json.contains(#""key_hsm":"Bw""#))
        #expect(json.contains(#""n":"_-4""#) && json.contains(#""e":"AQAB""#) && json.contains(#""kty":"RSA-HSM""#))
        #expect(!json.contains("null"))
        #expect(try JSONDecoder().decode(JsonWebKey.self, from: Data(json.utf8)) == jwk)
    }

    @Test func decodingAcceptsPaddingAndTheStandardAlphabet() throws {
        let json = #"{"kty":"EC","crv":"P-256","x":"+/8=","y":"_-8","alg":"ES256","use":"sig"}"#
        let jwk = try JSONDecoder().decode(JsonWebKey.self, from: Data(json.utf8))
        #expect(jwk.x == [0xFB, 0xFF] && jwk.y == [0xFF, 0xEF] && jwk.curve == .p256 && jwk.keyType == .ec)
    }

    @Test(arguments: [#"{"kty":"RSA","n":"a$b"}"#, #"{"kty":"RSA","n":"a"}"#, #"{"kty":"RSA","e":7}"#, #"{"kty":5}"#, #"[]"#])
    func decodingRefusesGarbage(_ json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JsonWebKey.self, from: Data(json.utf8)) }
    }

    @Test func unknownTypesSurviveDecodingAndFailImport() throws {
        let jwk = try JSONDecoder().decode(JsonWebKey.self, from: Data(#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#.utf8))
        #expect(jwk.kty == "OKP" && jwk.keyType == nil && jwk.curve == nil)
        #expect(throws: CryptoFailure.invalidKey("JSON Web Key: the key type is not supported")) { try KeyMaterial(importing: jwk) }
    }
}

/// Malformed input of every kind must end in an error, never in a crash.
@Suite struct MalformedInputTests {
    private static let privateJWKs: [JsonWebKey] = {
        var keys = [SharedKeys.rsa2048.privateJWK()]
        keys += CurveName.allCases.compactMap { SharedKeys.ec[$0]?.privateJWK() }
        keys += [SharedKeys.oct[256]?.privateJWK()].compactMap { $0 }
        return keys
    }()

    private static let members: [any WritableKeyPath<JsonWebKey, [UInt8]?> & Sendable] = [\.n, \.e, \.d, \.p, \.q, \.dp, \.dq, \.qi, \.k, \.x, \.y]

    @Test func truncatedAndExtendedMembers() {
        for jwk in Self.privateJWKs {
            for member in Self.members {
                guard let value = jwk[keyPath: member] else { continue }
                for variant in [[], Array(value.prefix(1)), Array(value.dropLast()), Array(value.dropFirst()), value + [0], value + value] {
                    var broken = jwk
                    broken[keyPath: member] = variant
                    _ = try? KeyMaterial(importing: broken)
                    _ = try? PublicKeyMaterial(jwk: broken)
                }
            }
        }
    }

    @Test func randomMembers() {
        var generator = SystemRandomNumberGenerator()
        for jwk in Self.privateJWKs {
            for member in Self.members where jwk[keyPath: member] != nil {
                for _ in 0..<8 {
                    var broken = jwk
                    let count = Int.random(in: 0...600, using: &generator)
                    broken[keyPath: member] = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    // A random k of 16, 24 or 32 bytes is a valid oct key; anything else here must be refused.
                    if jwk.kty == "oct" { _ = try? KeyMaterial(importing: broken) } else {
                        #expect(throws: CryptoFailure.self) { try KeyMaterial(importing: broken) }
                    }
                    _ = try? PublicKeyMaterial(jwk: broken)
                }
            }
        }
    }

    @Test func damagedPKCS8() throws {
        let ders = [try SharedKeys.rsa2048.pkcs8DER, try #require(SharedKeys.ec[.p256]).pkcs8DER, try #require(SharedKeys.ec[.p256k]).pkcs8DER]
        var generator = SystemRandomNumberGenerator()
        for der in ders {
            for length in stride(from: 0, to: der.count, by: max(1, der.count / 40)) {
                #expect(throws: CryptoFailure.self) { try KeyMaterial(pkcs8DER: Array(der.prefix(length))) }
            }
            #expect(throws: CryptoFailure.self) { try KeyMaterial(pkcs8DER: der + [0]) }
            for _ in 0..<40 {
                var flipped = der
                flipped[Int.random(in: 0..<der.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                _ = try? KeyMaterial(pkcs8DER: flipped)
            }
        }
        #expect(throws: CryptoFailure.self) { try KeyMaterial(pkcs8DER: [0x30, 0x03, 0x02, 0x01, 0x00]) }
    }

    @Test func garbageOperands() throws {
        let keys = [SharedKeys.rsa2048] + CurveName.allCases.compactMap { SharedKeys.ec[$0] } + [128, 256].compactMap { SharedKeys.oct[$0] }
        let algorithms = ["RS256", "PS512", "RSNULL", "ES256", "ES256K", "ES384", "ES512", "HS256", "RSA1_5", "RSA-OAEP",
                          "RSA-OAEP-256", "A128GCM", "A256GCM", "A128CBC", "A256CBCPAD", "A128KW", "CKM_AES_KEY_WRAP",
                          "CKM_AES_KEY_WRAP_PAD", "", "none"]
        let blobs: [[UInt8]] = [[], [0], [UInt8](repeating: 0xFF, count: 15), [UInt8](repeating: 0, count: 256), [UInt8](repeating: 1, count: 1000)]
        for key in keys {
            for algorithm in algorithms {
                for blob in blobs {
                    _ = try? key.sign(algorithm, digest: blob)
                    _ = try? key.verify(algorithm, digest: blob, signature: blob)
                    _ = try? key.encrypt(algorithm, plaintext: blob, iv: blob, additionalData: blob)
                    _ = try? key.decrypt(algorithm, ciphertext: blob, iv: blob, additionalData: blob, authenticationTag: blob)
                    _ = try? key.wrapKey(algorithm, key: blob)
                    _ = try? key.unwrapKey(algorithm, wrappedKey: blob)
                }
            }
        }
    }
}
