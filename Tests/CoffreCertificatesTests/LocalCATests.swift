import CoffreCertificates
import Foundation
import SwiftASN1
import Testing
import X509

@Suite struct LocalCATests {
    @Test func issuesAServerCertificateTheCAVerifies() async throws {
        let ca = try LocalCertificateAuthority.generate()
        let restored = try LocalCertificateAuthority(certificateDER: ca.certificateDER, privateKeyDER: ca.privateKeyDER)
        let issued = try restored.issueServerCertificate(dnsNames: ["localhost", "*.vault.localhost"], ipAddresses: ["127.0.0.1", "::1"])
        let leaf = try Certificate(pemEncoded: issued.certificatePEM)
        let root = try Certificate(derEncoded: ca.certificateDER)

        let names = try #require(try leaf.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("*.vault.localhost")))
        #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))))
        #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1][...]))))
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        #expect(try root.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))

        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
        guard case .validCertificate = result else {
            Issue.record("the issued certificate does not chain to the CA: \(result)")
            return
        }
    }
}
