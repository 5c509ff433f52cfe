import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A private key held elsewhere (the vault's key engine), able to sign for X.509.
public protocol CertificateSigningKey: Sendable {
    /// DER SubjectPublicKeyInfo of the key.
    var subjectPublicKeyInfoDER: [UInt8] { get throws }
    /// The X.509 signature algorithm this key signs with (sha256WithRSAEncryption for RSA; ecdsa-with-SHA256/384/512
    /// for P-256/P-256K, P-384, P-521).
    var certificateSignatureAlgorithm: CertificateSignatureAlgorithm { get }
    /// Signs `message` (the bytes to be signed, not a digest) and returns the signature as X.509 carries it:
    /// PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value for EC. Asynchronous: the key may be in a hardware security module.
    ///
    /// Errors thrown here (and by `subjectPublicKeyInfoDER`) reach the caller of the builder unchanged.
    func signForCertificate(_ message: [UInt8]) async throws -> [UInt8]
}

/// A signature algorithm of X.509 certificates and requests: an open set of the six Key Vault signs with.
public struct CertificateSignatureAlgorithm: Hashable, Sendable, CustomStringConvertible {
    let x509: Certificate.SignatureAlgorithm

    public static let sha256WithRSAEncryption = Self(x509: .sha256WithRSAEncryption)
    public static let sha384WithRSAEncryption = Self(x509: .sha384WithRSAEncryption)
    public static let sha512WithRSAEncryption = Self(x509: .sha512WithRSAEncryption)
    public static let ecdsaWithSHA256 = Self(x509: .ecdsaWithSHA256)
    public static let ecdsaWithSHA384 = Self(x509: .ecdsaWithSHA384)
    public static let ecdsaWithSHA512 = Self(x509: .ecdsaWithSHA512)

    /// The algorithm Key Vault uses for an EC key on `curve` (`P-256`, `P-256K`, `P-384`, `P-521`).
    public static func ecdsa(curve: String) throws -> Self {
        switch curve {
        case "P-256", "P-256K": return .ecdsaWithSHA256
        case "P-384": return .ecdsaWithSHA384
        case "P-521": return .ecdsaWithSHA512
        default: throw CertificateFailure(.unsupportedKey, "The curve \(curve) cannot sign certificates.")
        }
    }

    public var description: String { x509.description }
}

/// A swift-crypto private key as a ``CertificateSigningKey``: for tests and for keys the library holds itself.
public struct SoftwareSigningKey: CertificateSigningKey {
    private enum Backing: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
    }

    private let backing: Backing

    public init(_ key: _RSA.Signing.PrivateKey) { backing = .rsa(key) }
    public init(_ key: P256.Signing.PrivateKey) { backing = .p256(key) }
    public init(_ key: P384.Signing.PrivateKey) { backing = .p384(key) }
    public init(_ key: P521.Signing.PrivateKey) { backing = .p521(key) }

    /// Reads an RSA or NIST-curve private key from PKCS#8 DER.
    public init(pkcs8DER: [UInt8]) throws {
        let failure = CertificateFailure(.invalidPrivateKey, "The private key is not an RSA or P-256/384/521 PKCS#8 key.")
        let algorithm: ASN1ObjectIdentifier
        do {
            algorithm = try PrivateKeyInfo(derEncoded: pkcs8DER).algorithm
        } catch {
            throw failure
        }
        do {
            switch algorithm {
            case .AlgorithmIdentifier.rsaEncryption: backing = .rsa(try _RSA.Signing.PrivateKey(derRepresentation: pkcs8DER))
            case .AlgorithmIdentifier.idEcPublicKey:
                if let key = try? P256.Signing.PrivateKey(derRepresentation: pkcs8DER) {
                    backing = .p256(key)
                } else if let key = try? P384.Signing.PrivateKey(derRepresentation: pkcs8DER) {
                    backing = .p384(key)
                } else {
                    backing = .p521(try P521.Signing.PrivateKey(derRepresentation: pkcs8DER))
                }
            default: throw failure
            }
        } catch {
            throw failure
        }
    }

    /// The key as PKCS#8 DER (for PKCS#12 and PEM output).
    public var pkcs8DER: [UInt8] {
        switch backing {
        case .rsa(let key): return PrivateKeyInfo.wrapping(pkcs1: Array(key.derRepresentation))
        case .p256(let key): return Array(key.derRepresentation)
        case .p384(let key): return Array(key.derRepresentation)
        case .p521(let key): return Array(key.derRepresentation)
        }
    }

    var certificatePublicKey: Certificate.PublicKey {
        switch backing {
        case .rsa(let key): return Certificate.PublicKey(key.publicKey)
        case .p256(let key): return Certificate.PublicKey(key.publicKey)
        case .p384(let key): return Certificate.PublicKey(key.publicKey)
        case .p521(let key): return Certificate.PublicKey(key.publicKey)
        }
    }

    public var subjectPublicKeyInfoDER: [UInt8] {
        get throws { try derEncoded(certificatePublicKey) }
    }

    public var certificateSignatureAlgorithm: CertificateSignatureAlgorithm {
        switch backing {
        case .rsa: return .sha256WithRSAEncryption
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .p521: return .ecdsaWithSHA512
        }
    }

    public func signForCertificate(_ message: [UInt8]) throws -> [UInt8] {
        switch backing {
        case .rsa(let key):
            return Array(try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
        case .p256(let key): return Array(try key.signature(for: SHA256.hash(data: message)).derRepresentation)
        case .p384(let key): return Array(try key.signature(for: SHA384.hash(data: message)).derRepresentation)
        case .p521(let key): return Array(try key.signature(for: SHA512.hash(data: message)).derRepresentation)
        }
    }
}

// MARK: - Bridge to swift-certificates

/// Lets swift-certificates sign TBS certificates and requests with a key it cannot see.
///
/// The public key and the algorithm are read once; every signature is checked against the public key before it is
/// used, so a key engine that answers with the wrong key fails here rather than producing a broken certificate.
struct VaultHeldPrivateKey: CustomPrivateKey {
    let key: any CertificateSigningKey
    let publicKey: Certificate.PublicKey
    let defaultSignatureAlgorithm: Certificate.SignatureAlgorithm

    init(_ key: any CertificateSigningKey) throws {
        self.key = key
        self.publicKey = try Certificate.PublicKey(subjectPublicKeyInfo: try key.subjectPublicKeyInfoDER)
        self.defaultSignatureAlgorithm = key.certificateSignatureAlgorithm.x509
        try Self.check(defaultSignatureAlgorithm, fits: publicKey)
    }

    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [defaultSignatureAlgorithm] }

    /// The key may be anywhere (a hardware security module): signing is asynchronous only.
    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws
        -> Certificate.Signature
    {
        throw CertificateFailure(.signingFailed, "A vault-held key signs asynchronously.")
    }

    func signAsynchronously(bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm) async throws
        -> Certificate.Signature
    {
        guard signatureAlgorithm == defaultSignatureAlgorithm else {
            throw CertificateFailure(.unsupportedKey, "The key signs with \(defaultSignatureAlgorithm), not \(signatureAlgorithm).")
        }
        let message = Array(bytes)
        let raw: [UInt8]
        do {
            raw = try await key.signForCertificate(message)
        } catch {
            throw KeyEngineFailure(underlying: error)
        }
        guard publicKey.isValidSignature(raw, for: message, signatureAlgorithm: signatureAlgorithm),
            let signature = try? Certificate.Signature(signatureAlgorithm: signatureAlgorithm, signatureBytes: ASN1BitString(bytes: raw[...]))
        else {
            throw CertificateFailure(.signingFailed, "The signing key returned a signature its public key does not verify.")
        }
        return signature
    }

    /// RSA keys sign with the RSA algorithms, EC keys with ECDSA: a mismatch would make an unverifiable certificate.
    private static func check(_ algorithm: Certificate.SignatureAlgorithm, fits publicKey: Certificate.PublicKey) throws {
        let isRSAKey = _RSA.Signing.PublicKey(publicKey) != nil
        let isRSAAlgorithm = [.sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption].contains(algorithm)
        guard isRSAKey == isRSAAlgorithm else {
            throw CertificateFailure(.unsupportedKey, "A \(publicKey) key cannot sign with \(algorithm).")
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.publicKey == rhs.publicKey && lhs.defaultSignatureAlgorithm == rhs.defaultSignatureAlgorithm
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(publicKey)
        hasher.combine(defaultSignatureAlgorithm)
    }

    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }

    /// The key never leaves the key engine, so it cannot be serialized.
    func serialize(into coder: inout DER.Serializer) throws {
        throw CertificateFailure(.unsupportedKey, "A key held by the key engine cannot be serialized.")
    }
}

/// Carries the key engine's own error through swift-certificates, to be rethrown as it was.
struct KeyEngineFailure: Error {
    let underlying: any Error
}

extension Certificate.PublicKey {
    /// Reads a DER SubjectPublicKeyInfo, mapping failures to ``CertificateFailure``.
    init(subjectPublicKeyInfo der: [UInt8]) throws {
        do {
            self = try Certificate.PublicKey(derEncoded: der)
        } catch {
            throw CertificateFailure(
                .unsupportedKey,
                "The public key is not an RSA or P-256/P-384/P-521 SubjectPublicKeyInfo (P-256K and other curves cannot be used in X.509 here)."
            )
        }
    }
}
