import CoffreBlob
import CoffreCrypto
import CoffreModel
import CoffreStorage

/// SAS definitions (`/storage/{account}/sas`, `/deletedstorage/{account}/sas`): each has a managed secret,
/// `{account}-{definition}`, whose value is a fresh token at every read (``SASTokenMint``).
extension ManagedStorageService {
    /// What a set or an update says of a SAS definition; nil leaves a field as it is (update). A set needs the template,
    /// its type and the validity period.
    public struct DefinitionProperties: Sendable {
        public var templateUri: String?
        public var sasType: SASTemplate.Kind?
        public var validityPeriod: String?
        public var enabled: Bool?
        public var tags: [String: String]?

        public init(
            templateUri: String? = nil, sasType: SASTemplate.Kind? = nil, validityPeriod: String? = nil, enabled: Bool? = nil,
            tags: [String: String]? = nil
        ) {
            self.templateUri = templateUri
            self.sasType = sasType
            self.validityPeriod = validityPeriod
            self.enabled = enabled
            self.tags = tags
        }
    }

    /// Creates or replaces a SAS definition of a live account, with its secret.
    public func setDefinition(in vault: VaultName, account: String, name: String, properties: DefinitionProperties) async throws -> SASDefinition {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        guard let templateUri = properties.templateUri, let sasType = properties.sasType, let validityPeriod = properties.validityPeriod else {
            throw CoffreError.badParameter("A SAS definition needs a templateUri, a sasType (account or service) and a validityPeriod.")
        }
        try Self.check(templateUri, sasType, validityPeriod, tags: properties.tags)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            let owner = try await liveAccount(vault, account, transaction)
            try await checkNotDeleted(
                .sasDefinition, at: ManagedStorageLayout.definition(vault, account: account.key, name.key, deleted: true), name: name, transaction)
            let existing = try await transaction.read(
                SASDefinition.self, at: ManagedStorageLayout.definition(vault, account: account.key, name.key, deleted: false))
            let definition = SASDefinition(
                name: existing?.name ?? name.display, account: owner.name, templateUri: templateUri, sasType: sasType, validityPeriod: validityPeriod,
                attributes: ObjectAttributes(enabled: properties.enabled ?? true, created: existing?.attributes.created ?? now, updated: now),
                tags: properties.tags)
            try await move(definition, in: vault, toDeleted: false, transaction)
            try await writeSecret(of: definition, in: vault, now: now, transaction)
            return definition
        }
    }

    public func getDefinition(in vault: VaultName, account: String, name: String) async throws -> SASDefinition {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        return try await liveDefinition(vault, account, name, storage)
    }

    /// The SAS definitions of a live account.
    public func listDefinitions(in vault: VaultName, account: String, after cursor: String?, limit: Int) async throws -> Page<SASDefinition> {
        let account = try ManagedStorageName(account, of: .account)
        _ = try await liveAccount(vault, account, storage)
        return try await storage.page(
            SASDefinition.self, prefix: ManagedStorageLayout.definitions(vault, account: account.key, deleted: false), after: cursor, limit: limit)
    }

    /// Changes the template, the type, the validity period, `enabled` and tags.
    public func updateDefinition(in vault: VaultName, account: String, name: String, properties: DefinitionProperties) async throws
        -> SASDefinition
    {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        try Tags.validate(properties.tags)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            var definition = try await liveDefinition(vault, account, name, transaction)
            if let templateUri = properties.templateUri { definition.templateUri = templateUri }
            if let sasType = properties.sasType { definition.sasType = sasType }
            if let validityPeriod = properties.validityPeriod { definition.validityPeriod = validityPeriod }
            if let enabled = properties.enabled { definition.attributes.enabled = enabled }
            if let tags = properties.tags { definition.tags = tags }
            try Self.check(definition.templateUri, definition.sasType, definition.validityPeriod, tags: nil)
            definition.attributes.updated = now
            try await move(definition, in: vault, toDeleted: false, transaction)
            try await writeSecret(of: definition, in: vault, now: now, transaction)
            return definition
        }
    }

    /// Soft-deletes a SAS definition and its secret until the vault's retention ends.
    public func deleteDefinition(in vault: VaultRecord, account: String, name: String) async throws -> SASDefinition {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        let now = clock.now(in: vault.name)
        let deletion = Deletion(deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        return try await storage.transaction { transaction in
            var definition = try await liveDefinition(vault.name, account, name, transaction)
            definition.deletion = deletion
            try await move(definition, in: vault.name, toDeleted: true, transaction)
            try await transaction.put(ManagedStorageLayout.purgeEntry(vault.name, account: account.key, definition: name.key, deletion: deletion), [])
            _ = try await secrets.delete(in: vault.name, name: try secretName(definition), deletion: deletion, transaction: transaction)
            return definition
        }
    }

    public func deletedDefinition(in vault: VaultName, account: String, name: String) async throws -> SASDefinition {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        guard
            let definition = try await storage.read(
                SASDefinition.self, at: ManagedStorageLayout.definition(vault, account: account.key, name.key, deleted: true))
        else { throw ManagedStorageError.deletedNotFound(.sasDefinition, name: name.display) }
        return definition
    }

    /// The deleted SAS definitions of an account, live or deleted.
    public func listDeletedDefinitions(in vault: VaultName, account: String, after cursor: String?, limit: Int) async throws -> Page<SASDefinition> {
        let account = try ManagedStorageName(account, of: .account)
        let live = try await storage.get(ManagedStorageLayout.account(vault, account.key, deleted: false))
        let deleted = try await storage.get(ManagedStorageLayout.account(vault, account.key, deleted: true))
        guard live != nil || deleted != nil else { throw ManagedStorageError.notFound(.account, name: account.display) }
        return try await storage.page(
            SASDefinition.self, prefix: ManagedStorageLayout.definitions(vault, account: account.key, deleted: true), after: cursor, limit: limit)
    }

    /// Brings back a SAS definition deleted on its own; one deleted with its account comes back with the account.
    public func recoverDefinition(in vault: VaultName, account: String, name: String) async throws -> SASDefinition {
        let (account, name) = try (ManagedStorageName(account, of: .account), ManagedStorageName(name, of: .sasDefinition))
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            guard
                var definition = try await transaction.read(
                    SASDefinition.self, at: ManagedStorageLayout.definition(vault, account: account.key, name.key, deleted: true))
            else { throw ManagedStorageError.deletedNotFound(.sasDefinition, name: name.display) }
            guard try await transaction.get(ManagedStorageLayout.account(vault, account.key, deleted: false)) != nil else {
                throw CoffreError.conflict(
                    "The SAS definition \(name.display) was deleted with storage account \(account.display): recover the storage account.")
            }
            if let deletion = definition.deletion {
                try await transaction.delete(ManagedStorageLayout.purgeEntry(vault, account: account.key, definition: name.key, deletion: deletion))
            }
            (definition.deletion, definition.deletedWithAccount) = (nil, nil)
            try await move(definition, in: vault, toDeleted: false, transaction)
            try await recoverSecret(of: definition, in: vault, now: now, transaction)
            return definition
        }
    }

    // MARK: - Helpers

    func liveDefinition(_ vault: VaultName, _ account: ManagedStorageName, _ name: ManagedStorageName, _ reader: any StorageReader) async throws
        -> SASDefinition
    {
        guard
            let definition = try await reader.read(
                SASDefinition.self, at: ManagedStorageLayout.definition(vault, account: account.key, name.key, deleted: false))
        else {
            _ = try await liveAccount(vault, account, reader)
            throw ManagedStorageError.notFound(.sasDefinition, name: name.display)
        }
        return definition
    }

    /// Makes the SAS definition's secret match it: one managed version, created with the definition, enabled as it is.
    /// A secret of that name that no SAS definition manages keeps its name: the definition is refused.
    func writeSecret(of definition: SASDefinition, in vault: VaultName, now: Int64, _ transaction: any StorageTransaction) async throws {
        let name = try secretName(definition)
        if let head = try await secrets.head(in: vault, name: name, from: transaction) {
            guard head.summary.managed == true, head.summary.contentType == SASDefinition.secretContentType else {
                throw CoffreError.conflict(
                    "A secret named \(definition.secretName) exists and no SAS definition manages it: the SAS definition needs that name for its secret."
                )
            }
            _ = try await secrets.update(in: vault, name: name, version: nil, transaction: transaction) {
                $0.attributes.enabled = definition.attributes.enabled
                $0.attributes.updated = now
            }
            return
        }
        let reference = SASDefinitionReference(account: definition.account.lowercased(), definition: definition.name.lowercased())
        _ = try await secrets.addVersion(
            in: vault, name: name, version: VersionID.from(randomBytes: SecureRandom.bytes(16)), transaction: transaction
        ) { version, _ in
            SecretVersion(
                version: version, value: "", contentType: SASDefinition.secretContentType,
                attributes: ObjectAttributes(enabled: definition.attributes.enabled, created: now, updated: now), tags: nil, managed: true,
                sasDefinition: reference)
        }
    }

    /// Recovers the SAS definition's deleted secret, or writes it again if its own schedule purged it already.
    func recoverSecret(of definition: SASDefinition, in vault: VaultName, now: Int64, _ transaction: any StorageTransaction) async throws {
        do {
            _ = try await secrets.recover(in: vault, name: try secretName(definition), transaction: transaction)
        } catch CoffreError.deletedNotFound {
            try await writeSecret(of: definition, in: vault, now: now, transaction)
        }
    }

    /// The template must be one Coffre can sign for its type; the validity period a duration; at most 15 tags.
    static func check(_ templateUri: String, _ sasType: SASTemplate.Kind, _ validityPeriod: String, tags: [String: String]?) throws {
        guard templateUri.utf8.count <= maxTemplateLength else {
            throw CoffreError.badParameter("The templateUri is too long: at most \(maxTemplateLength) characters are allowed.")
        }
        _ = try SASTemplate(templateUri, kind: sasType)
        _ = try ISODuration.seconds(validityPeriod)
        try Tags.validate(tags)
    }
}
