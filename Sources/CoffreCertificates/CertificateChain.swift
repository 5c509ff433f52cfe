import CoffreCrypto
import SwiftASN1
import X509

/// Reading certificate chains as clients send them (merge `x5c`, import files) and putting them leaf first.
public enum CertificateChain {
    /// The certificates of Key Vault's `x5c`: each element is standard base64 of a DER certificate (or of a PKCS#7
    /// bundle, or PEM text, which some tools send). Returned in the order found.
    public static func certificates(x5c: [String]) throws -> [[UInt8]] {
        guard !x5c.isEmpty else { throw CertificateFailure(.invalidCertificate, "The certificate chain is empty.") }
        return try x5c.enumerated().flatMap { index, element in
            if element.contains("-----BEGIN") { return try certificates(in: Array(element.utf8)) }
            guard let der = Base64.decode(element.filter { !$0.isWhitespace }), !der.isEmpty else {
                throw CertificateFailure(.invalidCertificate, "x5c[\(index)] is not base64.")
            }
            return try certificates(in: der)
        }
    }

    /// The certificates in a file: PEM (any number of `CERTIFICATE` and `PKCS7` blocks), DER of a certificate or of
    /// a PKCS#7 (`.p7b`) bundle, or base64 of either DER. Returned in the order found.
    public static func certificates(in data: [UInt8]) throws -> [[UInt8]] {
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("-----BEGIN") {
            let documents: [PEMDocument]
            do {
                documents = try PEMDocument.parseMultiple(pemString: text)
            } catch {
                throw CertificateFailure(.invalidPEM, "The PEM text cannot be read: \(error)")
            }
            let found = try documents.flatMap { document -> [[UInt8]] in
                switch document.discriminator {
                case "CERTIFICATE": return [try checked(document.derBytes)]
                case "PKCS7": return try certificates(inPKCS7: document.derBytes)
                default: return []
                }
            }
            guard !found.isEmpty else { throw CertificateFailure(.invalidPEM, "The PEM text holds no CERTIFICATE block.") }
            return found
        }
        if data.first == 0x30 {
            if (try? Certificate(checkedDER: data)) != nil { return [data] }
            if let bundle = try? certificates(inPKCS7: data), !bundle.isEmpty { return bundle }
            return [try checked(data)]
        }
        guard let der = Base64.decode(text.filter { !$0.isWhitespace }), der.first == 0x30 else {
            throw CertificateFailure(.invalidCertificate, "The data is neither PEM, DER nor base64 of a certificate.")
        }
        return try certificates(in: der)
    }

    /// Puts the leaf first, then its issuer, its issuer's issuer…; certificates outside that path follow in their
    /// order, duplicates are dropped.
    ///
    /// With `leafPublicKey` (DER SPKI) the leaf is the certificate for that key, and none being for it throws
    /// ``CertificateFailure/Code/publicKeyMismatch``: this is merge's check. Without it, the leaf is the first
    /// certificate that issued none of the others.
    public static func orderedLeafFirst(_ certificates: [[UInt8]], leafPublicKey: [UInt8]? = nil) throws -> [[UInt8]] {
        var seen = Set<[UInt8]>()
        var remaining = try certificates.filter { seen.insert($0).inserted }.map(CertificateInfo.init(der:))
        guard !remaining.isEmpty else { throw CertificateFailure(.invalidCertificate, "The certificate chain is empty.") }
        let leafIndex: Int
        if let leafPublicKey {
            guard let index = remaining.firstIndex(where: { $0.hasPublicKey(leafPublicKey) }) else {
                throw CertificateFailure(.publicKeyMismatch, "No certificate of the chain is for the expected key.")
            }
            leafIndex = index
        } else {
            leafIndex =
                remaining.firstIndex { candidate in
                    !remaining.contains { $0.der != candidate.der && $0.certificate.issuer == candidate.certificate.subject }
                } ?? 0
        }
        var ordered = [remaining.remove(at: leafIndex)]
        while let last = ordered.last, let next = remaining.firstIndex(where: { last.certificate.issuer == $0.certificate.subject }) {
            ordered.append(remaining.remove(at: next))
        }
        return (ordered + remaining).map(\.der)
    }

    private static func checked(_ der: [UInt8]) throws -> [UInt8] {
        _ = try Certificate(checkedDER: der)
        return der
    }

    // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
    //                           certificates [0] IMPLICIT SET OF Certificate OPTIONAL, crls [1] OPTIONAL, signerInfos SET }
    private static func certificates(inPKCS7 der: [UInt8]) throws -> [[UInt8]] {
        let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 2]
        let certificatesTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        do {
            return try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
                guard try ASN1ObjectIdentifier(derEncoded: &nodes) == signedData else {
                    throw CertificateFailure(.invalidCertificate, "The PKCS#7 data is not a SignedData bundle.")
                }
                return try DER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { content in
                    try DER.sequence(content, identifier: .sequence) { fields in
                        var found: [[UInt8]] = []
                        while let field = fields.next() {
                            guard field.identifier == certificatesTag, case .constructed(let children) = field.content else { continue }
                            found += try children.map { try checked(Array($0.encodedBytes)) }
                        }
                        return found
                    }
                }
            }
        } catch let failure as CertificateFailure {
            throw failure
        } catch {
            throw CertificateFailure(.invalidCertificate, "The PKCS#7 bundle cannot be read: \(error)")
        }
    }
}
