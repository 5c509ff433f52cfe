import Crypto
import Foundation
import SwiftASN1
import X509

/// The server's own certificate authority: it signs the TLS certificate Coffre serves, so that clients trust
/// one CA file (`ca.pem`) for every vault host.
public struct LocalCertificateAuthority: Sendable {
    public let certificateDER: [UInt8]
    public let privateKeyDER: [UInt8]

    private let certificate: Certificate
    private let privateKey: P256.Signing.PrivateKey

    /// A new CA with a P-256 key, valid for ten years.
    public static func generate(commonName: String = "Coffre Local CA", now: Date = Date()) throws -> LocalCertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("Coffre")
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86_400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: .init(key))
        return try LocalCertificateAuthority(certificateDER: Self.der(certificate), privateKeyDER: Array(key.derRepresentation))
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    public init(certificateDER: [UInt8], privateKeyDER: [UInt8]) throws {
        self.certificateDER = certificateDER
        self.privateKeyDER = privateKeyDER
        self.certificate = try Certificate(derEncoded: certificateDER)
        self.privateKey = try P256.Signing.PrivateKey(derRepresentation: privateKeyDER)
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }

    /// A TLS server certificate and its key, issued now.
    public struct ServerCertificate: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    /// Issues a TLS server certificate for the given DNS names (wildcards allowed) and IP addresses.
    public func issueServerCertificate(dnsNames: [String], ipAddresses: [String], now: Date = Date(), days: Int = 365) throws
        -> ServerCertificate
    {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let names: [GeneralName] =
            dnsNames.map { .dnsName($0) }
            + ipAddresses.compactMap { address in
                IPAddressBytes.parse(address).map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
            }
        let issuerKeyId = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(days) * 86_400), issuer: self.certificate.subject,
            subject: try DistinguishedName { CommonName(dnsNames.first ?? "localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerKeyId)
            },
            issuerPrivateKey: .init(privateKey))
        return ServerCertificate(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }
}
