import CoffreCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite struct CertificateBundleTests {
    /// The leaf key (PKCS#8 DER) and chain, leaf first, that every PFX fixture holds.
    func expectedContents() throws -> (key: [UInt8], chain: [[UInt8]]) {
        (try Fixture.der("leaf-key.pem"), [try Fixture.der("leaf.pem"), try Fixture.der("ca.pem")])
    }

    @Test(
        arguments: [
            ("legacy.pfx", Fixture.legacyPassword), ("legacy-3des.pfx", Fixture.tripleDESPassword), ("modern.pfx", Fixture.modernPassword),
            ("empty-password.pfx", ""), ("empty-password.pfx", nil), ("no-encryption.pfx", nil), ("no-encryption.pfx", ""),
        ] as [(String, String?)])
    func readsEachPFXFixture(name: String, password: String?) throws {
        let bundle = try CertificateBundle(pkcs12: try Fixture.data(name), password: password)
        let expected = try expectedContents()
        #expect(bundle.privateKeyPKCS8DER == expected.key)
        #expect(bundle.certificates == expected.chain)
    }

    @Test(arguments: ["legacy.pfx", "legacy-3des.pfx", "modern.pfx", "empty-password.pfx"])
    func aWrongPasswordIsReportedAsSuch(name: String) throws {
        let data = try Fixture.data(name)
        for password in ["wrong", "Modern-pass"] {
            #expect(throws: CertificateFailure(.wrongPassword, "")) { try CertificateBundle(pkcs12: data, password: password) }
        }
        if name != "empty-password.pfx" {
            #expect(throws: CertificateFailure(.wrongPassword, "")) { try CertificateBundle(pkcs12: data, password: nil) }
        }
        do {
            _ = try CertificateBundle(pkcs12: data, password: "wrong")
        } catch {
            #expect("\(error)".contains("password is wrong"))
            #expect(!"\(error)".contains("wrong\""))
        }
    }

    @Test func malformedPFXIsAClearErrorNotACrash() throws {
        let valid = try Fixture.data("modern.pfx")
        let inputs: [[UInt8]] = [[], [0x30], [0x30, 0x03, 0x02, 0x01, 0x03], Array(valid.prefix(valid.count / 2)), Array("hello".utf8)]
        for input in inputs {
            #expect(throws: CertificateFailure(.invalidPKCS12, "")) { try CertificateBundle(pkcs12: input, password: "x") }
        }
        var flipped = valid
        flipped[flipped.count / 2] ^= 0xff
        #expect(throws: (any Error).self) { try CertificateBundle(pkcs12: flipped, password: Fixture.modernPassword) }
    }

    @Test(arguments: [nil, "", "s3cret-Pässword"] as [String?])
    func buildsPFXThatReadsBack(password: String?) throws {
        let expected = try expectedContents()
        let bundle = CertificateBundle(privateKeyPKCS8DER: expected.key, certificates: expected.chain)
        let pfx = try bundle.pkcs12(password: password)
        #expect(try CertificateBundle(pkcs12: pfx, password: password) == bundle)
        if password == nil {
            #expect(try CertificateBundle(pkcs12: pfx, password: "") == bundle)
        }
    }

    @Test func passwordlessPFXIsReadByTheOpenSSLCLI() throws {
        let expected = try expectedContents()
        let pfx = try CertificateBundle(privateKeyPKCS8DER: expected.key, certificates: expected.chain).pkcs12(password: nil)
        guard let result = try runOpenSSL(["pkcs12", "-info", "-passin", "pass:", "-nokeys"], input: pfx) else {
            return // no openssl CLI here: nothing to compare against
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        let keys = try #require(try runOpenSSL(["pkcs12", "-passin", "pass:", "-nocerts", "-nodes"], input: pfx))
        #expect(keys.status == 0 && keys.output.contains("BEGIN PRIVATE KEY"))
    }

    @Test func protectedPFXIsReadByTheOpenSSLCLI() throws {
        let expected = try expectedContents()
        let pfx = try CertificateBundle(privateKeyPKCS8DER: expected.key, certificates: expected.chain).pkcs12(password: "pw")
        guard let result = try runOpenSSL(["pkcs12", "-info", "-passin", "pass:pw", "-noout"], input: pfx) else { return }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("AES-256-CBC") && result.output.contains("MAC: sha256"))
    }

    @Test func certificateOnlyPFXForNonExportableKeys() throws {
        let chain = try expectedContents().chain
        let pfx = try CertificateBundle(privateKeyPKCS8DER: nil, certificates: chain).pkcs12(password: nil)
        let back = try CertificateBundle(pkcs12: pfx, password: nil)
        #expect(back.privateKeyPKCS8DER == nil && back.certificates == chain)
    }

    @Test func buildingRefusesAKeyThatIsNotTheLeafs() throws {
        let other = Array(P256.Signing.PrivateKey().derRepresentation)
        #expect(throws: CertificateFailure(.publicKeyMismatch, "")) {
            try CertificateBundle(privateKeyPKCS8DER: other, certificates: try expectedContents().chain).pkcs12(password: nil)
        }
    }

    @Test(arguments: ["leaf-key.pem", "leaf-key-pkcs1.pem"])
    func readsPEMWithRSAKeysInEitherForm(keyFile: String) throws {
        let expected = try expectedContents()
        // CA first, key last: the reader puts the leaf first by the key.
        let pem = try Fixture.text("ca.pem") + Fixture.text("leaf.pem") + "\nsome text between blocks\n" + Fixture.text(keyFile)
        let bundle = try CertificateBundle(pem: pem)
        #expect(bundle.privateKeyPKCS8DER == expected.key)
        #expect(bundle.certificates == expected.chain)
        #expect(try CertificateBundle(pem: pem, preservingOrder: true).certificates == expected.chain.reversed())
    }

    @Test func readsPEMWithASEC1ECKey() throws {
        let bundle = try CertificateBundle(pem: try Fixture.text("ec-key-sec1.pem") + Fixture.text("ec-cert.pem"))
        let key = try #require(bundle.privateKeyPKCS8DER)
        let p384 = try P384.Signing.PrivateKey(derRepresentation: key)
        let info = try CertificateInfo(der: try #require(bundle.certificates.first))
        #expect(info.keyType == .ec(curve: "P-384"))
        try info.requirePublicKey(Array(p384.publicKey.derRepresentation))
        #expect(try bundle.privateKeySubjectPublicKeyInfo() == Array(p384.publicKey.derRepresentation))
    }

    @Test func writesPEMThatReadsBack() throws {
        let expected = try expectedContents()
        let bundle = CertificateBundle(privateKeyPKCS8DER: expected.key, certificates: expected.chain)
        let pem = bundle.pem()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
        #expect(try CertificateBundle(pem: pem) == bundle)
    }

    @Test func pemErrors() throws {
        let key = try Fixture.text("leaf-key.pem")
        #expect(throws: CertificateFailure(.invalidPEM, "")) { try CertificateBundle(pem: "no pem here") }
        #expect(throws: CertificateFailure(.invalidPEM, "")) { try CertificateBundle(pem: key + key) }
        #expect(throws: CertificateFailure(.invalidPEM, "")) {
            try CertificateBundle(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n")
        }
        #expect(throws: CertificateFailure(.publicKeyMismatch, "")) {
            try CertificateBundle(pem: try Fixture.text("ec-key-sec1.pem") + Fixture.text("leaf.pem"))
        }
        #expect(throws: CertificateFailure(.invalidPrivateKey, "")) {
            try CertificateBundle(pem: "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n")
        }
    }

    @Test func importValueIsPEMOrBase64PFX() throws {
        let expected = try expectedContents()
        let pfx = Data(try Fixture.data("modern.pfx")).base64EncodedString()
        #expect(try CertificateBundle(importValue: pfx, password: Fixture.modernPassword).certificates == expected.chain)
        let pem = try Fixture.text("leaf-key.pem") + Fixture.text("leaf.pem")
        #expect(try CertificateBundle(importValue: pem, password: nil).privateKeyPKCS8DER == expected.key)
        #expect(throws: CertificateFailure(.invalidPKCS12, "")) { try CertificateBundle(importValue: "!!", password: nil) }
    }

    @Test func descriptionsHideTheKey() throws {
        let expected = try expectedContents()
        let bundle = CertificateBundle(privateKeyPKCS8DER: expected.key, certificates: expected.chain)
        var dumped = ""
        dump(bundle, to: &dumped)
        for text in ["\(bundle)", String(reflecting: bundle), dumped] {
            #expect(text.count < 200 && text.contains("present"))
        }
    }
}
