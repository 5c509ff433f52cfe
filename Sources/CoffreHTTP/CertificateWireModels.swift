import CoffreCore
import CoffreJSON
import CoffreModel

/// Key Vault's `CertificatePolicy` on the wire (snake_case members, as the service writes them).
struct WirePolicy: Codable, Sendable {
    struct KeyProperties: Codable, Sendable {
        var exportable: Bool?
        var kty: String?
        var key_size: Int?
        var reuse_key: Bool?
        var crv: String?
    }

    struct SecretProperties: Codable, Sendable {
        var contentType: String?
    }

    struct SubjectAlternativeNames: Codable, Sendable {
        var emails: [String]?
        var dns_names: [String]?
        var upns: [String]?
        var uris: [String]?
        var ipAddresses: [String]?
    }

    struct X509Properties: Codable, Sendable {
        var subject: String?
        var ekus: [String]?
        var sans: SubjectAlternativeNames?
        var key_usage: [String]?
        var validity_months: Int?
    }

    struct Trigger: Codable, Sendable {
        var lifetime_percentage: Int?
        var days_before_expiry: Int?
    }

    struct Action: Codable, Sendable {
        var action_type: String
    }

    struct LifetimeAction: Codable, Sendable {
        var trigger: Trigger
        var action: Action
    }

    struct Issuer: Codable, Sendable {
        var name: String?
        var cty: String?
        var cert_transparency: Bool?
    }

    struct Attributes: Codable, Sendable {
        var enabled: Bool?
        var created: IntDate?
        var updated: IntDate?
    }

    var id: String?
    var key_props: KeyProperties?
    var secret_props: SecretProperties?
    var x509_props: X509Properties?
    var lifetime_actions: [LifetimeAction]?
    var issuer: Issuer?
    var attributes: Attributes?
    var platformManaged: CertificatePolicy.PlatformManaged?

    init(_ policy: CertificatePolicy, id: String) {
        self.id = id
        key_props = KeyProperties(
            exportable: policy.exportable, kty: policy.keyType, key_size: policy.keySize, reuse_key: policy.reuseKey, crv: policy.curve)
        secret_props = SecretProperties(contentType: policy.contentType)
        let sans = policy.subjectAlternativeNames
        x509_props = X509Properties(
            subject: policy.subject, ekus: policy.extendedKeyUsages,
            sans: sans.map {
                SubjectAlternativeNames(emails: $0.emails, dns_names: $0.dnsNames, upns: $0.upns, uris: $0.uris, ipAddresses: $0.ipAddresses)
            },
            key_usage: policy.keyUsage, validity_months: policy.validityInMonths)
        lifetime_actions = policy.lifetimeActions?.map {
            LifetimeAction(
                trigger: Trigger(lifetime_percentage: $0.lifetimePercentage, days_before_expiry: $0.daysBeforeExpiry),
                action: Action(action_type: $0.action))
        }
        issuer = Issuer(name: policy.issuerName, cty: policy.certificateType, cert_transparency: policy.certificateTransparency)
        attributes = Attributes(enabled: policy.enabled, created: policy.created.map(IntDate.init), updated: policy.updated.map(IntDate.init))
        platformManaged = policy.platformManaged
    }

    var model: CertificatePolicy {
        var policy = CertificatePolicy()
        policy.exportable = key_props?.exportable
        policy.keyType = key_props?.kty
        policy.keySize = key_props?.key_size
        policy.reuseKey = key_props?.reuse_key
        policy.curve = key_props?.crv
        policy.contentType = secret_props?.contentType
        policy.subject = x509_props?.subject
        policy.subjectAlternativeNames = x509_props?.sans.map {
            .init(emails: $0.emails, dnsNames: $0.dns_names, upns: $0.upns, uris: $0.uris, ipAddresses: $0.ipAddresses)
        }
        policy.extendedKeyUsages = x509_props?.ekus
        policy.keyUsage = x509_props?.key_usage
        policy.validityInMonths = x509_props?.validity_months
        policy.lifetimeActions = lifetime_actions?.map {
            .init(lifetimePercentage: $0.trigger.lifetime_percentage, daysBeforeExpiry: $0.trigger.days_before_expiry, action: $0.action.action_type)
        }
        policy.issuerName = issuer?.name
        policy.certificateType = issuer?.cty
        policy.certificateTransparency = issuer?.cert_transparency
        policy.enabled = attributes?.enabled
        policy.platformManaged = platformManaged
        return policy
    }
}

struct CertificateCreateParameters: Decodable {
    var policy: WirePolicy?
    var attributes: WireAttributes?
    var tags: [String: String]?
    var preserveCertOrder: Bool?
}

struct CertificateImportParameters: Decodable {
    var value: String?
    var pwd: String?
    var policy: WirePolicy?
    var attributes: WireAttributes?
    var tags: [String: String]?
    var preserveCertOrder: Bool?
}

struct CertificateUpdateParameters: Decodable {
    var policy: WirePolicy?
    var attributes: WireAttributes?
    var tags: [String: String]?
}

struct CertificateMergeParameters: Decodable {
    var x5c: [String]?
    var attributes: WireAttributes?
    var tags: [String: String]?
}

struct CertificateOperationUpdate: Decodable {
    var cancellation_requested: Bool?
}

struct CertificateBundle: JSONFieldsEncodable {
    var id: String
    var kid: String
    var sid: String
    var x5t: String
    var cer: String
    var contentType: String
    var attributes: WireAttributes
    var tags: [String: String]?
    var policy: WirePolicy?
    var preserveCertOrder: Bool?
    var deletion: WireDeletion?

