import CoffreCertificates
import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation

/// A certificate's policy: how its key, secret and X.509 certificate are made, who issues it, and what happens as it
/// ages. One per certificate (all versions share it). Optional fields mean "the default" (see `resolved`).
public struct CertificatePolicy: Codable, Sendable, Equatable {
    public struct SubjectAlternativeNames: Codable, Sendable, Equatable {
        public var emails: [String]?
        public var dnsNames: [String]?
        public var upns: [String]?
        public var uris: [String]?
        public var ipAddresses: [String]?

        public init(emails: [String]? = nil, dnsNames: [String]? = nil, upns: [String]? = nil, uris: [String]? = nil, ipAddresses: [String]? = nil) {
            self.emails = emails
            self.dnsNames = dnsNames
            self.upns = upns
            self.uris = uris
            self.ipAddresses = ipAddresses
        }
    }

    public struct LifetimeAction: Codable, Sendable, Equatable {
        public var lifetimePercentage: Int?
        public var daysBeforeExpiry: Int?
        /// `EmailContacts` or `AutoRenew`.
        public var action: String

        public init(lifetimePercentage: Int? = nil, daysBeforeExpiry: Int? = nil, action: String) {
            self.lifetimePercentage = lifetimePercentage
            self.daysBeforeExpiry = daysBeforeExpiry
            self.action = action
        }
    }

    /// `platformManaged` (api-version 2026-04-01): the platform issues and manages the certificate. Coffre's own CA
    /// (the one that signs the server's TLS certificate) issues it, whatever the issuer.
    public struct PlatformManaged: Codable, Sendable, Equatable {
        public var certificateUsage: String
        /// JSON of no fixed schema, kept and returned with its names as sent.
        public var metadata: JSONValue?

        public init(certificateUsage: String, metadata: JSONValue? = nil) {
            self.certificateUsage = certificateUsage
            self.metadata = metadata
        }
    }

    /// The issuer name of a platform-managed policy that names none.
    public static let platformIssuer = "Coffre"

    // key_props
    public var exportable: Bool?
    public var keyType: String?
    public var keySize: Int?
    public var reuseKey: Bool?
    public var curve: String?
    // secret_props
    public var contentType: String?
    // x509_props
    public var subject: String?
    public var subjectAlternativeNames: SubjectAlternativeNames?
    public var extendedKeyUsages: [String]?
    public var keyUsage: [String]?
    public var validityInMonths: Int?
    // lifetime actions and issuer
    public var lifetimeActions: [LifetimeAction]?
    public var issuerName: String?
    public var certificateType: String?
    public var certificateTransparency: Bool?
    public var platformManaged: PlatformManaged?
    // attributes
    public var enabled: Bool?
    public var created: Int64?
    public var updated: Int64?

    public init() {}

    public static let pkcs12 = "application/x-pkcs12"
    public static let pem = "application/x-pem-file"
    static let defaultExtendedKeyUsages = ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    static let defaultKeyUsage = ["digitalSignature", "keyEncipherment"]

    /// Every field given in `changes` replaces this policy's (PATCH: "set specified members, leave others").
    public func merged(with changes: CertificatePolicy) -> CertificatePolicy {
        var result = self
        func take<T>(_ path: WritableKeyPath<CertificatePolicy, T?>) {
            if let value = changes[keyPath: path] { result[keyPath: path] = value }
        }
        take(\.exportable)
        take(\.keyType)
        take(\.keySize)
        take(\.reuseKey)
        take(\.curve)
        take(\.contentType)
        take(\.subject)
        take(\.subjectAlternativeNames)
        take(\.extendedKeyUsages)
        take(\.keyUsage)
        take(\.validityInMonths)
        take(\.lifetimeActions)
        take(\.issuerName)
        take(\.certificateType)
        take(\.certificateTransparency)
        take(\.platformManaged)
        take(\.enabled)
        return result
    }

