import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation

/// A key pair a pool holds for itself (its security-domain transfer key, its attestation key) with a certificate for
/// it issued by Coffre's certificate authority, so that a client can check the key is the pool's. Made on first use,
/// stored under the pool's administration records (sealed by the barrier like every record).
///
/// The attestation key is made in the custody like the pool's own keys: with a PKCS#11 module, an RSA-HSM key in the
/// token (object `coffre-attestation:{pool}`), so the statements that keys stay in the HSM are signed inside it; the
/// transfer key stays a software key (opening a security domain decrypts it in Coffre: `SecurityDomainFormat`).
struct PoolCertifiedKey: Codable, Sendable {
    /// The key's stored representation (``CustodyKey/storedRepresentation``), base64url.
    var material: String
    /// The certificate, DER in standard base64.
    var certificate: String

    enum Purpose: Sendable {
        case transfer
        case attestation

        var commonName: String {
            switch self {
            case .transfer: "Coffre Managed HSM security domain transfer key"
            case .attestation: "Coffre Managed HSM key attestation"
            }
        }

        func path(_ pool: ManagedHSMName) -> String {
            switch self {
            case .transfer: ManagedHSMPaths.transferKey(pool)
            case .attestation: ManagedHSMPaths.attestationKey(pool)
            }
        }

        var keyUsage: [KeyUsageName] {
            switch self {
            case .transfer: [.keyEncipherment]
            case .attestation: [.digitalSignature]
            }
        }
    }

    /// The key and its certificate's DER.
    struct Opened: Sendable {
        var key: CustodyKey
        var certificateDER: [UInt8]

        /// base64url SHA-256 of the certificate (`x5t#S256`, `x5t_256`).
        var thumbprint: [UInt8] { Digest.sha256(certificateDER) }
    }

    func opened() throws -> Opened {
        guard let stored = Base64.decode(material), let certificateDER = Base64.decode(certificate) else {
            throw StorageError.corrupt("a pool key cannot be read")
        }
        return Opened(key: try CustodyKey(storedRepresentation: stored), certificateDER: certificateDER)
    }

    /// The label of a pool's attestation key object in a token.
    static func attestationLabel(_ pool: ManagedHSMName) -> String { attestationLabelPrefix + pool.value }
    static let attestationLabelPrefix = "coffre-attestation:"

    /// The pool's key for `purpose`, made (the attestation key in `custody`) and certified by `issuer` the first time
    /// (one transaction, which keeps the first of two concurrent makers; the other's key is destroyed).
    static func load(
        _ purpose: Purpose, of pool: ManagedHSMName, storage: any StorageBackend, issuer: CertificateIssuer, now: Date,
        custody: RoutingCustody = RoutingCustody(hardware: nil)
    ) async throws -> Opened {
        let path = purpose.path(pool)
        if let existing = try await storage.read(PoolCertifiedKey.self, at: path) { return try existing.opened() }
        let key: CustodyKey =
            switch purpose {
            case .transfer: .software(try KeyMaterial.generate(.rsa, size: 2048))
            case .attestation:
                try await custody.generate(KeySpec(type: .rsaHSM, size: 2048), policy: KeyPolicy(), label: attestationLabel(pool))
            }
        do {
            guard let publicKey = key.publicKey else { throw StorageError.corrupt("a pool key has no public key") }
            let spec = CertificatePolicySpec(
                subject: "CN=\(purpose.commonName), OU=\(pool.value), O=Coffre", keyUsage: purpose.keyUsage, validityInMonths: 120)
            let certificateDER = try await CertificateBuilder.issue(
                spec, subjectPublicKeyInfo: try publicKey.subjectPublicKeyInfoDER, issuer: issuer, now: now)
            let made = PoolCertifiedKey(
                material: Base64.urlEncoded(key.storedRepresentation), certificate: Base64.standardEncoded(certificateDER))
            let kept = try await storage.transaction { transaction in
                try await ManagedHSMAccessControl.requirePool(pool, in: transaction)
                if let existing = try await transaction.read(PoolCertifiedKey.self, at: path) { return existing }
                try await transaction.write(made, at: path)
                return made
            }
            if kept.material != made.material { try? await custody.destroy(key) }
            return try kept.opened()
        } catch {
            try? await custody.destroy(key)
            throw error
        }
    }
}