    init(_ certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?, vault: VaultRecord, url: VaultURL) {
        let record = certificate.record
        id = url.object(.certificate, certificate.name, version: record.version)
        kid = url.object(.key, certificate.name, version: record.version)
        sid = url.object(.secret, certificate.name, version: record.version)
        x5t = record.x5t
        cer = record.cer
        contentType = record.contentType
        attributes = WireAttributes(record.attributes, vault: vault)
        tags = record.tags
        self.policy = policy.map { WirePolicy($0, id: url.object(.certificate, certificate.name) + "/policy") }
        preserveCertOrder = record.preserveCertOrder
        deletion = WireDeletion(certificate.deletion, of: .certificate, named: certificate.name, url: url)
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("id", id)
        try object.field("kid", kid)
        try object.field("sid", sid)
        try object.field("x5t", x5t)
        try object.field("cer", cer)
        try object.field("contentType", contentType)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("policy", policy)
        try object.field("preserveCertOrder", preserveCertOrder)
        try deletion?.writeFields(&object)
    }
}

struct CertificateItem: JSONFieldsEncodable {
    var id: String
    var attributes: WireAttributes?
    var tags: [String: String]?
    var x5t: String?
    var deletion: WireDeletion?

    init(head: CertificateService.Item, vault: VaultRecord, url: VaultURL) {
        id = url.object(.certificate, head.name)
        attributes = WireAttributes(head.summary.attributes, vault: vault)
        tags = head.summary.tags
        x5t = head.summary.x5t
        deletion = WireDeletion(head.deletion, of: .certificate, named: head.name, url: url)
    }

    init(version: Versioned<CertificateVersion>, vault: VaultRecord, url: VaultURL) {
        id = url.object(.certificate, version.name, version: version.record.version)
        attributes = WireAttributes(version.record.attributes, vault: vault)
        tags = version.record.tags
        x5t = version.record.x5t
    }

    init(pendingName name: String, url: VaultURL) {
        id = url.object(.certificate, name)
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("id", id)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("x5t", x5t)
        try deletion?.writeFields(&object)
    }
}

struct CertificateOperationBody: Encodable {
    struct ErrorBody: Encodable {
        var code: String
        var message: String
    }

    var id: String
    var issuer: WirePolicy.Issuer
    var csr: String
    var cancellation_requested: Bool
    var status: String
    var status_details: String?
    var error: ErrorBody?
    var target: String?
    var request_id: String
    var preserveCertOrder: Bool?

    init(_ pending: PendingCertificate, name: String, url: VaultURL, reportedStatus: CertificateOperationStatus? = nil) {
        id = url.object(.certificate, name) + "/pending"
        issuer = WirePolicy.Issuer(name: pending.issuerName, cty: pending.certificateType, cert_transparency: pending.certificateTransparency)
        csr = pending.csr
        cancellation_requested = pending.cancellationRequested
        status = (reportedStatus ?? pending.status).rawValue
        status_details = pending.statusDetails
        error = pending.errorCode.map { ErrorBody(code: $0, message: pending.errorMessage ?? "") }
        target = pending.targetVersion.map { _ in url.object(.certificate, name) }
        request_id = pending.requestId
        preserveCertOrder = pending.preserveCertOrder
    }
}

struct WireContacts: Codable {
    var id: String?
    var contacts: [CertificateContact]?
}

struct WireIssuer: Codable {
    struct Credentials: Codable {
        var account_id: String?
        var pwd: String?
    }

    struct AdministratorDetails: Codable {
        var first_name: String?
        var last_name: String?
        var email: String?
        var phone: String?
    }

    struct OrganizationDetails: Codable {
        var id: String?
        var admin_details: [AdministratorDetails]?
    }

    struct Attributes: Codable {
        var enabled: Bool?
        var created: IntDate?
        var updated: IntDate?
    }

    var id: String?
    var provider: String?
    var credentials: Credentials?
    var org_details: OrganizationDetails?
    var attributes: Attributes?

    /// The wire form of an issuer; the password is never returned.
    init(_ issuer: CertificateIssuerRecord, url: VaultURL) {
        id = url.base + "/certificates/issuers/" + issuer.name
        provider = issuer.provider
        credentials = issuer.accountId.map { Credentials(account_id: $0, pwd: nil) }
        org_details =
            (issuer.organizationId != nil || issuer.administrators != nil)
            ? OrganizationDetails(
                id: issuer.organizationId,
                admin_details: issuer.administrators?.map {
                    AdministratorDetails(first_name: $0.firstName, last_name: $0.lastName, email: $0.email, phone: $0.phone)
                }) : nil
        attributes = Attributes(enabled: issuer.enabled, created: IntDate(issuer.created), updated: IntDate(issuer.updated))
    }

    /// Applies the members present to a stored issuer.
    func apply(to record: inout CertificateIssuerRecord) {
        if let provider { record.provider = provider }
        if let credentials {
            if let account = credentials.account_id { record.accountId = account }
            if let password = credentials.pwd { record.password = password }
        }
        if let org_details {
            if let id = org_details.id { record.organizationId = id }
            if let admins = org_details.admin_details {
                record.administrators = admins.map { .init(firstName: $0.first_name, lastName: $0.last_name, email: $0.email, phone: $0.phone) }
            }
        }
        if let enabled = attributes?.enabled { record.enabled = enabled }
    }
}

struct IssuerItem: Encodable {
    var id: String
    var provider: String
}
