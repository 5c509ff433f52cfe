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

    func signForCertificate(_ message: [UInt8]) throws -> [UInt8] {
        switch material.curve {
        case nil: return try material.sign("RS256", digest: Digest.sha256(message))
        case .p256, .p256k: return Self.der(ecdsa: try material.sign(material.curve == .p256k ? "ES256K" : "ES256", digest: Digest.sha256(message)))
        case .p384: return Self.der(ecdsa: try material.sign("ES384", digest: Digest.sha384(message)))
        case .p521: return Self.der(ecdsa: try material.sign("ES512", digest: Digest.sha512(message)))
        }
    }

    /// Raw `R ‖ S` (JOSE) to DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (X.509).
    static func der(ecdsa raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty || value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02] + length(value.count) + value
        }
        func length(_ count: Int) -> [UInt8] {
            count < 0x80 ? [UInt8(count)] : count < 0x100 ? [0x81, UInt8(count)] : [0x82, UInt8(count >> 8), UInt8(count & 0xff)]
        }
        let half = raw.count / 2
        let body = integer(raw[..<half]) + integer(raw[half...])
        return [0x30] + length(body.count) + body
    }
}
