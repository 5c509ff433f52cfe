/// An error thrown by the certificate library.
///
/// Callers branch on ``code``; ``message`` is a sentence fit for a Key Vault error envelope. Equality and hashing
/// consider only the code, so tests can compare against `CertificateFailure.wrongPassword()`.
/// Messages never contain key material, passwords or whole inputs.
public struct CertificateFailure: Error, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is; an open set, new codes are not breaking.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: String, Hashable, Sendable {
            case invalidSubject
            case invalidSubjectAlternativeName
            case invalidExtendedKeyUsage
            case invalidKeyUsage
            case invalidValidity
            case unsupportedKey
            case signingFailed
            case invalidCertificate
            case invalidCertificateSigningRequest
            case publicKeyMismatch
            case issuerNotCertificateAuthority
            case invalidPrivateKey
            case invalidPEM
            case invalidPKCS12
            case wrongPassword
            case cryptoLibrary
        }

        fileprivate var backing: Backing

        /// The subject string does not follow the distinguished-name syntax.
        public static let invalidSubject = Code(backing: .invalidSubject)
        /// A DNS name, email, UPN, URI or IP address of the SANs is not valid.
        public static let invalidSubjectAlternativeName = Code(backing: .invalidSubjectAlternativeName)
        /// An extended key usage is not a dotted OID.
        public static let invalidExtendedKeyUsage = Code(backing: .invalidExtendedKeyUsage)
        /// A key usage name is not one of Key Vault's nine names.
        public static let invalidKeyUsage = Code(backing: .invalidKeyUsage)
        /// The validity (months or dates) cannot make a certificate.
        public static let invalidValidity = Code(backing: .invalidValidity)
        /// The key type or signature algorithm cannot be used for X.509 here.
        public static let unsupportedKey = Code(backing: .unsupportedKey)
        /// The signing key failed, or produced a signature its public key does not verify.
        public static let signingFailed = Code(backing: .signingFailed)
        /// A certificate (DER, PEM, base64) could not be read.
        public static let invalidCertificate = Code(backing: .invalidCertificate)
        /// A PKCS#10 request could not be read or its signature does not verify.
        public static let invalidCertificateSigningRequest = Code(backing: .invalidCertificateSigningRequest)
        /// A certificate's public key is not the expected one (merge, import, issuer).
        public static let publicKeyMismatch = Code(backing: .publicKeyMismatch)
        /// An issuing certificate is not a certificate authority.
        public static let issuerNotCertificateAuthority = Code(backing: .issuerNotCertificateAuthority)
        /// A private key could not be read or converted.
        public static let invalidPrivateKey = Code(backing: .invalidPrivateKey)
        /// A PEM bundle has no usable content or an unsupported block.
        public static let invalidPEM = Code(backing: .invalidPEM)
        /// A PKCS#12 (PFX) file is malformed or cannot be built.
        public static let invalidPKCS12 = Code(backing: .invalidPKCS12)
        /// A PKCS#12 password does not open the file (or the file is damaged).
        public static let wrongPassword = Code(backing: .wrongPassword)
        /// The system crypto library failed for a reason that is not the input's fault.
        public static let cryptoLibrary = Code(backing: .cryptoLibrary)

        public var description: String { backing.rawValue }
    }

    public let code: Code
    /// A sentence for humans, without source location.
    public let message: String
    private let file: String
    private let line: UInt

    public init(_ code: Code, _ message: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { "CertificateFailure.\(code): \(message)" }
    public var debugDescription: String { "CertificateFailure.\(code): \(message) \(file):\(line)" }

    public static func == (lhs: CertificateFailure, rhs: CertificateFailure) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

extension CertificateFailure {
    @inline(never)
    static func wrongPassword(file: String = #fileID, line: UInt = #line) -> CertificateFailure {
        CertificateFailure(
            .wrongPassword, "The PKCS#12 (PFX) password is wrong or the file is damaged.", file: file, line: line)
    }
}
