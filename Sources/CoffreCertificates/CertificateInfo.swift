import CoffreCrypto
import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The type and size of a certificate's public key, as Key Vault's `key_props` names them.
public enum CertificateKeyType: Hashable, Sendable {
    case rsa(bits: Int)
    /// `curve` is `P-256`, `P-384` or `P-521`.
    case ec(curve: String)
    /// A key Key Vault does not hold (Ed25519 in a CA's certificate, say), by its description.
    case other(String)

    /// `RSA`, `EC`, or `nil` for a key type Key Vault has no name for.
    public var keyType: String? {
        switch self {
        case .rsa: return "RSA"
        case .ec: return "EC"
        case .other: return nil
        }
    }
}

/// What Key Vault reports about an X.509 certificate, read from its DER.
public struct CertificateInfo: Sendable {
    public let der: [UInt8]
    /// Subject in Key Vault's syntax (`CN=www.example.com, O=Contoso`).
    public let subject: String
    public let issuer: String
    /// Big-endian bytes of the serial number.
    public let serialNumber: [UInt8]
    public let notBefore: Date
    public let notAfter: Date
    public let subjectAlternativeNames: SubjectAlternativeNamesSpec
    /// Dotted OIDs.
    public let extendedKeyUsages: [String]
    public let keyUsage: [KeyUsageName]
    public let isCertificateAuthority: Bool
    /// DER SubjectPublicKeyInfo.
    public let subjectPublicKeyInfoDER: [UInt8]
    public let keyType: CertificateKeyType
    /// Issuer and subject names are equal and the certificate's own key verifies its signature.
    public let isSelfSigned: Bool

    let certificate: Certificate

    public init(der: [UInt8]) throws {
        let certificate = try Certificate(checkedDER: der)
        self.certificate = certificate
        self.der = der
        subject = certificate.subject.keyVaultSubject
        issuer = certificate.issuer.keyVaultSubject
        serialNumber = Array(certificate.serialNumber.bytes)
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        do {
            let extensions = certificate.extensions
            subjectAlternativeNames = try extensions.subjectAlternativeNames.map(SubjectAlternativeNamesSpec.init) ?? .init()
            extendedKeyUsages = try extensions.extendedKeyUsage.map { $0.map { ASN1ObjectIdentifier($0).description } } ?? []
            keyUsage = try extensions.keyUsage?.names ?? []
            if case .isCertificateAuthority = try extensions.basicConstraints {
                isCertificateAuthority = true
            } else {
                isCertificateAuthority = false
            }
        } catch {
            throw CertificateFailure(.invalidCertificate, "The certificate has a malformed extension: \(error)")
        }
        subjectPublicKeyInfoDER = try derEncoded(certificate.publicKey)
        keyType = Self.keyType(of: certificate.publicKey)
        isSelfSigned = certificate.subject == certificate.issuer && certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// Key Vault's `x5t`: base64url of the SHA-1 thumbprint.
    public var x5t: String { Base64.urlEncoded(sha1Thumbprint) }
    public var sha1Thumbprint: [UInt8] { Digest.sha1(der) }
    public var sha256Thumbprint: [UInt8] { Digest.sha256(der) }
    /// Upper-case hex of the serial number, as Windows and the portal show it.
    public var serialNumberHex: String { serialNumber.map { String(format: "%02X", $0) }.joined() }

    /// Whether the certificate certifies the key `subjectPublicKeyInfoDER` (compared as keys, not as bytes).
    public func hasPublicKey(_ subjectPublicKeyInfoDER: [UInt8]) -> Bool {
        guard let other = try? Certificate.PublicKey(derEncoded: subjectPublicKeyInfoDER) else { return false }
        return other == certificate.publicKey
    }

    /// For merge and import: throws ``CertificateFailure/Code/publicKeyMismatch`` unless the certificate certifies
    /// the key `subjectPublicKeyInfoDER`.
    public func requirePublicKey(_ subjectPublicKeyInfoDER: [UInt8]) throws {
        guard hasPublicKey(subjectPublicKeyInfoDER) else {
            throw CertificateFailure(
                .publicKeyMismatch, "The public key of the certificate (\(subject)) does not match the key of the pending certificate.")
        }
    }

    /// Whether `issuer` signed this certificate (its subject names this certificate's issuer and its key verifies).
    public func isIssued(by issuer: CertificateInfo) -> Bool {
        certificate.issuer == issuer.certificate.subject
            && issuer.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// A policy describing this certificate, as Key Vault derives one on import; months are rounded to the nearest.
    public var policySpec: CertificatePolicySpec {
        let days = notAfter.timeIntervalSince(notBefore) / 86_400
        return CertificatePolicySpec(
            subject: subject, subjectAlternativeNames: subjectAlternativeNames, extendedKeyUsages: extendedKeyUsages,
            keyUsage: keyUsage, validityInMonths: max(1, Int((days / (365.2425 / 12)).rounded())))
    }

    private static func keyType(of key: Certificate.PublicKey) -> CertificateKeyType {
        if let rsa = _RSA.Signing.PublicKey(key) { return .rsa(bits: rsa.keySizeInBits) }
        if P384.Signing.PublicKey(key) != nil { return .ec(curve: "P-384") }
        if P521.Signing.PublicKey(key) != nil { return .ec(curve: "P-521") }
        if P256.Signing.PublicKey(key) != nil { return .ec(curve: "P-256") }
        return .other(key.description)
    }
}
