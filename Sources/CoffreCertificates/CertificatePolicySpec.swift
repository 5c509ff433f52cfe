import Foundation
import SwiftASN1
import X509

/// Key Vault's key usage names (`x509_props.key_usage`), in RFC 5280 bit order.
public enum KeyUsageName: String, CaseIterable, Hashable, Sendable {
    case digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign
    case encipherOnly, decipherOnly

    /// Reads wire names (any case); an unknown name is a ``CertificateFailure/Code/invalidKeyUsage``.
    public static func parse(_ names: [String]) throws -> [KeyUsageName] {
        try names.map { name in
            guard let usage = allCases.first(where: { $0.rawValue.caseInsensitiveCompare(name) == .orderedSame }) else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                throw CertificateFailure(.invalidKeyUsage, "\"\(name)\" is not a key usage; use one of \(known).")
            }
            return usage
        }
    }
}

/// The subject alternative names of a policy, grouped as Key Vault's `x509_props.sans`.
public struct SubjectAlternativeNamesSpec: Hashable, Sendable {
    public var emails: [String]
    public var dnsNames: [String]
    /// User principal names: otherName 1.3.6.1.4.1.311.20.2.3 holding a UTF8String.
    public var userPrincipalNames: [String]
    public var uris: [String]
    public var ipAddresses: [String]

    public init(
        emails: [String] = [], dnsNames: [String] = [], userPrincipalNames: [String] = [], uris: [String] = [],
        ipAddresses: [String] = []
    ) {
        self.emails = emails
        self.dnsNames = dnsNames
        self.userPrincipalNames = userPrincipalNames
        self.uris = uris
        self.ipAddresses = ipAddresses
    }

    public var isEmpty: Bool {
        emails.isEmpty && dnsNames.isEmpty && userPrincipalNames.isEmpty && uris.isEmpty && ipAddresses.isEmpty
    }
}

/// What a certificate policy asks of X.509: the parts of `x509_props` the library builds certificates from.
public struct CertificatePolicySpec: Hashable, Sendable {
    /// The subject in Key Vault's syntax (`CN=www.example.com, O=Contoso`); may be empty when there are SANs.
    public var subject: String
    public var subjectAlternativeNames: SubjectAlternativeNamesSpec
    /// Dotted OIDs (`1.3.6.1.5.5.7.3.1`); empty means no extended key usage extension.
    public var extendedKeyUsages: [String]
    /// Empty means no key usage extension (the policy layer fills Key Vault's defaults).
    public var keyUsage: [KeyUsageName]
    public var validityInMonths: Int

    public init(
        subject: String, subjectAlternativeNames: SubjectAlternativeNamesSpec = .init(), extendedKeyUsages: [String] = [],
        keyUsage: [KeyUsageName] = [], validityInMonths: Int = 12
    ) {
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.extendedKeyUsages = extendedKeyUsages
        self.keyUsage = keyUsage
        self.validityInMonths = validityInMonths
    }

    /// Checks every part, throwing the first ``CertificateFailure`` a build would meet (for policy validation).
    public func validate() throws {
        _ = try requestedExtensions()
        _ = try validity(from: Date(timeIntervalSince1970: 0))
    }

    /// Issued certificates start this long before the request, so that clocks a little behind accept them.
    static let backdating: TimeInterval = 300
    /// A hundred years: beyond this a month count is a mistake, not a policy.
    static let maximumValidityInMonths = 1200

    func distinguishedName() throws -> DistinguishedName {
        if subject.allSatisfy(\.isWhitespace) {
            guard !subjectAlternativeNames.isEmpty else {
                throw CertificateFailure(.invalidSubject, "A certificate needs a subject or at least one subject alternative name.")
            }
            return DistinguishedName()
        }
        return try DistinguishedName(keyVaultSubject: subject)
    }

    func validity(from now: Date) throws -> (notBefore: Date, notAfter: Date) {
        guard (1...Self.maximumValidityInMonths).contains(validityInMonths) else {
            throw CertificateFailure(
                .invalidValidity, "The validity must be between 1 and \(Self.maximumValidityInMonths) months, not \(validityInMonths).")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard let notAfter = calendar.date(byAdding: .month, value: validityInMonths, to: now) else {
            throw CertificateFailure(.invalidValidity, "The validity of \(validityInMonths) months cannot be computed.")
        }
        return (now.addingTimeInterval(-Self.backdating), notAfter)
    }

    func requestedExtensions() throws -> RequestedExtensions {
        _ = try distinguishedName()
        return RequestedExtensions(
            subjectAlternativeNames: try subjectAlternativeNames.generalNames(),
            extendedKeyUsages: try Self.extendedKeyUsage(extendedKeyUsages),
            keyUsage: keyUsage.isEmpty ? nil : KeyUsage(keyUsage))
    }

    private static func extendedKeyUsage(_ oids: [String]) throws -> ExtendedKeyUsage? {
        guard !oids.isEmpty else { return nil }
        var usages: [ExtendedKeyUsage.Usage] = []
        for text in oids {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard trimmed.first?.isNumber == true, let oid = try? ASN1ObjectIdentifier(dotRepresentation: trimmed) else {
                throw CertificateFailure(.invalidExtendedKeyUsage, "\"\(text)\" is not an OID like 1.3.6.1.5.5.7.3.1.")
            }
            let usage = ExtendedKeyUsage.Usage(oid: oid)
            if !usages.contains(usage) { usages.append(usage) }
        }
        do {
            return try ExtendedKeyUsage(usages)
        } catch {
            throw CertificateFailure(.invalidExtendedKeyUsage, "A certificate holds at most 32 extended key usages.")
        }
    }
}

/// The extensions a requester chooses (from a policy or from a CSR); the issuer adds the rest.
struct RequestedExtensions {
    var subjectAlternativeNames: SubjectAlternativeNames?
    var extendedKeyUsages: ExtendedKeyUsage?
    var keyUsage: KeyUsage?

