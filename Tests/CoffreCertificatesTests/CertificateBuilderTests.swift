import CoffreCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite struct CertificateBuilderTests {
    let spec = CertificatePolicySpec(
        subject: #"CN=www.example.com, O="Contoso, Ltd", C=US"#,
        subjectAlternativeNames: .init(
            emails: ["admin@example.com"], dnsNames: ["www.example.com", "*.example.com"], userPrincipalNames: ["svc@contoso.com"],
            uris: ["https://example.com/id"], ipAddresses: ["10.1.2.3", "2001:db8::1"]),
        extendedKeyUsages: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"],
        keyUsage: [.digitalSignature, .keyEncipherment],
        validityInMonths: 12)

    @Test func csrCarriesSubjectKeyAndRequestedExtensions() async throws {
        let key = SoftwareSigningKey(P256.Signing.PrivateKey())
        let der = try await CertificateBuilder.makeCSR(spec, key: key)
        let csr = try CertificateSigningRequest(derEncoded: der)
        #expect(csr.publicKey.isValidSignature(csr.signature, for: csr))
        #expect(csr.signatureAlgorithm == .ecdsaWithSHA256)
        #expect(try derEncoded(csr.publicKey) == (try key.subjectPublicKeyInfoDER))
        #expect(csr.subject == (try DistinguishedName(keyVaultSubject: spec.subject)))
        let extensions = try #require(csr.attributes.extensionRequest?.extensions)
        let names = try #require(try extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("*.example.com")))
        #expect(names.contains(.rfc822Name("admin@example.com")))
        #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [10, 1, 2, 3]))))
        #expect(try extensions.extendedKeyUsage.map(Array.init) == [.serverAuth, .clientAuth])
        #expect(try extensions.keyUsage == KeyUsage(digitalSignature: true, keyEncipherment: true))
        #expect(CertificateBuilder.csrPEM(der).hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))
        #expect(CertificateBuilder.csrBase64(der) == Data(der).base64EncodedString())
    }

    @Test func rsaCSRVerifies() async throws {
        let der = try await CertificateBuilder.makeCSR(CertificatePolicySpec(subject: "CN=rsa"), key: try Fixture.rsaKey())
        let csr = try CertificateSigningRequest(derEncoded: der)
        #expect(csr.signatureAlgorithm == .sha256WithRSAEncryption)
        #expect(csr.publicKey.isValidSignature(csr.signature, for: csr))
        #expect(try csr.attributes.extensionRequest == nil)
    }

    @Test func selfSignedVerifiesAgainstItselfWithTheRequestedExtensions() async throws {
        let key = try Fixture.rsaKey()
        let now = Date()
        let der = try await CertificateBuilder.makeSelfSigned(spec, key: key, now: now)
        #expect(try await selfSignedVerifies(der))

        let certificate = try Certificate(derEncoded: der)
        #expect(certificate.issuer == certificate.subject)
        #expect(certificate.serialNumber.bytes.count == 16)
        #expect(certificate.notValidBefore <= now && certificate.notValidBefore > now.addingTimeInterval(-3600))
        let months = Calendar(identifier: .gregorian).dateComponents([.month, .day], from: now, to: certificate.notValidAfter)
        #expect(months.month == 12 || (months.month == 11 && months.day ?? 0 >= 27))
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(certificate.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        let ski = try #require(try certificate.extensions.subjectKeyIdentifier)
        #expect(try certificate.extensions.authorityKeyIdentifier?.keyIdentifier == ski.keyIdentifier)

        let info = try CertificateInfo(der: der)
        #expect(info.isSelfSigned)
        #expect(info.subject == spec.subject)
        #expect(info.subjectAlternativeNames == spec.subjectAlternativeNames)
        #expect(info.extendedKeyUsages == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
        #expect(info.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(info.keyType == .rsa(bits: 2048))
        #expect(info.subjectPublicKeyInfoDER == (try key.subjectPublicKeyInfoDER))
    }

    @Test(arguments: [256, 384, 521])
    func selfSignedWithEachCurve(bits: Int) async throws {
        let key: SoftwareSigningKey
        let algorithm: Certificate.SignatureAlgorithm
        switch bits {
        case 256: (key, algorithm) = (SoftwareSigningKey(P256.Signing.PrivateKey()), .ecdsaWithSHA256)
        case 384: (key, algorithm) = (SoftwareSigningKey(P384.Signing.PrivateKey()), .ecdsaWithSHA384)
        default: (key, algorithm) = (SoftwareSigningKey(P521.Signing.PrivateKey()), .ecdsaWithSHA512)
        }
        let der = try await CertificateBuilder.makeSelfSigned(CertificatePolicySpec(subject: "CN=ec"), key: key)
        #expect(try Certificate(derEncoded: der).signatureAlgorithm == algorithm)
        #expect(try await selfSignedVerifies(der))
        #expect(try CertificateInfo(der: der).keyType == .ec(curve: bits == 521 ? "P-521" : "P-\(bits)"))
    }

    @Test func subjectMayBeEmptyWhenThereAreNames() async throws {
        let spec = CertificatePolicySpec(subject: "", subjectAlternativeNames: .init(dnsNames: ["only.example.com"]))
        let der = try await CertificateBuilder.makeSelfSigned(spec, key: SoftwareSigningKey(P256.Signing.PrivateKey()))
        let certificate = try Certificate(derEncoded: der)
        #expect(certificate.subject.isEmpty)
        #expect(certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName]?.critical == true)
        await #expect(throws: CertificateFailure(.invalidSubject, "")) {
            try await CertificateBuilder.makeSelfSigned(CertificatePolicySpec(subject: " "), key: SoftwareSigningKey(P256.Signing.PrivateKey()))
        }
    }

    @Test func caIssuesAChainThatVerifies() async throws {
        let rootKey = SoftwareSigningKey(P384.Signing.PrivateKey())
        let root = try await CertificateBuilder.makeCA(
            CertificatePolicySpec(subject: "CN=Vault Root CA, O=Coffre", validityInMonths: 120), key: rootKey)
        let rootInfo = try CertificateInfo(der: root)
        #expect(rootInfo.isCertificateAuthority && rootInfo.isSelfSigned)
        #expect(Set(rootInfo.keyUsage) == [.digitalSignature, .keyCertSign, .cRLSign])

        let intermediateKey = SoftwareSigningKey(P256.Signing.PrivateKey())
        let intermediate = try await CertificateBuilder.makeCA(
            CertificatePolicySpec(subject: "CN=Vault Issuing CA"), key: intermediateKey,
            issuer: CertificateIssuer(certificateDER: root, key: rootKey), maxPathLength: 0)

        let leafKey = try Fixture.rsaKey()
        let leaf = try await CertificateBuilder.issue(
            spec, subjectPublicKeyInfo: try leafKey.subjectPublicKeyInfoDER,
            issuer: CertificateIssuer(certificateDER: intermediate, key: intermediateKey))
        #expect(try await chainVerifies(leaf, root: root, intermediates: [intermediate]))

        let leafCertificate = try Certificate(derEncoded: leaf)
        let intermediateCertificate = try Certificate(derEncoded: intermediate)
        let authorityKeyIdentifier = try leafCertificate.extensions.authorityKeyIdentifier?.keyIdentifier
        #expect(authorityKeyIdentifier == (try intermediateCertificate.extensions.subjectKeyIdentifier?.keyIdentifier))
        #expect(leafCertificate.issuer == intermediateCertificate.subject)
        #expect(leafCertificate.notValidAfter <= intermediateCertificate.notValidAfter)
        let info = try CertificateInfo(der: leaf)
        let intermediateInfo = try CertificateInfo(der: intermediate)
        #expect(!info.isSelfSigned && info.isIssued(by: intermediateInfo))
        #expect(try CertificateChain.orderedLeafFirst([root, leaf, intermediate]) == [leaf, intermediate, root])
    }

    @Test func issuesFromACSR() async throws {
        let caKey = SoftwareSigningKey(P256.Signing.PrivateKey())
        let ca = try await CertificateBuilder.makeCA(CertificatePolicySpec(subject: "CN=CA"), key: caKey)
        let requesterKey = SoftwareSigningKey(P256.Signing.PrivateKey())
        let csr = try await CertificateBuilder.makeCSR(spec, key: requesterKey)
        let issued = try await CertificateBuilder.issue(
            csr: csr, issuer: CertificateIssuer(certificateDER: ca, key: caKey), validityInMonths: 6)
        #expect(try await chainVerifies(issued, root: ca))
        let info = try CertificateInfo(der: issued)
        #expect(info.subject == spec.subject)
        #expect(info.subjectAlternativeNames == spec.subjectAlternativeNames)
        #expect(info.keyUsage == [.digitalSignature, .keyEncipherment])
        try info.requirePublicKey(try requesterKey.subjectPublicKeyInfoDER)

        var tampered = csr
        tampered[tampered.count - 5] ^= 0x01
        await #expect(throws: CertificateFailure(.invalidCertificateSigningRequest, "")) {
            try await CertificateBuilder.issue(csr: tampered, issuer: CertificateIssuer(certificateDER: ca, key: caKey), validityInMonths: 6)
        }
    }

    @Test func issuerMustBeACAWithItsOwnKey() async throws {
        let key = SoftwareSigningKey(P256.Signing.PrivateKey())
        let leaf = try await CertificateBuilder.makeSelfSigned(CertificatePolicySpec(subject: "CN=leaf"), key: key)
        #expect(throws: CertificateFailure(.issuerNotCertificateAuthority, "")) { try CertificateIssuer(certificateDER: leaf, key: key) }
        let ca = try await CertificateBuilder.makeCA(CertificatePolicySpec(subject: "CN=CA"), key: key)
        #expect(throws: CertificateFailure(.publicKeyMismatch, "")) {
            try CertificateIssuer(certificateDER: ca, key: SoftwareSigningKey(P256.Signing.PrivateKey()))
        }
    }

    @Test func aKeyEngineThatSignsWithTheWrongKeyIsCaught() async {
        struct LyingKey: CertificateSigningKey {
            let claimed = P256.Signing.PrivateKey()
            let actual = P256.Signing.PrivateKey()
            var subjectPublicKeyInfoDER: [UInt8] { get throws { Array(claimed.publicKey.derRepresentation) } }
            var certificateSignatureAlgorithm: CertificateSignatureAlgorithm { .ecdsaWithSHA256 }
            func signForCertificate(_ message: [UInt8]) throws -> [UInt8] { Array(try actual.signature(for: message).derRepresentation) }
        }
        await #expect(throws: CertificateFailure(.signingFailed, "")) {
            try await CertificateBuilder.makeSelfSigned(CertificatePolicySpec(subject: "CN=x"), key: LyingKey())
        }
    }

    @Test func keyEngineErrorsReachTheCallerUnchanged() async {
        struct Disabled: Error, Equatable {}
        struct DisabledKey: CertificateSigningKey {
            let key = P256.Signing.PrivateKey()
            var subjectPublicKeyInfoDER: [UInt8] { get throws { Array(key.publicKey.derRepresentation) } }
            var certificateSignatureAlgorithm: CertificateSignatureAlgorithm { .ecdsaWithSHA256 }
            func signForCertificate(_ message: [UInt8]) throws -> [UInt8] { throw Disabled() }
        }
        await #expect(throws: Disabled()) { try await CertificateBuilder.makeCSR(CertificatePolicySpec(subject: "CN=x"), key: DisabledKey()) }
        await #expect(throws: Disabled()) { try await CertificateBuilder.makeSelfSigned(CertificatePolicySpec(subject: "CN=x"), key: DisabledKey()) }
    }

    @Test func secp256k1KeysAreRefusedClearly() async throws {
        // swift-certificates has no P-256K public key type, so no certificate can carry one here.
        let spki = try #require(
            Data(
                base64Encoded:
                    "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEj24zNCKiY+wkCFGknjNbq8ySFIBQFGZr3aZAeHDgfzBMfim4GfPP+59HRKryZW234oy8ha+n4+dRZcvDdzjFKw=="))
        let caKey = SoftwareSigningKey(P256.Signing.PrivateKey())
        let issuer = try await CertificateIssuer(
            certificateDER: CertificateBuilder.makeCA(CertificatePolicySpec(subject: "CN=CA"), key: caKey), key: caKey)
        await #expect(throws: CertificateFailure(.unsupportedKey, "")) {
            try await CertificateBuilder.issue(CertificatePolicySpec(subject: "CN=k1"), subjectPublicKeyInfo: Array(spki), issuer: issuer)
        }
    }

    @Test func algorithmMustFitTheKey() async {
        struct ConfusedKey: CertificateSigningKey {
            let key = P256.Signing.PrivateKey()
            var subjectPublicKeyInfoDER: [UInt8] { get throws { Array(key.publicKey.derRepresentation) } }
            var certificateSignatureAlgorithm: CertificateSignatureAlgorithm { .sha256WithRSAEncryption }
            func signForCertificate(_ message: [UInt8]) throws -> [UInt8] { [] }
        }
        await #expect(throws: CertificateFailure(.unsupportedKey, "")) {
            try await CertificateBuilder.makeCSR(CertificatePolicySpec(subject: "CN=x"), key: ConfusedKey())
        }
    }

    @Test func serialNumbersAreRandomPositiveOrGiven() async throws {
        let key = SoftwareSigningKey(P256.Signing.PrivateKey())
        let policy = CertificatePolicySpec(subject: "CN=serial")
        var serials: [[UInt8]] = []
        for _ in 0..<8 { serials.append(try await CertificateInfo(der: CertificateBuilder.makeSelfSigned(policy, key: key)).serialNumber) }
        #expect(Set(serials).count == 8)
        #expect(serials.allSatisfy { $0.count == 16 && $0[0] & 0x80 == 0 })
        let given = try await CertificateBuilder.makeSelfSigned(policy, key: key, serialNumber: [0x01, 0x02, 0x03])
        #expect(try CertificateInfo(der: given).serialNumberHex == "010203")
    }

    @Test func invalidPolicyPartsAreRejectedWithTheirCode() async throws {
        let key = SoftwareSigningKey(P256.Signing.PrivateKey())
        let cases: [(CertificatePolicySpec, CertificateFailure.Code)] = [
            (.init(subject: "CN=x", subjectAlternativeNames: .init(dnsNames: ["bad name"])), .invalidSubjectAlternativeName),
            (.init(subject: "CN=x", subjectAlternativeNames: .init(dnsNames: ["a.*.com"])), .invalidSubjectAlternativeName),
            (.init(subject: "CN=x", subjectAlternativeNames: .init(emails: ["no-at-sign"])), .invalidSubjectAlternativeName),
            (.init(subject: "CN=x", subjectAlternativeNames: .init(uris: ["not a uri"])), .invalidSubjectAlternativeName),
            (.init(subject: "CN=x", subjectAlternativeNames: .init(ipAddresses: ["300.1.1.1"])), .invalidSubjectAlternativeName),
            (.init(subject: "CN=x", extendedKeyUsages: ["serverAuth"]), .invalidExtendedKeyUsage),
            (.init(subject: "CN=x", validityInMonths: 0), .invalidValidity),
            (.init(subject: "CN=x", validityInMonths: 5000), .invalidValidity),
            (.init(subject: "CN=x, Q=y"), .invalidSubject),
        ]
        for (policy, code) in cases {
            #expect(throws: CertificateFailure(code, "")) { try policy.validate() }
            await #expect(throws: CertificateFailure(code, "")) { try await CertificateBuilder.makeSelfSigned(policy, key: key) }
        }
        #expect(throws: CertificateFailure(.invalidKeyUsage, "")) { try KeyUsageName.parse(["digitalSignature", "sign"]) }
        #expect(try KeyUsageName.parse(["DigitalSignature", "cRLSign"]) == [.digitalSignature, .cRLSign])
    }
}
