import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody

/// A vault key as the certificate library's signing key: certificates and CSRs are signed by the key's custody (in the
/// PKCS#11 module for a token key), the private key never leaving it.
struct VaultKeySigner: CertificateSigningKey {
    let key: CustodyKey
    let custody: any KeyCustody

    var subjectPublicKeyInfoDER: [UInt8] {
        get throws {
            guard let publicKey = key.publicKey else { throw CryptoFailure.unsupported("an oct key cannot sign certificates") }
            return try publicKey.subjectPublicKeyInfoDER
        }
    }

    var certificateSignatureAlgorithm: CertificateSignatureAlgorithm {
        switch key.curve {
        case .p384: .ecdsaWithSHA384
        case .p521: .ecdsaWithSHA512
        case .p256, .p256k: .ecdsaWithSHA256
        case nil: .sha256WithRSAEncryption
        }
    }

    func signForCertificate(_ message: [UInt8]) async throws -> [UInt8] {
        guard let curve = key.curve else { return try await custody.sign(key, algorithm: "RS256", digest: Digest.sha256(message)) }
        let raw: [UInt8] =
            switch curve {
            case .p256, .p256k: try await custody.sign(key, algorithm: curve == .p256k ? "ES256K" : "ES256", digest: Digest.sha256(message))
            case .p384: try await custody.sign(key, algorithm: "ES384", digest: Digest.sha384(message))
            case .p521: try await custody.sign(key, algorithm: "ES512", digest: Digest.sha512(message))
            }
        guard let der = ECDSASignatureEncoding.der(fromRaw: raw, coordinateByteCount: curve.coordinateByteCount) else {
            throw CryptoFailure.internal("the ECDSA signature has the wrong length")
        }
        return der
    }
}