    /// The policy with every default filled in and checked: what a new certificate is made from.
    public func resolved() throws -> CertificatePolicy {
        var policy = self
        policy.exportable = exportable ?? true
        policy.keyType = keyType ?? (curve != nil ? "EC" : "RSA")
        guard let type = KeyType(rawValue: policy.keyType ?? "RSA"), type.family != .oct else {
            throw CoffreError.badParameter("The certificate key type must be RSA, RSA-HSM, EC or EC-HSM, not \(policy.keyType ?? "").")
        }
        if type.family == .rsa {
            policy.keySize = keySize ?? 2048
            guard RSALimits.generatedBits.contains(policy.keySize ?? 0) else {
                throw CoffreError.badParameter("RSA certificate keys can be \(RSALimits.generatedBitsText) bits.")
            }
        } else {
            policy.curve = curve ?? "P-256"
            guard let curve = CurveName(rawValue: policy.curve ?? ""), curve != .p256k else {
                throw CoffreError.badParameter("EC certificate keys use the curves P-256, P-384 or P-521.")
            }
        }
        policy.reuseKey = reuseKey ?? false
        policy.contentType = contentType ?? Self.pkcs12
        guard policy.contentType == Self.pkcs12 || policy.contentType == Self.pem else {
            throw CoffreError.badParameter("The secret content type must be application/x-pkcs12 or application/x-pem-file.")
        }
        policy.validityInMonths = validityInMonths ?? 12
        guard let months = policy.validityInMonths, (1...1200).contains(months) else {
            throw CoffreError.badParameter("validity_months must be between 1 and 1200.")
        }
        policy.keyUsage = keyUsage.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultKeyUsage
        policy.extendedKeyUsages = extendedKeyUsages ?? Self.defaultExtendedKeyUsages
        if let platformManaged, platformManaged.certificateUsage.isEmpty {
            throw CoffreError.badParameter("A platform-managed policy needs a certificateUsage.")
        }
        policy.issuerName = issuerName ?? (platformManaged == nil ? "Unknown" : Self.platformIssuer)
        let self_ = policy.issuerName?.lowercased() != "unknown"
        policy.lifetimeActions = lifetimeActions ?? [LifetimeAction(lifetimePercentage: 80, action: self_ ? "AutoRenew" : "EmailContacts")]
        for action in policy.lifetimeActions ?? [] {
            guard ["emailcontacts", "autorenew"].contains(action.action.lowercased()) else {
                throw CoffreError.badParameter("Lifetime action '\(action.action)' is not valid: use EmailContacts or AutoRenew.")
            }
            guard (action.lifetimePercentage == nil) != (action.daysBeforeExpiry == nil) else {
                throw CoffreError.badParameter("Each lifetime action needs exactly one trigger: lifetime_percentage or days_before_expiry.")
            }
            if let percentage = action.lifetimePercentage, !(1...99).contains(percentage) {
                throw CoffreError.badParameter("lifetime_percentage must be between 1 and 99.")
            }
            if let days = action.daysBeforeExpiry, !(1...(months * 27)).contains(days) {
                throw CoffreError.badParameter("days_before_expiry must be between 1 and \(months * 27) for this validity.")
            }
        }
        policy.enabled = enabled ?? true
        if (policy.subject ?? "").isEmpty && (subjectAlternativeNames.map { spec(sans: $0).isEmpty } ?? true) {
            throw CoffreError.badParameter("The certificate policy needs a subject or subject alternative names.")
        }
        do {
            try policy.x509Spec.validate()
        } catch let failure as CertificateFailure {
            throw CoffreError.badParameter(failure.message)
        }
        return policy
    }