    /// Reads SANs, EKUs and key usage from a request's extensions, ignoring the others.
    init(_ extensions: Certificate.Extensions) throws {
        subjectAlternativeNames = try extensions.subjectAlternativeNames
        extendedKeyUsages = try extensions.extendedKeyUsage
        keyUsage = try extensions.keyUsage
    }

    init(subjectAlternativeNames: SubjectAlternativeNames?, extendedKeyUsages: ExtendedKeyUsage?, keyUsage: KeyUsage?) {
        self.subjectAlternativeNames = subjectAlternativeNames
        self.extendedKeyUsages = extendedKeyUsages
        self.keyUsage = keyUsage
    }

    /// As a CSR's extension request: the SANs are critical when the subject is empty (RFC 5280 §4.2.1.6).
    func extensions(subjectIsEmpty: Bool) throws -> Certificate.Extensions {
        var extensions = Certificate.Extensions()
        if let keyUsage { try extensions.append(Certificate.Extension(keyUsage, critical: true)) }
        if let extendedKeyUsages { try extensions.append(Certificate.Extension(extendedKeyUsages, critical: false)) }
        if let subjectAlternativeNames {
            try extensions.append(Certificate.Extension(subjectAlternativeNames, critical: subjectIsEmpty))
        }
        return extensions
    }
}

extension KeyUsage {
    init(_ names: [KeyUsageName]) {
        let set = Set(names)
        self.init(
            digitalSignature: set.contains(.digitalSignature), nonRepudiation: set.contains(.nonRepudiation),
            keyEncipherment: set.contains(.keyEncipherment), dataEncipherment: set.contains(.dataEncipherment),
            keyAgreement: set.contains(.keyAgreement), keyCertSign: set.contains(.keyCertSign), cRLSign: set.contains(.cRLSign),
            encipherOnly: set.contains(.encipherOnly), decipherOnly: set.contains(.decipherOnly))
    }

    var names: [KeyUsageName] {
        let flags: [(Bool, KeyUsageName)] = [
            (digitalSignature, .digitalSignature), (nonRepudiation, .nonRepudiation), (keyEncipherment, .keyEncipherment),
            (dataEncipherment, .dataEncipherment), (keyAgreement, .keyAgreement), (keyCertSign, .keyCertSign),
            (cRLSign, .cRLSign), (encipherOnly, .encipherOnly), (decipherOnly, .decipherOnly),
        ]
        return flags.filter(\.0).map(\.1)
    }
}

// MARK: - Subject alternative names

extension ASN1ObjectIdentifier {
    /// Microsoft's user principal name, an otherName form (`szOID_NT_PRINCIPAL_NAME`).
    static let userPrincipalName: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3]
}

extension SubjectAlternativeNamesSpec {
    /// The names as GeneralNames, each checked; `nil` when there are none.
    func generalNames() throws -> SubjectAlternativeNames? {
        var names: [GeneralName] = []
        for name in dnsNames {
            guard Self.isDNSName(name) else { throw invalid("DNS name", name) }
            names.append(.dnsName(name))
        }
        for email in emails {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard email.allSatisfy(Self.isVisibleASCII), parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw invalid("email address", email)
            }
            names.append(.rfc822Name(email))
        }
        for upn in userPrincipalNames {
            guard !upn.isEmpty, upn.contains("@") else { throw invalid("user principal name", upn) }
            names.append(.otherName(.init(typeID: .userPrincipalName, value: try ASN1Any(erasing: ASN1UTF8String(upn)))))
        }
        for uri in uris {
            guard uri.allSatisfy(Self.isVisibleASCII), let scheme = URLComponents(string: uri)?.scheme, !scheme.isEmpty else {
                throw invalid("URI", uri)
            }
            names.append(.uniformResourceIdentifier(uri))
        }
        for address in ipAddresses {
            guard let bytes = IPAddressBytes.parse(address) else { throw invalid("IP address", address) }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        return names.isEmpty ? nil : SubjectAlternativeNames(names)
    }

    /// Groups a certificate's SANs as Key Vault reports them; forms Key Vault has no group for are left out.
    init(_ names: SubjectAlternativeNames) {
        self.init()
        for name in names {
            switch name {
            case .dnsName(let dns): dnsNames.append(dns)
            case .rfc822Name(let email): emails.append(email)
            case .uniformResourceIdentifier(let uri): uris.append(uri)
            case .ipAddress(let octets):
                if let text = IPAddressBytes.text(Array(octets.bytes)) { ipAddresses.append(text) }
            case .otherName(let other) where other.typeID == .userPrincipalName:
                if let value = other.value, let upn = try? ASN1UTF8String(asn1Any: value) { userPrincipalNames.append(String(upn)) }
            default: continue
            }
        }
    }

    private func invalid(_ kind: String, _ value: String) -> CertificateFailure {
        CertificateFailure(.invalidSubjectAlternativeName, "\"\(value)\" is not a valid \(kind) for a subject alternative name.")
    }

    /// Letters, digits, `-` and `_` in dot-separated labels; `*` only as the whole first label.
    private static func isDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if index == 0, label == "*", labels.count > 1 { continue }
            guard !label.isEmpty, label.utf8.count <= 63,
                label.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") })
            else { return false }
        }
        return true
    }

    private static func isVisibleASCII(_ character: Character) -> Bool {
        character.isASCII && character != " " && !(character.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? true)
    }
}
