import CoffreCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite struct CertificateChainTests {
    @Test func readsX5CInAnyOrderAndPutsTheLeafFirst() throws {
        let leaf = try Fixture.der("leaf.pem")
        let ca = try Fixture.der("ca.pem")
        let x5c = [ca, leaf].map { Data($0).base64EncodedString() }
        let found = try CertificateChain.certificates(x5c: x5c)
        #expect(found == [ca, leaf])
        #expect(try CertificateChain.orderedLeafFirst(found) == [leaf, ca])
        #expect(try CertificateChain.orderedLeafFirst(found + [leaf]) == [leaf, ca])
    }

    @Test func readsPEMDERBase64AndPKCS7() throws {
        let leaf = try Fixture.der("leaf.pem")
        let ca = try Fixture.der("ca.pem")
        let pem = try Fixture.text("leaf.pem") + Fixture.text("ca.pem")
        #expect(try CertificateChain.certificates(in: Array(pem.utf8)) == [leaf, ca])
        #expect(try CertificateChain.certificates(in: leaf) == [leaf])
        #expect(try CertificateChain.certificates(in: Array(Data(leaf).base64EncodedString(options: .lineLength64Characters).utf8)) == [leaf])
        #expect(try CertificateChain.certificates(x5c: [pem]) == [leaf, ca])

        let pkcs7 = try Self.pkcs7(certificates: [leaf, ca])
        #expect(try CertificateChain.certificates(in: pkcs7) == [leaf, ca])
        #expect(try CertificateChain.certificates(x5c: [Data(pkcs7).base64EncodedString()]) == [leaf, ca])
    }

    @Test func rejectsWhatIsNotACertificate() {
        #expect(throws: CertificateFailure(.invalidCertificate, "")) { try CertificateChain.certificates(x5c: []) }
        #expect(throws: CertificateFailure(.invalidCertificate, "")) { try CertificateChain.certificates(x5c: ["%%%"]) }
        #expect(throws: CertificateFailure(.invalidCertificate, "")) { try CertificateChain.certificates(in: [0x30, 0x00]) }
        #expect(throws: CertificateFailure(.invalidCertificate, "")) { try CertificateChain.certificates(in: Array("plain".utf8)) }
        #expect(throws: CertificateFailure(.invalidPEM, "")) {
            try CertificateChain.certificates(in: Array("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n".utf8))
        }
    }

    @Test func mergeFindsTheLeafByThePendingKeyOrRefuses() throws {
        let leaf = try Fixture.der("leaf.pem")
        let ca = try Fixture.der("ca.pem")
        let pendingKey = try Fixture.rsaKey().subjectPublicKeyInfoDER
        #expect(try CertificateChain.orderedLeafFirst([ca, leaf], leafPublicKey: pendingKey) == [leaf, ca])

        let otherKey = Array(P256.Signing.PrivateKey().publicKey.derRepresentation)
        #expect(throws: CertificateFailure(.publicKeyMismatch, "")) { try CertificateChain.orderedLeafFirst([ca, leaf], leafPublicKey: otherKey) }
        let info = try CertificateInfo(der: leaf)
        #expect(info.hasPublicKey(pendingKey) && !info.hasPublicKey(otherKey))
        #expect(throws: CertificateFailure(.publicKeyMismatch, "")) { try info.requirePublicKey(otherKey) }
    }

    @Test func inspectsACertificateMadeByOpenSSL() throws {
        let info = try CertificateInfo(der: try Fixture.der("leaf.pem"))
        #expect(info.subject == #"CN=fixture.example.com, O="Contoso, Ltd", L=Redmond, S=WA, C=US"#)
        #expect(info.issuer == "CN=Fixture Root CA, O=Coffre Fixtures, C=US")
        #expect(info.subjectAlternativeNames.dnsNames == ["fixture.example.com", "*.fixture.example.com"])
        #expect(info.subjectAlternativeNames.ipAddresses == ["10.0.0.1"])
        #expect(info.subjectAlternativeNames.emails == ["ops@example.com"])
        #expect(info.subjectAlternativeNames.userPrincipalNames == ["user@example.com"])
        #expect(info.extendedKeyUsages == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
        #expect(info.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(!info.isSelfSigned && !info.isCertificateAuthority)
        let ca = try CertificateInfo(der: try Fixture.der("ca.pem"))
        #expect(info.isIssued(by: ca))
        #expect(
            info.x5t
                == Data(Insecure.SHA1.hash(data: info.der)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""))
        #expect(info.sha256Thumbprint == Array(SHA256.hash(data: info.der)))
        #expect(info.policySpec.validityInMonths == 1199) // 36,500 days
        #expect(info.policySpec.subject == info.subject)
        #expect(throws: CertificateFailure(.invalidCertificate, "")) { try CertificateInfo(der: [0x30, 0x03, 0x02, 0x01, 0x01]) }
    }

    /// A degenerate PKCS#7 SignedData holding `certificates`, as `openssl crl2pkcs7` writes it.
    static func pkcs7(certificates: [[UInt8]]) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.7.2"))
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(1)
                    coder.appendConstructedNode(identifier: .set) { _ in }
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.7.1"))
                    }
                    coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                        for certificate in certificates { coder.serializeRawBytes(certificate) }
                    }
                    coder.appendConstructedNode(identifier: .set) { _ in }
                }
            }
        }
        return serializer.serializedBytes
    }
}
