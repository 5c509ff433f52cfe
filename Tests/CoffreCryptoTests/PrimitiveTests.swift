import Foundation
import Testing

@testable import CoffreCrypto

@Suite struct Base64Tests {
    // RFC 4648 §10 test vectors.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64.standardEncoded(Array(plain.utf8)) == encoded)
        #expect(Base64.urlEncoded(Array(plain.utf8)) == encoded.replacingOccurrences(of: "=", with: ""))
        #expect(Base64.decode(encoded) == Array(plain.utf8))
        #expect(Base64.decode(encoded.replacingOccurrences(of: "=", with: "")) == Array(plain.utf8))
    }

    @Test func urlAlphabet() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Base64.urlEncoded(bytes) == "-_-_")
        #expect(Base64.standardEncoded(bytes) == "+/+/")
        #expect(Base64.decode("-_-_") == bytes)
        #expect(Base64.decode("+/+/") == bytes)
    }

    @Test func acceptsEveryKindOfCollection() {
        let bytes: [UInt8] = Array("foobar".utf8)
        #expect(Base64.urlEncoded(bytes[1...]) == "b29iYXI")
        #expect(Base64.urlEncoded(bytes.lazy.map { $0 }) == "Zm9vYmFy")
        #expect(Base64.standardEncoded(Data(bytes)) == "Zm9vYmFy")
        #expect(Base64.decode("xZm9vYmE=".dropFirst()) == Array("fooba".utf8))
        #expect(Base64.decode(NSString(string: "Zm9v") as String) == Array("foo".utf8))
    }

    @Test(arguments: ["a", "ab$c", "Zg=a", "Zm9v====="])
    func rejectsMalformed(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func roundTripsRandomBytes() {
        for count in 0..<70 {
            let bytes = SecureRandom.bytes(count)
            #expect(Base64.decode(Base64.urlEncoded(bytes)) == bytes)
            #expect(Base64.decode(Base64.standardEncoded(bytes)) == bytes)
        }
    }
}

@Suite struct AEADTests {
    @Test func sealsAndOpens() throws {
        let key = try AEADKey(bytes: AEADKey.generate())
        let sealed = try key.seal(Array("secret".utf8), authenticating: Array("path".utf8))
        #expect(sealed.count == 12 + 6 + 16)
        #expect(try key.open(sealed, authenticating: Array("path".utf8)) == Array("secret".utf8))
    }

    @Test func refusesWrongAADKeyOrTampering() throws {
        let key = try AEADKey(bytes: AEADKey.generate())
        var sealed = try key.seal(Array("secret".utf8), authenticating: Array("a".utf8))
        #expect(throws: CryptoFailure.authenticationFailed) { try key.open(sealed, authenticating: Array("b".utf8)) }
        #expect(throws: CryptoFailure.authenticationFailed) {
            try AEADKey(bytes: AEADKey.generate()).open(sealed, authenticating: Array("a".utf8))
        }
        sealed[14] ^= 0x01
        #expect(throws: CryptoFailure.authenticationFailed) { try key.open(sealed, authenticating: Array("a".utf8)) }
        #expect(throws: CryptoFailure.self) { try AEADKey(bytes: [1, 2, 3]) }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
    }

    @Test func hmacKnownAnswer() {
        // RFC 4231 test case 2.
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
        #expect(Base64.standardEncoded(mac) == "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=")
    }
}

@Suite struct RSASigningTests {
    @Test func signsAndVerifiesRS256() throws {
        let key = try RSASigningKey.generate()
        let message = Array("header.payload".utf8)
        let signature = try key.signRS256(message)
        #expect(signature.count == 256)
        #expect(key.publicKey.verifyRS256(signature: signature, message: message))
        #expect(!key.publicKey.verifyRS256(signature: signature, message: Array("header.payloaD".utf8)))
        let restored = try RSASigningKey(derRepresentation: key.derRepresentation)
        let (modulus, exponent) = restored.publicKey.components
        #expect(exponent == [1, 0, 1])
        #expect(try RSAVerifyingKey(modulus: modulus, exponent: exponent).verifyRS256(signature: signature, message: message))
    }
}

@Suite struct SystemOpenSSLTests {
    @Test func linksOpenSSL3() {
        #expect(SystemOpenSSL.version.hasPrefix("OpenSSL 3."))
    }
}

@Suite struct ShamirTests {
    @Test func anyThresholdSubsetRebuildsTheSecret() throws {
        let secret = SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, shares: 5, threshold: 3)
        #expect(shares.count == 5 && shares.allSatisfy { $0.count == 33 })
        for a in 0..<5 {
            for b in (a + 1)..<5 {
                for c in (b + 1)..<5 {
                    #expect(try Shamir.combine([shares[a], shares[b], shares[c]]) == secret)
                }
            }
        }
        #expect(try Shamir.combine(shares) == secret)
        #expect(try Shamir.combine([shares[0], shares[1]]) != secret)
    }

    @Test func refusesBadInput() throws {
        #expect(throws: CryptoFailure.self) { try Shamir.split([1], shares: 3, threshold: 4) }
        #expect(throws: CryptoFailure.self) { try Shamir.split([1], shares: 1, threshold: 1) }
        let shares = try Shamir.split([1, 2], shares: 3, threshold: 2)
        #expect(throws: CryptoFailure.self) { try Shamir.combine([shares[0], shares[0]]) }
        #expect(throws: CryptoFailure.self) { try Shamir.combine([shares[0], [1]]) }
    }

    @Test func fieldArithmetic() {
        // FIPS-197 §4.2: {57} • {83} = {c1}.
        #expect(Shamir.multiply(0x57, 0x83) == 0xc1)
        for value in 1...255 { #expect(Shamir.multiply(UInt8(value), Shamir.divide(1, UInt8(value))) == 1) }
    }
}

@Suite struct ScryptTests {
    /// RFC 7914 §12, the third and second test vectors.
    @Test func rfc7914Vectors() throws {
        let third = try Scrypt.derive(
            password: Array("pleaseletmein".utf8), salt: Array("SodiumChloride".utf8), cost: .init(n: 16384, r: 8, p: 1), length: 64)
        #expect(
            hex(third)
                == "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887")
        let second = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8), cost: .init(n: 1024, r: 8, p: 16), length: 64)
        #expect(
            hex(second)
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func invalidCostsAreRefused() {
        #expect(throws: CryptoFailure.self) { try Scrypt.derive(password: [1], salt: [2], cost: .init(n: 1000, r: 8, p: 1)) }
        #expect(throws: CryptoFailure.self) { try Scrypt.derive(password: [1], salt: [2], cost: .init(n: 1024, r: 0, p: 1)) }
    }
}
