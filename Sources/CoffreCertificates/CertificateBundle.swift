import CoffreCrypto
import SwiftASN1

/// A private key and its certificate chain, as a certificate's secret holds them (PKCS#12 or PEM).
///
/// Reading puts the chain leaf first (unless asked to keep the order) and checks that a certificate is for the
/// key. The description never shows the key.
public struct CertificateBundle: Sendable, Equatable {
    /// PKCS#8 DER; `nil` for a certificate-only bundle (a policy with a non-exportable key).
    public var privateKeyPKCS8DER: [UInt8]?
    /// DER certificates, leaf first.
    public var certificates: [[UInt8]]

    public init(privateKeyPKCS8DER: [UInt8]?, certificates: [[UInt8]]) {
        self.privateKeyPKCS8DER = privateKeyPKCS8DER
        self.certificates = certificates
    }

    /// Reads a PKCS#12 (PFX) file. A wrong password throws ``CertificateFailure/Code/wrongPassword``.
    public init(pkcs12 data: [UInt8], password: String?, preservingOrder: Bool = false) throws {
        let contents = try PKCS12Codec.parse(data, password: password)
        try self.init(checking: contents.privateKey, contents.certificates, preservingOrder: preservingOrder)
    }

    /// Reads PEM text: certificates and at most one private key, as `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`
    /// (PKCS#1) or `EC PRIVATE KEY` (SEC 1); the key is converted to PKCS#8. Other blocks are ignored.
    public init(pem: String, preservingOrder: Bool = false) throws {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw CertificateFailure(.invalidPEM, "The PEM text cannot be read: \(error)")
        }
        var key: [UInt8]?
        var certificates: [[UInt8]] = []
        for document in documents {
            let pkcs8: [UInt8]
            switch document.discriminator {
            case "CERTIFICATE":
                certificates.append(document.derBytes)
                continue
            case "PRIVATE KEY": pkcs8 = document.derBytes
            case "RSA PRIVATE KEY": pkcs8 = PrivateKeyInfo.wrapping(pkcs1: document.derBytes)
            case "EC PRIVATE KEY":
                do {
                    pkcs8 = try PrivateKeyInfo.wrapping(sec1: document.derBytes)
                } catch let failure as CertificateFailure {
                    throw failure
                } catch {
                    throw CertificateFailure(.invalidPrivateKey, "The EC PRIVATE KEY block is not a SEC 1 key.")
                }
            case "ENCRYPTED PRIVATE KEY":
                throw CertificateFailure(.invalidPEM, "Encrypted PEM private keys are not supported; import a PKCS#12 file with a password instead.")
            default:
                continue
            }
            guard key == nil else { throw CertificateFailure(.invalidPEM, "The PEM text holds more than one private key.") }
            key = pkcs8
        }
        guard key != nil || !certificates.isEmpty else {
            throw CertificateFailure(.invalidPEM, "The PEM text holds no certificate and no private key.")
        }
        try self.init(checking: key, certificates, preservingOrder: preservingOrder)
    }

    /// Reads Key Vault's import `value`: PEM text, or standard base64 of a PKCS#12 file.
    public init(importValue value: String, password: String?, preservingOrder: Bool = false) throws {
        if value.contains("-----BEGIN") {
            try self.init(pem: value, preservingOrder: preservingOrder)
            return
        }
        guard let data = Base64.decode(value.filter { !$0.isWhitespace }), !data.isEmpty else {
            throw CertificateFailure(.invalidPKCS12, "The value is neither PEM text nor base64 of a PKCS#12 file.")
        }
        try self.init(pkcs12: data, password: password, preservingOrder: preservingOrder)
    }

    private init(checking key: [UInt8]?, _ certificates: [[UInt8]], preservingOrder: Bool) throws {
        let publicKey = try key.map { try OpenSSLContext().subjectPublicKeyInfo(ofPKCS8: $0) }
        if certificates.isEmpty {
            self.init(privateKeyPKCS8DER: key, certificates: [])
        } else {
            let ordered = try CertificateChain.orderedLeafFirst(certificates, leafPublicKey: publicKey)
            self.init(privateKeyPKCS8DER: key, certificates: preservingOrder ? certificates : ordered)
        }
    }

    /// The DER SubjectPublicKeyInfo of the private key, if there is one.
    public func privateKeySubjectPublicKeyInfo() throws -> [UInt8]? {
        try privateKeyPKCS8DER.map { try OpenSSLContext().subjectPublicKeyInfo(ofPKCS8: $0) }
    }

    /// A PKCS#12 file; with a `nil` or empty password nothing is encrypted (Key Vault's downloadable secret).
    public func pkcs12(password: String?) throws -> [UInt8] {
        try PKCS12Codec.make(privateKey: privateKeyPKCS8DER, certificates: certificates, password: password)
    }

    /// PEM text for `application/x-pem-file` secrets: the PKCS#8 key, then the certificates in order.
    public func pem() -> String {
        let key = privateKeyPKCS8DER.map { [PEMDocument(type: "PRIVATE KEY", derBytes: $0)] } ?? []
        let blocks = key + certificates.map { PEMDocument(type: "CERTIFICATE", derBytes: $0) }
        return blocks.map { $0.pemString + "\n" }.joined()
    }
}

extension CertificateBundle: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "CertificateBundle(privateKey: \(privateKeyPKCS8DER == nil ? "none" : "present"), certificates: \(certificates.count))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["privateKey": privateKeyPKCS8DER == nil ? "none" : "present", "certificates": certificates.count])
    }
}
