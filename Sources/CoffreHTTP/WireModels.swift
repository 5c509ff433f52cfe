import CoffreCore
import CoffreJSON
import CoffreModel

/// Key Vault's `Attributes` on the wire; output carries `recoverableDays` and `recoveryLevel` from the vault.
struct WireAttributes: Codable, JSONFieldsEncodable, Sendable {
    var enabled: Bool?
    var nbf: IntDate?
    var exp: IntDate?
    var created: IntDate?
    var updated: IntDate?
    var recoverableDays: Int?
    var recoveryLevel: String?
    /// Keys only.
    var exportable: Bool?
    var hsmPlatform: String?
    /// Keys of a pool, from `GET /keys/{name}/{version}/attestation` only.
    var attestation: WireKeyAttestation?

    init(_ attributes: ObjectAttributes, vault: VaultRecord) {
        enabled = attributes.enabled
        nbf = attributes.notBefore.map(IntDate.init)
        exp = attributes.expires.map(IntDate.init)
        created = IntDate(attributes.created)
        updated = IntDate(attributes.updated)
        recoverableDays = vault.retentionDays
        recoveryLevel = vault.recoveryLevel.rawValue
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("enabled", enabled)
        try object.field("nbf", nbf)
        try object.field("exp", exp)
        try object.field("created", created)
        try object.field("updated", updated)
        try object.field("recoverableDays", recoverableDays)
        try object.field("recoveryLevel", recoveryLevel)
        try object.field("exportable", exportable)
        try object.field("hsmPlatform", hsmPlatform)
        try object.field("attestation", attestation)
    }

    /// What a request asks to change; read-only fields are ignored.
    var changes: AttributeChanges {
        AttributeChanges(
            enabled: enabled, notBefore: nbf.map { .some($0.seconds) }, expires: exp.map { .some($0.seconds) })
    }
}

/// The URL of the vault as the client addressed it (`https://myvault.vault.localhost:8443`), which prefixes every id.
struct VaultURL: Sendable {
    var base: String

    func object(_ kind: ObjectKind, _ name: String, version: String? = nil) -> String {
        "\(base)/\(kind.collection)/\(name)" + (version.map { "/\($0)" } ?? "")
    }

    func recoveryId(_ kind: ObjectKind, _ name: String) -> String { "\(base)/\(kind.deletedCollection)/\(name)" }
}

/// What the bundle or item of a soft-deleted object adds to its own fields, written flat into it: where to recover
/// it, when it was deleted and when it will be purged.
struct WireDeletion: Sendable {
    var recoveryId: String
    var deletedDate: IntDate
    var scheduledPurgeDate: IntDate

    /// Nil for an object that is not deleted.
    init?(_ deletion: Deletion?, of kind: ObjectKind, named name: String, url: VaultURL) {
        guard let deletion else { return nil }
        self.init(recoveryId: url.recoveryId(kind, name), deletion: deletion)
    }

    init(recoveryId: String, deletion: Deletion) {
        self.recoveryId = recoveryId
        deletedDate = IntDate(deletion.deletedDate)
        scheduledPurgeDate = IntDate(deletion.scheduledPurgeDate)
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("recoveryId", recoveryId)
        try object.field("deletedDate", deletedDate)
        try object.field("scheduledPurgeDate", scheduledPurgeDate)
    }
}

// MARK: - Secrets

struct SecretSetParameters: FlatJSONDecodable {
    var value: String?
    var tags: [String: String]?
    var contentType: String?
    var attributes: WireAttributes?

    /// The usual body of a new version: `value` and perhaps `contentType`.
    init?(flat members: [String: String]) {
        guard members.lacks("tags", "attributes") else { return nil }
        (value, contentType) = (members["value"], members["contentType"])
    }
}

struct SecretUpdateParameters: Decodable {
    var contentType: String?
    var attributes: WireAttributes?
    var tags: [String: String]?
}

struct SecretBundle: JSONFieldsEncodable {
    var value: String?
    var id: String
    var contentType: String?
    var attributes: WireAttributes
    var tags: [String: String]?
    var kid: String?
    var managed: Bool?
    var deletion: WireDeletion?

    init(_ secret: Versioned<SecretVersion>, vault: VaultRecord, url: VaultURL, includeValue: Bool) {
        let record = secret.record
        value = includeValue ? record.value : nil
        id = url.object(.secret, secret.name, version: record.version)
        contentType = record.contentType
        attributes = WireAttributes(record.attributes, vault: vault)
        tags = record.tags
        kid = record.keyPath.map { url.base + $0 }
        managed = record.managed
        deletion = WireDeletion(secret.deletion, of: .secret, named: secret.name, url: url)
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("value", value)
        try object.field("id", id)
        try object.field("contentType", contentType)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("kid", kid)
        try object.field("managed", managed)
        try deletion?.writeFields(&object)
    }
}

struct SecretItem: JSONFieldsEncodable {
    var id: String
    var attributes: WireAttributes
    var tags: [String: String]?
    var contentType: String?
    var managed: Bool?
    var deletion: WireDeletion?

    init(head: SecretService.Item, vault: VaultRecord, url: VaultURL) {
        id = url.object(.secret, head.name)
        attributes = WireAttributes(head.summary.attributes, vault: vault)
        tags = head.summary.tags
        contentType = head.summary.contentType
        managed = head.summary.managed
        deletion = WireDeletion(head.deletion, of: .secret, named: head.name, url: url)
    }

    init(version: Versioned<SecretVersion>, vault: VaultRecord, url: VaultURL) {
        let record = version.record
        id = url.object(.secret, version.name, version: record.version)
        attributes = WireAttributes(record.attributes, vault: vault)
        tags = record.tags
        contentType = record.contentType
        managed = record.managed
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("id", id)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("contentType", contentType)
        try object.field("managed", managed)
        try deletion?.writeFields(&object)
    }
}

// MARK: - Shared

struct ListResult<Item: Encodable>: JSONFieldsEncodable {
    var value: [Item]
    var nextLink: String?

    /// Always writes `nextLink`, as `null` on the last page, as the service does.
    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("value", elements: value)
        try object.nullable("nextLink", nextLink)
    }
}

struct BackupResult: Encodable {
    var value: String
}

struct RestoreParameters: Decodable {
    var value: String
}