    /// The X.509 part, for the certificate library.
    public var x509Spec: CertificatePolicySpec {
        get throws {
            let usages: [KeyUsageName]
            do {
                usages = try KeyUsageName.parse(keyUsage ?? [])
            } catch let failure as CertificateFailure {
                throw CoffreError.badParameter(failure.message)
            }
            return CertificatePolicySpec(
                subject: subject ?? "", subjectAlternativeNames: subjectAlternativeNames.map(spec(sans:)) ?? .init(),
                extendedKeyUsages: extendedKeyUsages ?? [], keyUsage: usages, validityInMonths: validityInMonths ?? 12)
        }
    }

    private func spec(sans: SubjectAlternativeNames) -> SubjectAlternativeNamesSpec {
        SubjectAlternativeNamesSpec(
            emails: sans.emails ?? [], dnsNames: sans.dnsNames ?? [], userPrincipalNames: sans.upns ?? [], uris: sans.uris ?? [],
            ipAddresses: sans.ipAddresses ?? [])
    }

    /// The key's `key_ops`, from the key usage (Key Vault's table).
    public var keyOperations: [String] {
        var operations: [String] = []
        func add(_ names: String...) { for name in names where !operations.contains(name) { operations.append(name) } }
        for usage in (keyUsage ?? Self.defaultKeyUsage).map({ $0.lowercased() }) {
            switch usage {
            case "digitalsignature", "nonrepudiation", "keycertsign", "crlsign": add("sign", "verify")
            case "keyencipherment": add("wrapKey", "unwrapKey")
            case "dataencipherment": add("encrypt", "decrypt")
            case "encipheronly": add("encrypt")
            case "decipheronly": add("decrypt")
            default: break
            }
        }
        return operations
    }

    /// The policy an imported certificate gets: its X.509 facts, its key's type, and the given policy's choices.
    static func forImport(_ info: CertificateInfo, material: KeyMaterial?, given: CertificatePolicy?, contentType: String) -> CertificatePolicy {
        let spec = info.policySpec
        var policy = CertificatePolicy()
        policy.subject = spec.subject
        let sans = spec.subjectAlternativeNames
        if !sans.isEmpty {
            policy.subjectAlternativeNames = SubjectAlternativeNames(
                emails: sans.emails.nilIfEmpty, dnsNames: sans.dnsNames.nilIfEmpty, upns: sans.userPrincipalNames.nilIfEmpty,
                uris: sans.uris.nilIfEmpty, ipAddresses: sans.ipAddresses.nilIfEmpty)
        }
        policy.extendedKeyUsages = spec.extendedKeyUsages
        policy.keyUsage = spec.keyUsage.map(\.rawValue)
        let months = Calendar(identifier: .gregorian).dateComponents([.month], from: info.notBefore, to: info.notAfter).month ?? 12
        policy.validityInMonths = max(1, months)
        policy.keyType = material.map { $0.keyType.family == .rsa ? "RSA" : "EC" }
        policy.keySize = material?.keyType.family == .rsa ? material?.sizeInBits : nil
        policy.curve = material?.curve?.rawValue
        policy.exportable = true
        policy.reuseKey = false
        policy.contentType = contentType
        policy.issuerName = "Unknown"
        policy.lifetimeActions = [LifetimeAction(lifetimePercentage: 80, action: "EmailContacts")]
        policy.enabled = true
        return given.map { policy.merged(with: $0) } ?? policy
    }
}

extension Array {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}

/// One version of a certificate: the DER certificate (and its chain), with the same version id as its key and secret.
public struct CertificateVersion: Codable, Sendable {
    public var version: String
    /// base64 DER of the certificate, then of the rest of its chain.
    public var cer: String
    public var chain: [String]
    public var x5t: String
    public var attributes: ObjectAttributes
    public var tags: [String: String]?
    public var contentType: String
    public var preserveCertOrder: Bool?
}

extension CertificateVersion: VersionedRecord {
    public struct Summary: Codable, Sendable {
        public var attributes: ObjectAttributes
        public var tags: [String: String]?
        public var x5t: String
    }

    public var summary: Summary { Summary(attributes: attributes, tags: tags, x5t: x5t) }
}
