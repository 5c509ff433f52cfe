import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation

/// A pool's security domain: download (which makes the pool's root, seals it to the customer's certificates and
/// begins the activation), the transfer key, and upload (which opens a domain wrapped to that key and begins the
/// activation with the root it carries). Refusals are ``SecurityDomainFailure``s (or ``ManagedHSMError``s) thrown
/// before anything is written. Activations are completed by the job that follows them.
public struct ManagedHSMSecurityDomain: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let issuer: CertificateIssuer
    let random: any RandomSource

    /// `issuer` certifies the pools' transfer keys (Coffre's CA).
    public init(storage: any StorageBackend, clock: any WallClock, issuer: CertificateIssuer, random: any RandomSource = SystemRandomSource()) {
        self.storage = storage
        self.clock = clock
        self.issuer = issuer
        self.random = random
    }

    public static let certificateCount = 3...10

    /// A certificate of a download request as the client sends it: an RSA JWK (`n`, `e`) with its certificate
    /// (`x5c[0]`, standard base64 DER) and, optionally, the certificate's SHA-256 thumbprint (`x5t#S256`).
    public struct Certificate: Sendable {
        public var jwk: JsonWebKey
        public var x5c: [String]
        public var x5tS256: String?

        public init(jwk: JsonWebKey, x5c: [String], x5tS256: String?) {
            self.jwk = jwk
            self.x5c = x5c
            self.x5tS256 = x5tS256
        }
    }

    /// Makes the pool's root and returns it sealed to `certificates` (3–10) with quorum `required` (2…count); the
    /// pool's activation begins.
    public func download(certificates: [Certificate], required: Int, in pool: ManagedHSMName) async throws -> SecurityDomainFormat.Document {
        guard Self.certificateCount.contains(certificates.count) else {
            throw SecurityDomainFailure.invalidCertificates(
                "A security domain download needs \(Self.certificateCount.lowerBound) to \(Self.certificateCount.upperBound) "
                    + "certificates, got \(certificates.count).")
        }
        let recipients = try certificates.enumerated().map { try Self.recipient($1, index: $0) }
        guard Set(recipients.map(\.certificateThumbprint)).count == recipients.count else {
            throw SecurityDomainFailure.invalidCertificates("The certificates of a security domain download must be distinct.")
        }
        let root = SecurityDomainRoot.generate(random: random)
        let document = try SecurityDomainFormat.seal(root.items, to: recipients, required: required, random: random)
        try await directory.activation(.begin(.download), root: root, of: pool)
        return document
    }

    /// The public half of the pool's transfer key, as `GET /securitydomain/upload` answers it: an RSA JWK with `kid`,
    /// `alg` `RSA-OAEP-256`, `key_ops` and the certificate issued by Coffre's CA.
    public struct TransferKey: Sendable {
        public var jwk: JsonWebKey
        public var certificateDER: [UInt8]
        /// base64url SHA-256 of the certificate (`x5t#S256`).
        public var thumbprint: String
    }

    public func transferKey(of pool: ManagedHSMName) async throws -> TransferKey {
        let key = try await loadTransferKey(of: pool)
        var jwk = key.key.publicJWK()
        jwk.kid = "https://\(pool)/securitydomain/transferkey/\(Base64.urlEncoded(key.thumbprint))"
        jwk.keyOps = ["wrapKey", "encrypt"]
        return TransferKey(jwk: jwk, certificateDER: key.certificateDER, thumbprint: Base64.urlEncoded(key.thumbprint))
    }

    /// Opens a security domain wrapped to the pool's transfer key (`{"EncData", "WrappedKey"}` as JSON text) and begins
    /// the activation with the root it carries. Nothing is written unless every part opens.
    public func upload(_ json: String, to pool: ManagedHSMName) async throws {
        if try await directory.get(pool).activation.isActive { throw ManagedHSMError.alreadyActivated(pool.value) }
        let blob = try SecurityDomainFormat.parseRestoreBlob(json)
        guard let stored = try await storage.read(PoolCertifiedKey.self, at: ManagedHSMPaths.transferKey(pool)) else {
            throw SecurityDomainFailure.foreignTransferKey
        }
        let transferKey = try stored.opened()
        guard case .software(let material) = transferKey.key else { throw StorageError.corrupt("a pool's transfer key is not a software key") }
        let items = try SecurityDomainFormat.open(blob, transferKey: material, transferKeyThumbprint: transferKey.thumbprint)
        try await directory.activation(.begin(.upload), root: try SecurityDomainRoot(items: items), of: pool)
    }

    var directory: ManagedHSMDirectory { ManagedHSMDirectory(storage: storage, clock: clock) }

    func loadTransferKey(of pool: ManagedHSMName) async throws -> PoolCertifiedKey.Opened {
        try await PoolCertifiedKey.load(
            .transfer, of: pool, storage: storage, issuer: issuer, now: Date(timeIntervalSince1970: TimeInterval(clock.now)))
    }

    /// A holder of a share: the JWK's RSA key, which the certificate (`x5c[0]`) must certify; its thumbprint, which
    /// `x5t#S256` must match when given.
    static func recipient(_ certificate: Certificate, index: Int) throws -> SecurityDomainRecipient {
        func refuse(_ detail: String) -> SecurityDomainFailure { .invalidCertificates("Certificate \(index + 1): \(detail)") }
        guard certificate.jwk.keyType?.family == .rsa else { throw refuse("the key must be an RSA key.") }
        let publicKey: PublicKeyMaterial
        do {
            publicKey = try PublicKeyMaterial(jwk: certificate.jwk)
        } catch {
            throw refuse("the RSA key is not valid (\(error)).")
        }
        guard let encoded = certificate.x5c.first, let der = Base64.decode(encoded), let info = try? CertificateInfo(der: der) else {
            throw refuse("x5c must hold the key's X.509 certificate.")
        }
        guard info.hasPublicKey(try publicKey.subjectPublicKeyInfoDER) else { throw refuse("the certificate is not for the key n, e.") }
        let thumbprint = info.sha256Thumbprint
        if let given = certificate.x5tS256, Base64.decode(given) != thumbprint {
            throw refuse("x5t#S256 is not the SHA-256 thumbprint of the certificate.")
        }
        return SecurityDomainRecipient(publicKey: publicKey, certificateThumbprint: thumbprint)
    }
}
