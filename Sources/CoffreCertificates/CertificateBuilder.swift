import CoffreCrypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority held in a vault: its certificate and the key engine's handle on its private key.
public struct CertificateIssuer: Sendable {
    public let certificateDER: [UInt8]
    public let key: any CertificateSigningKey
    let certificate: Certificate
    let signer: VaultHeldPrivateKey

    /// Checks that the certificate is a CA allowed to sign certificates and that `key` is its key.
    public init(certificateDER: [UInt8], key: any CertificateSigningKey) throws {
        let certificate = try Certificate(checkedDER: certificateDER)
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw CertificateFailure(.issuerNotCertificateAuthority, "The issuer certificate is not a certificate authority.")
        }
        if let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
            throw CertificateFailure(.issuerNotCertificateAuthority, "The issuer certificate's key usage does not allow keyCertSign.")
        }
        let signer = try VaultHeldPrivateKey(key)
        guard signer.publicKey == certificate.publicKey else {
            throw CertificateFailure(.publicKeyMismatch, "The issuer key is not the key of the issuer certificate.")
        }
        self.certificateDER = certificateDER
        self.key = key
        self.certificate = certificate
        self.signer = signer
    }
}

/// Builds PKCS#10 requests and X.509 certificates from a ``CertificatePolicySpec``, signing with vault-held keys.
///
/// Every function returns DER. Certificates get a random positive 16-byte serial unless one is given, start
/// ``CertificatePolicySpec/backdating`` before `now`, and carry SKI and AKI.
public enum CertificateBuilder {
    /// A PKCS#10 request for `key`, whose extension request carries the policy's SANs, EKUs and key usage.
    public static func makeCSR(_ spec: CertificatePolicySpec, key: any CertificateSigningKey) async throws -> [UInt8] {
        let subject = try spec.distinguishedName()
        let extensions = try spec.requestedExtensions().extensions(subjectIsEmpty: subject.isEmpty)
        let signer = try VaultHeldPrivateKey(key)
        let attributes =
            extensions.isEmpty
            ? CertificateSigningRequest.Attributes()
            : CertificateSigningRequest.Attributes([try .init(ExtensionRequest(extensions: extensions))])
        let request = try await signing {
            try await CertificateSigningRequest(
                version: .v1, subject: subject, asyncPrivateKey: Certificate.PrivateKey(signer), attributes: attributes,
                signatureAlgorithm: signer.defaultSignatureAlgorithm)
        }
        return try derEncoded(request)
    }

    /// A self-signed end-entity certificate (Key Vault's `Self` issuer): basic constraints CA:false.
    public static func makeSelfSigned(
        _ spec: CertificatePolicySpec, key: any CertificateSigningKey, now: Date = Date(), serialNumber: [UInt8]? = nil
    ) async throws -> [UInt8] {
        let signer = try VaultHeldPrivateKey(key)
        let subject = try spec.distinguishedName()
        return try await build(
            subject: subject, publicKey: signer.publicKey, requested: try spec.requestedExtensions(),
            validity: try spec.validity(from: now), serialNumber: serialNumber, role: .endEntity,
            issuer: (subject, signer, nil))
    }

    /// A CA certificate for `key`: self-signed when `issuer` is nil, else an intermediate signed by `issuer`.
    ///
    /// Basic constraints are CA:true (with `maxPathLength` when given); key usage always includes keyCertSign and
    /// cRLSign, plus digitalSignature when the policy names no usage.
    public static func makeCA(
        _ spec: CertificatePolicySpec, key: any CertificateSigningKey, issuer: CertificateIssuer? = nil, maxPathLength: Int? = nil,
        now: Date = Date(), serialNumber: [UInt8]? = nil
    ) async throws -> [UInt8] {
        let signer = try VaultHeldPrivateKey(key)
        let subject = try spec.distinguishedName()
        var requested = try spec.requestedExtensions()
        let usages = spec.keyUsage.isEmpty ? [.digitalSignature] : spec.keyUsage
        requested.keyUsage = KeyUsage(usages + [.keyCertSign, .cRLSign])
        return try await build(
            subject: subject, publicKey: signer.publicKey, requested: requested, validity: try spec.validity(from: now),
            serialNumber: serialNumber, role: .authority(maxPathLength: maxPathLength),
            issuer: try issuer.map { try signingParts(of: $0, at: now) } ?? (subject, signer, nil))
    }

    /// An end-entity certificate for the key `subjectPublicKeyInfo`, issued by a CA held in the vault.
    public static func issue(
        _ spec: CertificatePolicySpec, subjectPublicKeyInfo: [UInt8], issuer: CertificateIssuer, now: Date = Date(),
        serialNumber: [UInt8]? = nil
    ) async throws -> [UInt8] {
        try await build(
            subject: try spec.distinguishedName(), publicKey: try Certificate.PublicKey(subjectPublicKeyInfo: subjectPublicKeyInfo),
            requested: try spec.requestedExtensions(), validity: try spec.validity(from: now), serialNumber: serialNumber,
            role: .endEntity, issuer: try signingParts(of: issuer, at: now))
    }

