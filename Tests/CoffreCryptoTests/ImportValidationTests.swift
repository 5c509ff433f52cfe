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

    /// `jwk` with one change must be refused.
    private func expectInvalidKey(
        _ jwk: JsonWebKey, after change: (inout JsonWebKey) -> Void, _ message: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var changed = jwk
        change(&changed)
        expectInvalidKey(changed, message, sourceLocation: sourceLocation)
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
        expectInvalidKey(full, after: { $0.d = nil }, "JSON Web Key: an RSA key to import needs its private exponent d")
        expectInvalidKey(full, after: { $0.q = nil }, "JSON Web Key: an RSA key to import needs its primes p and q")
        expectInvalidKey(full, after: { $0.n = nil }, "JSON Web Key: an RSA key needs n and e")
        // dp, dq and qi are optional: they are computed.
        var jwk = full
        (jwk.dp, jwk.dq, jwk.qi) = (nil, nil, nil)
        #expect(try KeyMaterial(importing: jwk).privateJWK() == full)
    }

    @Test func rsaPartsMustAgree() throws {
        let full = SharedKeys.rsa2048.privateJWK()
        let other = try KeyMaterial.generate(.rsa).privateJWK()
        let mismatch = "JSON Web Key: dp, dq or qi does not match the RSA private key"
        let exponent = "JSON Web Key: the RSA public exponent must be odd, at least 3 and at most 32 bits"
        expectInvalidKey(full, after: { $0.d = other.d })
        expectInvalidKey(full, after: { $0.e = [0x01, 0x00, 0x03] })
        expectInvalidKey(full, after: { $0.n = other.n })
        expectInvalidKey(full, after: { $0.p = other.p })
        expectInvalidKey(full, after: { $0.qi = other.qi }, mismatch)
        expectInvalidKey(full, after: { $0.dp = full.dq }, mismatch)
        expectInvalidKey(full, after: { ($0.p, $0.q) = (full.q, full.p) }, mismatch)
        expectInvalidKey(full, after: { $0.e = [1] }, exponent)
        expectInvalidKey(full, after: { $0.e = [0x01, 0x00, 0x00, 0x00, 0x01] }, exponent)
        expectInvalidKey(full, after: { $0.n = Array(($0.n ?? []).prefix(128)) }, "JSON Web Key: RSA keys must have 2048 to 4096 bits")
        for tiny in [[], [0], [1], [0, 1], [2], [3]] as [[UInt8]] {
            expectInvalidKey(full, after: { $0.p = tiny })
            expectInvalidKey(full, after: { $0.q = tiny })
            expectInvalidKey(full, after: { $0.d = tiny })
            expectInvalidKey(full, after: { ($0.p, $0.q) = (tiny, tiny) })
        }
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
        let width = curve.coordinateByteCount
        expectInvalidKey(full, after: { $0.d = other.d }, "JSON Web Key: d does not match x and y")
        expectInvalidKey(full, after: { $0.x = other.x })
        expectInvalidKey(full, after: { $0.y = other.y })
        expectInvalidKey(full, after: { $0.d = [UInt8](repeating: 0, count: width) })
        expectInvalidKey(full, after: { $0.d = [UInt8](repeating: 0xFF, count: width) })
        expectInvalidKey(
            full, after: { $0.x = [1] + (full.x ?? []) }, "JSON Web Key: x and y must be at most \(width) bytes for \(curve.rawValue)")
        expectInvalidKey(full, after: { $0.d = nil }, "JSON Web Key: an EC key to import needs its private key d")
        // Leading zero bytes are tolerated on import; export is always full width.
        var padded = full
        padded.x = [0, 0] + (full.x ?? [])
        padded.d = [0] + (full.d ?? [])
        #expect(try KeyMaterial(importing: padded).privateJWK() == full)
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
            expectInvalidKey(
                JsonWebKey(kty: .oct, k: [UInt8](repeating: 1, count: count)), "JSON Web Key: k of an oct key must be 16, 24 or 32 bytes")
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
                    if jwk.kty == "oct" {
                        _ = try? KeyMaterial(importing: broken)
                    } else {
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
        let algorithms = [
            "RS256", "PS512", "RSNULL", "ES256", "ES256K", "ES384", "ES512", "HS256", "RSA1_5", "RSA-OAEP",
            "RSA-OAEP-256", "A128GCM", "A256GCM", "A128CBC", "A256CBCPAD", "A128KW", "CKM_AES_KEY_WRAP",
            "CKM_AES_KEY_WRAP_PAD", "", "none",
        ]
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
