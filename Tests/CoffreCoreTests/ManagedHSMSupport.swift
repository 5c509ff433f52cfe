import CoffreCertificates
import CoffreCrypto
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization

@testable import CoffreCore

/// The Managed HSM services over one in-memory storage (behind the record cache, as the server runs them), with a
/// manual clock and a fresh local CA.
struct PoolFixture {
    let storage: any StorageBackend = RecordCache(MemoryStorage())
    let clock = ManualClock(Int64(Date().timeIntervalSince1970))
    let authority: LocalCertificateAuthority
    let issuer: CertificateIssuer

    static let administrator = "0b0a0b0a-0000-4000-8000-00000000ad01"

    init() throws {
        authority = try LocalCertificateAuthority.generate()
        issuer = try CertificateIssuer(certificateDER: authority.certificateDER, key: SoftwareSigningKey(pkcs8DER: authority.privateKeyDER))
    }

    var directory: ManagedHSMDirectory { ManagedHSMDirectory(storage: storage, clock: clock) }
    var access: ManagedHSMAccessControl { ManagedHSMAccessControl(storage: storage, clock: clock) }
    var settings: ManagedHSMSettings { ManagedHSMSettings(storage: storage) }
    var securityDomain: ManagedHSMSecurityDomain { ManagedHSMSecurityDomain(storage: storage, clock: clock, issuer: issuer) }
    var attestation: ManagedHSMKeyAttestation { ManagedHSMKeyAttestation(storage: storage, clock: clock, issuer: issuer) }

    @discardableResult
    func pool(_ name: String, activated: Bool = false) async throws -> ManagedHSMPool {
        try await directory.create(
            try ManagedHSMName(name), settings: .init(tenantId: "tenant", administrators: [Self.administrator]), activated: activated)
    }
}

/// A customer's security-domain key: an RSA key pair and a self-signed certificate for it, as `openssl req -x509` makes.
struct DomainHolder: Sendable {
    let key: KeyMaterial
    let certificateDER: [UInt8]

    /// Three holders, made once (RSA key generation is slow in debug builds).
    static func three() async throws -> [DomainHolder] {
        if let made = made.withLock({ $0 }) { return made }
        var holders: [DomainHolder] = []
        for index in 0..<3 { holders.append(try await DomainHolder(index: index)) }
        return made.withLock { made in
            if made == nil { made = holders }
            return made ?? holders
        }
    }

    private static let made = Mutex<[DomainHolder]?>(nil)

    init(index: Int) async throws {
        key = try KeyMaterial.generate(.rsa, size: 2048)
        certificateDER = try await CertificateBuilder.makeSelfSigned(
            CertificatePolicySpec(subject: "CN=security domain holder \(index)"), key: SoftwareSigningKey(pkcs8DER: try key.pkcs8DER))
    }

    var thumbprint: [UInt8] { Digest.sha256(certificateDER) }

    /// As a download request names it: the public JWK, `x5c` and `x5t#S256`.
    var certificate: ManagedHSMSecurityDomain.Certificate {
        var jwk = key.publicJWK()
        jwk.keyOps = ["verify", "encrypt", "wrapKey"]
        return .init(jwk: jwk, x5c: [Base64.standardEncoded(certificateDER)], x5tS256: Base64.urlEncoded(thumbprint))
    }

    var holder: (certificateThumbprint: [UInt8], privateKey: KeyMaterial) { (thumbprint, key) }
}