    /// An end-entity certificate for a PKCS#10 request (DER): subject, key, SANs, EKUs and key usage come from the
    /// request, whose signature must verify; other requested extensions are ignored.
    public static func issue(
        csr: [UInt8], issuer: CertificateIssuer, validityInMonths: Int, now: Date = Date(), serialNumber: [UInt8]? = nil
    ) async throws -> [UInt8] {
        let request: CertificateSigningRequest
        let requested: RequestedExtensions
        do {
            request = try CertificateSigningRequest(derEncoded: csr)
            requested = try RequestedExtensions(request.attributes.extensionRequest?.extensions ?? Certificate.Extensions())
        } catch {
            throw CertificateFailure(.invalidCertificateSigningRequest, "The certificate signing request cannot be read: \(error)")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw CertificateFailure(.invalidCertificateSigningRequest, "The certificate signing request's signature does not verify.")
        }
        let spec = CertificatePolicySpec(subject: "", validityInMonths: validityInMonths)
        return try await build(
            subject: request.subject, publicKey: request.publicKey, requested: requested, validity: try spec.validity(from: now),
            serialNumber: serialNumber, role: .endEntity, issuer: try signingParts(of: issuer, at: now))
    }

    /// Standard base64 of the DER request, as Key Vault's `csr` field carries it.
    public static func csrBase64(_ der: [UInt8]) -> String { Base64.standardEncoded(der) }

    /// The request as a `CERTIFICATE REQUEST` PEM block.
    public static func csrPEM(_ der: [UInt8]) -> String { PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString }

    /// A random positive serial number of exactly 16 bytes.
    public static func randomSerialNumber() -> [UInt8] {
        var bytes = SecureRandom.bytes(16)
        bytes[0] = bytes[0] & 0x7f | 0x40
        return bytes
    }

    // MARK: - Assembly

    private enum Role {
        case endEntity
        case authority(maxPathLength: Int?)
    }

    private typealias Signing = (name: DistinguishedName, signer: VaultHeldPrivateKey, certificate: Certificate?)

    private static func signingParts(of issuer: CertificateIssuer, at now: Date) throws -> Signing {
        guard issuer.certificate.notValidBefore <= now, now < issuer.certificate.notValidAfter else {
            throw CertificateFailure(.invalidValidity, "The issuer certificate is not valid at \(now).")
        }
        return (issuer.certificate.subject, issuer.signer, issuer.certificate)
    }

    private static func build(
        subject: DistinguishedName, publicKey: Certificate.PublicKey, requested: RequestedExtensions,
        validity: (notBefore: Date, notAfter: Date), serialNumber: [UInt8]?, role: Role, issuer: Signing
    ) async throws -> [UInt8] {
        let serial = serialNumber ?? randomSerialNumber()
        guard (1...20).contains(serial.count), serial.contains(where: { $0 != 0 }) else {
            throw CertificateFailure(.invalidCertificate, "A serial number must be 1 to 20 bytes and not zero.")
        }
        // A certificate never outlives the one that issued it.
        let notAfter = min(validity.notAfter, issuer.certificate?.notValidAfter ?? validity.notAfter)
        let subjectKeyIdentifier = SubjectKeyIdentifier(hash: publicKey)
        let authorityKeyIdentifier =
            try issuer.certificate.map { try $0.extensions.subjectKeyIdentifier ?? SubjectKeyIdentifier(hash: $0.publicKey) }
            ?? subjectKeyIdentifier
        var extensions = try requested.extensions(subjectIsEmpty: subject.isEmpty)
        switch role {
        case .endEntity:
            try extensions.append(Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
        case .authority(let maxPathLength):
            try extensions.append(
                Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: maxPathLength), critical: true))
        }
        try extensions.append(Certificate.Extension(subjectKeyIdentifier, critical: false))
        try extensions.append(
            Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier.keyIdentifier), critical: false))
        let certificate = try await signing {
            try await Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: publicKey,
                notValidBefore: validity.notBefore, notValidAfter: notAfter, issuer: issuer.name, subject: subject,
                signatureAlgorithm: issuer.signer.defaultSignatureAlgorithm, extensions: extensions,
                issuerAsyncPrivateKey: Certificate.PrivateKey(issuer.signer))
        }
        return try derEncoded(certificate)
    }

    /// Runs a swift-certificates build, passing our and the key engine's failures through and naming the others.
    private static func signing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as CertificateFailure {
            throw failure
        } catch let failure as KeyEngineFailure {
            throw failure.underlying
        } catch {
            throw CertificateFailure(.signingFailed, "The certificate could not be built: \(error)")
        }
    }
}

extension Certificate {
    /// Reads DER, mapping failures to ``CertificateFailure/Code/invalidCertificate``.
    init(checkedDER der: [UInt8]) throws {
        do {
            self = try Certificate(derEncoded: der)
        } catch {
            throw CertificateFailure(.invalidCertificate, "The certificate is not valid DER X.509: \(error)")
        }
    }
}
