import CoffreBlob
import CoffreCore
import CoffreJSON
import CoffreModel

// MARK: - Managed storage accounts

/// `StorageAccountCreateParameters` and `StorageAccountUpdateParameters` (none required on update).
struct StorageAccountParameters: Decodable {
    var resourceId: String?
    var activeKeyName: String?
    var autoRegenerateKey: Bool?
    var regenerationPeriod: String?
    var attributes: WireAttributes?
    var tags: [String: String]?

    var properties: ManagedStorageService.AccountProperties {
        .init(
            activeKeyName: activeKeyName, autoRegenerateKey: autoRegenerateKey, regenerationPeriod: regenerationPeriod, enabled: attributes?.enabled,
            tags: tags)
    }
}

struct StorageAccountRegenerateKeyParameters: Decodable {
    var keyName: String
}

extension VaultURL {
    func storage(_ account: String) -> String { "\(base)/storage/\(account)" }
    func sasDefinition(_ definition: String, of account: String) -> String { "\(base)/storage/\(account)/sas/\(definition)" }
}

/// Storage and SAS attributes: `enabled`, `created`, `updated` and the vault's recovery settings (no `nbf`/`exp`).
extension WireAttributes {
    init(storage attributes: ObjectAttributes, vault: VaultRecord) {
        self.init(ObjectAttributes(enabled: attributes.enabled, created: attributes.created, updated: attributes.updated), vault: vault)
    }
}

/// `StorageBundle` and `DeletedStorageBundle`; `StorageAccountItem` and `DeletedStorageAccountItem` (`asItem`) carry
/// only the id, resource id, attributes and tags.
struct StorageBundle: JSONFieldsEncodable {
    var id: String
    var resourceId: String
    var activeKeyName: String?
    var autoRegenerateKey: Bool?
    var regenerationPeriod: String?
    var attributes: WireAttributes
    var tags: [String: String]?
    var deletion: WireDeletion?

    init(_ account: ManagedStorageAccount, vault: VaultRecord, url: VaultURL, asItem: Bool = false) {
        id = url.storage(account.name)
        resourceId = account.resourceId
        if !asItem {
            (activeKeyName, autoRegenerateKey, regenerationPeriod) = (account.activeKeyName, account.autoRegenerateKey, account.regenerationPeriod)
        }
        attributes = WireAttributes(storage: account.attributes, vault: vault)
        tags = account.tags
        deletion = account.deletion.map {
            WireDeletion(recoveryId: "\(url.base)/deletedstorage/\(account.name)", deletion: $0)
        }
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("id", id)
        try object.field("resourceId", resourceId)
        try object.field("activeKeyName", activeKeyName)
        try object.field("autoRegenerateKey", autoRegenerateKey)
        try object.field("regenerationPeriod", regenerationPeriod)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try deletion?.writeFields(&object)
    }
}

// MARK: - SAS definitions

/// `SasDefinitionCreateParameters` and `SasDefinitionUpdateParameters` (none required on update).
struct SASDefinitionParameters: Decodable {
    var templateUri: String?
    var sasType: String?
    var validityPeriod: String?
    var attributes: WireAttributes?
    var tags: [String: String]?

    var properties: ManagedStorageService.DefinitionProperties {
        get throws {
            let kind = try sasType.map { type in
                guard let kind = SASTemplate.Kind(rawValue: type) else {
                    throw CoffreError.badParameter("The sasType '\(String(type.prefix(32)))' is not valid: use account or service.")
                }
                return kind
            }
            return .init(templateUri: templateUri, sasType: kind, validityPeriod: validityPeriod, enabled: attributes?.enabled, tags: tags)
        }
    }
}

/// `SasDefinitionBundle` and `DeletedSasDefinitionBundle`; the items (`asItem`) carry the id, the secret id, attributes
/// and tags.
struct SASDefinitionBundle: JSONFieldsEncodable {
    var id: String
    var sid: String
    var templateUri: String?
    var sasType: String?
    var validityPeriod: String?
    var attributes: WireAttributes
    var tags: [String: String]?
    var deletion: WireDeletion?

    init(_ definition: SASDefinition, vault: VaultRecord, url: VaultURL, asItem: Bool = false) {
        id = url.sasDefinition(definition.name, of: definition.account)
        sid = url.object(.secret, definition.secretName)
        if !asItem {
            (templateUri, sasType, validityPeriod) = (definition.templateUri, definition.sasType.rawValue, definition.validityPeriod)
        }
        attributes = WireAttributes(storage: definition.attributes, vault: vault)
        tags = definition.tags
        deletion = definition.deletion.map {
            WireDeletion(recoveryId: "\(url.base)/deletedstorage/\(definition.account)/sas/\(definition.name)", deletion: $0)
        }
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("id", id)
        try object.field("sid", sid)
        try object.field("templateUri", templateUri)
        try object.field("sasType", sasType)
        try object.field("validityPeriod", validityPeriod)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try deletion?.writeFields(&object)
    }
}
