import CoffreCertificates
import CoffreCrypto

/// A vault key as the certificate library's signing key: certificates and CSRs are signed by the key engine, the
/// private key never leaving it.
struct VaultKeySigner: CertificateSigningKey {
    let material: KeyMaterial

    var subjectPublicKeyInfoDER: [UInt8] { get throws { try material.subjectPublicKeyInfoDER } }

    var certificateSignatureAlgorithm: CertificateSignatureAlgorithm {
        switch material.curve {
        case .p384: .ecdsaWithSHA384
        case .p521: .ecdsaWithSHA512
        case .p256, .p256k: .ecdsaWithSHA256
        case nil: .sha256WithRSAEncryption
        }
    }

    func signForCertificate(_ message: [UInt8]) async throws -> [UInt8] {
        guard let curve = material.curve else { return try material.sign("RS256", digest: Digest.sha256(message)) }
        let raw: [UInt8] =
            switch curve {
            case .p256, .p256k: try material.sign(curve == .p256k ? "ES256K" : "ES256", digest: Digest.sha256(message))
            case .p384: try material.sign("ES384", digest: Digest.sha384(message))
            case .p521: try material.sign("ES512", digest: Digest.sha512(message))
            }
        guard let der = ECDSASignatureEncoding.der(fromRaw: raw, coordinateByteCount: curve.coordinateByteCount) else {
            throw CryptoFailure.internal("the ECDSA signature has the wrong length")
        }
        return der
    }
}
