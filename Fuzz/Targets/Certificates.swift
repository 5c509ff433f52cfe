import CoffreCertificates
import Crypto
import Foundation

/// A CA, a leaf it issued and the leaf's key, made once: seeds for the certificate targets, and the issuer of `csr`.
private struct CertificateFixture: Sendable {
    let caKey = SoftwareSigningKey(P256.Signing.PrivateKey())
    let leafKey = P256.Signing.PrivateKey()
    let ca: [UInt8]
    let leaf: [UInt8]
    let csr: [UInt8]

    static let shared: CertificateFixture = {
        do { return try CertificateFixture() } catch { fatalError("the fuzz fixture could not be made: \(error)") }
    }()

    /// Made on the thread that first needs it (libFuzzer's or the seed writer's, never one of the concurrency pool).
    private init() throws {
        let (caKey, leafKey) = (caKey, leafKey)
        ca = try FuzzTarget.blocking { try await CertificateBuilder.makeCA(CertificatePolicySpec(subject: "CN=Fuzz CA"), key: caKey) }
        let spec = CertificatePolicySpec(
            subject: "CN=leaf, O=Coffre", subjectAlternativeNames: .init(emails: ["a@example.com"], dnsNames: ["leaf.example"]),
            extendedKeyUsages: ["1.3.6.1.5.5.7.3.1"], keyUsage: [.digitalSignature])
        let (ca, csr) = (ca, try FuzzTarget.blocking { try await CertificateBuilder.makeCSR(spec, key: SoftwareSigningKey(leafKey)) })
        self.csr = csr
        leaf = try FuzzTarget.blocking {
            try await CertificateBuilder.issue(csr: csr, issuer: CertificateIssuer(certificateDER: ca, key: caKey), validityInMonths: 12)
        }
    }

    var bundle: CertificateBundle { CertificateBundle(privateKeyPKCS8DER: Array(leafKey.derRepresentation), certificates: [leaf, ca]) }
}

extension FuzzTarget {
    /// PFX import (`POST /certificates/{name}/import`, `application/x-pkcs12`): the PKCS#12 file, with or without a password.
    static let pkcs12 = FuzzTarget(
        "pkcs12",
        seeds: {
            let bundle = CertificateFixture.shared.bundle
            return [try bundle.pkcs12(password: "fuzz"), try bundle.pkcs12(password: nil)]
        },
        run: { bytes in
            _ = try? CertificateBundle(pkcs12: bytes, password: "fuzz")
            _ = try CertificateBundle(pkcs12: bytes, password: nil)
        })

    /// Certificate import's `value`: base64 PKCS#12 or PEM text (`application/x-pem-file`), as the import operation reads it.
    static let certificateImport = FuzzTarget(
        "certificate-import",
        seeds: {
            let bundle = CertificateFixture.shared.bundle
            return [Array(bundle.pem().utf8), Array(Data(try bundle.pkcs12(password: "fuzz")).base64EncodedString().utf8)]
        },
        run: { bytes in
            let bundle = try CertificateBundle(importValue: String(fuzzed: bytes), password: "fuzz")
            _ = try bundle.privateKeySubjectPublicKeyInfo()
            for certificate in bundle.certificates { _ = try? CertificateInfo(der: certificate) }
        })

    /// Merge (`POST /certificates/{name}/pending/merge`): the `x5c` chain, one base64 certificate a line, read, checked and
    /// ordered leaf first; and a chain given as PEM or DER.
    static let certificateMerge = FuzzTarget(
        "certificate-merge",
        seeds: {
            let fixture = CertificateFixture.shared
            return [Array([fixture.leaf, fixture.ca].map { Data($0).base64EncodedString() }.joined(separator: "\n").utf8)]
        },
        run: { bytes in
            let lines = String(fuzzed: bytes).split(separator: "\n").map(String.init)
            _ = try? CertificateChain.certificates(in: bytes)
            let certificates = try CertificateChain.certificates(x5c: lines)
            for certificate in certificates { _ = try CertificateInfo(der: certificate) }
            _ = try CertificateChain.orderedLeafFirst(certificates, leafPublicKey: nil)
        })

    /// A certificate signing request to issue from (DER, as the `csr` of a pending certificate operation).
    static let csr = FuzzTarget(
        "csr", seeds: { [CertificateFixture.shared.csr] },
        run: { bytes in
            let fixture = CertificateFixture.shared
            _ = try FuzzTarget.blocking {
                try await CertificateBuilder.issue(
                    csr: bytes, issuer: CertificateIssuer(certificateDER: fixture.ca, key: fixture.caKey), validityInMonths: 12)
            }
        })
}
