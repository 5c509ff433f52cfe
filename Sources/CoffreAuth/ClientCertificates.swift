import CoffreCrypto
import CoffreDirectory
import CoffreModel
import Foundation
import SwiftASN1
import X509

extension ClientCertificate {
    /// Reads a certificate from PEM or DER; only its public part is kept.
    public init(parsing data: [UInt8], now: Int64) throws {
        let text = String(decoding: data, as: UTF8.self)
        let certificate: Certificate
        do {
            certificate = text.contains("-----BEGIN CERTIFICATE-----") ? try Certificate(pemEncoded: text) : try Certificate(derEncoded: data)
        } catch {
            throw CoffreError.badParameter("The certificate cannot be read: give a PEM or DER X.509 certificate.")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let der = serializer.serializedBytes
        _ = try VerificationKey(certificate: certificate)
        self.init(
            id: SecureRandom.uuid(), der: der, sha1Thumbprint: Hex.encode(Digest.sha1(der)), sha256Thumbprint: Hex.encode(Digest.sha256(der)),
            subject: certificate.subject.description, notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970), created: now)
    }

    var verificationKey: VerificationKey {
        get throws { try VerificationKey(certificate: try Certificate(derEncoded: der)) }
    }
}
