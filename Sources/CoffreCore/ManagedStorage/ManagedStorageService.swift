import CoffreAuth
import CoffreBlob
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage

/// Storage accounts managed by vaults (Key Vault's storage API, `/storage` and `/deletedstorage`): a vault holds which
/// account of Coffre's Blob service it manages and which of its keys is active, regenerates keys on demand or every
/// period, and keeps SAS definitions whose secrets (`{account}-{definition}`) hand out fresh SAS tokens signed with the
/// active key. Soft delete, recovery, purge and sealed backups work as for the other objects; a SAS definition goes
/// with its account (deleted, recovered, purged and backed up with it). Every change is one transaction, the SAS
/// definition's secret included.
public struct ManagedStorageService: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let backups: BackupCodec
    /// The Blob service's accounts, whose keys the vault regenerates and signs with.
    let accounts: StorageAccountDirectory
    let secrets: VersionedStore<SecretVersion>
    let principals: PrincipalDirectory

    static let backupLabel = "storage"
    /// The longest template accepted (real ones are a few hundred characters).
    static let maxTemplateLength = 4096

    public init(
        storage: any StorageBackend, clock: any WallClock, backups: BackupCodec, accounts: StorageAccountDirectory, principals: PrincipalDirectory
    ) {
        self.storage = storage
        self.clock = clock
        self.backups = backups
        self.accounts = accounts
        self.secrets = VersionedStore(storage: storage, kind: .secret)
        self.principals = principals
    }

    /// What a set or an update says of an account; nil leaves a field as it is (update) or takes its default (set).
    public struct AccountProperties: Sendable {
        public var activeKeyName: String?
        public var autoRegenerateKey: Bool?
        public var regenerationPeriod: String?
        public var enabled: Bool?
        public var tags: [String: String]?

        public init(
            activeKeyName: String? = nil, autoRegenerateKey: Bool? = nil, regenerationPeriod: String? = nil, enabled: Bool? = nil,
            tags: [String: String]? = nil
        ) {
            self.activeKeyName = activeKeyName
            self.autoRegenerateKey = autoRegenerateKey
            self.regenerationPeriod = regenerationPeriod
            self.enabled = enabled
            self.tags = tags
        }
    }

    // MARK: - Storage accounts

    /// Starts managing an account of the Blob service (or changes how it is managed). The caller must be allowed to use
    /// the account's keys (``checkKeyOperator(_:for:)``).
    public func set(in vault: VaultName, name: String, resourceId: String, properties: AccountProperties, by caller: Caller) async throws
        -> ManagedStorageAccount
    {
        let name = try ManagedStorageName(name, of: .account)
        let blob = try ManagedStorageAccount.blobAccount(named: resourceId)
        guard let activeKeyName = properties.activeKeyName else {
            throw CoffreError.badParameter("The request body is missing 'activeKeyName': key1 or key2.")
        }
        try StorageAccountDirectory.checkKeyName(activeKeyName)
        let autoRegenerate = properties.autoRegenerateKey ?? false
        try Self.checkRegeneration(autoRegenerate, period: properties.regenerationPeriod)
        try Tags.validate(properties.tags)
        try await checkKeyOperator(caller, for: blob)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            _ = try await accounts.get(blob, transaction: transaction)
            try await checkNotDeleted(.account, at: ManagedStorageLayout.account(vault, name.key, deleted: true), name: name, transaction)
            let existing = try await transaction.read(ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            let record = ManagedStorageAccount(
                name: existing?.name ?? name.display, resourceId: resourceId, activeKeyName: activeKeyName, autoRegenerateKey: autoRegenerate,
                regenerationPeriod: properties.regenerationPeriod,
                attributes: ObjectAttributes(enabled: properties.enabled ?? true, created: existing?.attributes.created ?? now, updated: now),
                tags: properties.tags,
                activeKeySince: existing.flatMap { $0.activeKeyName == activeKeyName ? $0.activeKeySince : nil } ?? now)
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            return record
        }
    }

    public func get(in vault: VaultName, name: String) async throws -> ManagedStorageAccount {
        let name = try ManagedStorageName(name, of: .account)
        guard let record = try await storage.read(ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
        else { throw ManagedStorageError.notFound(.account, name: name.display) }
        return record
    }

    public func list(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<ManagedStorageAccount> {
        try await storage.page(ManagedStorageAccount.self, prefix: ManagedStorageLayout.accounts(vault, deleted: false), after: cursor, limit: limit)
    }

    /// Changes the active key, the regeneration settings, `enabled` and tags (switching the active key restarts the
    /// regeneration period).
    public func update(in vault: VaultName, name: String, properties: AccountProperties) async throws -> ManagedStorageAccount {
        let name = try ManagedStorageName(name, of: .account)
        if let key = properties.activeKeyName { try StorageAccountDirectory.checkKeyName(key) }
        if let period = properties.regenerationPeriod { _ = try ISODuration.seconds(period) }
        try Tags.validate(properties.tags)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            var record = try await liveAccount(vault, name, transaction)
            if let key = properties.activeKeyName, key != record.activeKeyName { (record.activeKeyName, record.activeKeySince) = (key, now) }
            if let autoRegenerate = properties.autoRegenerateKey { record.autoRegenerateKey = autoRegenerate }
            if let period = properties.regenerationPeriod { record.regenerationPeriod = period }
            if let enabled = properties.enabled { record.attributes.enabled = enabled }
            if let tags = properties.tags { record.tags = tags }
            try Self.checkRegeneration(record.autoRegenerateKey, period: record.regenerationPeriod)
            record.attributes.updated = now
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            return record
        }
    }

    /// Regenerates one key of the account and makes it the active key (the caller must be allowed to use its keys).
    public func regenerateKey(in vault: VaultName, name: String, keyName: String, by caller: Caller) async throws -> ManagedStorageAccount {
        try StorageAccountDirectory.checkKeyName(keyName)
        let current = try await get(in: vault, name: name)
        try await checkKeyOperator(caller, for: try current.blobAccount)
        let name = try ManagedStorageName(name, of: .account)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            var record = try await liveAccount(vault, name, transaction)
            guard record.resourceId == current.resourceId else {
                throw CoffreError.conflict("The storage account \(name.display) changed during the request: send it again.")
            }
            guard record.attributes.enabled else { throw ManagedStorageError.disabled(.account, operation: "regeneratekey") }
            _ = try await accounts.regenerateKey(keyName, of: try record.blobAccount, transaction: transaction)
            (record.activeKeyName, record.activeKeySince, record.attributes.updated) = (keyName, now, now)
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            return record
        }
    }

    /// Soft-deletes the account with its SAS definitions and their secrets, until the vault's retention ends.
    public func delete(in vault: VaultRecord, name: String) async throws -> ManagedStorageAccount {
        let name = try ManagedStorageName(name, of: .account)
        let now = clock.now(in: vault.name)
        let deletion = Deletion(deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        return try await storage.transaction { transaction in
            var record = try await liveAccount(vault.name, name, transaction)
            let prefix = ManagedStorageLayout.definitions(vault.name, account: name.key, deleted: false)
            for var definition in try await transaction.readAll(SASDefinition.self, prefix: prefix).map(\.record) {
                (definition.deletion, definition.deletedWithAccount) = (deletion, true)
                try await move(definition, in: vault.name, toDeleted: true, transaction)
                _ = try await secrets.delete(in: vault.name, name: try secretName(definition), deletion: deletion, transaction: transaction)
            }
            record.deletion = deletion
            try await transaction.delete(ManagedStorageLayout.account(vault.name, name.key, deleted: false))
            try await transaction.write(record, at: ManagedStorageLayout.account(vault.name, name.key, deleted: true))
            try await transaction.put(ManagedStorageLayout.purgeEntry(vault.name, account: name.key, deletion: deletion), [])
            return record
        }
    }

    public func deleted(in vault: VaultName, name: String) async throws -> ManagedStorageAccount {
        let name = try ManagedStorageName(name, of: .account)
        guard let record = try await storage.read(ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: true))
        else { throw ManagedStorageError.deletedNotFound(.account, name: name.display) }
        return record
    }

    public func listDeleted(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<ManagedStorageAccount> {
        try await storage.page(ManagedStorageAccount.self, prefix: ManagedStorageLayout.accounts(vault, deleted: true), after: cursor, limit: limit)
    }

    /// Brings a soft-deleted account back with the SAS definitions deleted with it.
    public func recover(in vault: VaultName, name: String) async throws -> ManagedStorageAccount {
        let name = try ManagedStorageName(name, of: .account)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            guard
                var record = try await transaction.read(ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: true))
            else { throw ManagedStorageError.deletedNotFound(.account, name: name.display) }
            if let deletion = record.deletion {
                try await transaction.delete(ManagedStorageLayout.purgeEntry(vault, account: name.key, deletion: deletion))
            }
            record.deletion = nil
            try await transaction.delete(ManagedStorageLayout.account(vault, name.key, deleted: true))
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            let prefix = ManagedStorageLayout.definitions(vault, account: name.key, deleted: true)
            for var definition in try await transaction.readAll(SASDefinition.self, prefix: prefix).map(\.record)
            where definition.deletedWithAccount == true {
                (definition.deletion, definition.deletedWithAccount) = (nil, nil)
                try await move(definition, in: vault, toDeleted: false, transaction)
                try await recoverSecret(of: definition, in: vault, now: now, transaction)
            }
            return record
        }
    }

    /// Removes a soft-deleted account for good, with every SAS definition it had and their secrets.
    public func purge(in vault: VaultRecord, name: String) async throws {
        guard !vault.purgeProtection else { throw CoffreError.purgeProtected(vault: vault.name.value) }
        let name = try ManagedStorageName(name, of: .account)
        try await storage.transaction { transaction in
            guard
                let record = try await transaction.read(
                    ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault.name, name.key, deleted: true))
            else { throw ManagedStorageError.deletedNotFound(.account, name: name.display) }
            try await erase(record, named: name, in: vault.name, transaction)
        }
    }

    struct Backup: Codable {
        var account: ManagedStorageAccount
        var definitions: [SASDefinition]
    }

    /// The account and its SAS definitions, sealed into an opaque blob (SAS definitions are backed up with their account).
    public func backup(in vault: VaultName, name: String) async throws -> String {
        let name = try ManagedStorageName(name, of: .account)
        let backup = try await storage.transaction { transaction in
            Backup(
                account: try await liveAccount(vault, name, transaction),
                definitions: try await transaction.readAll(
                    SASDefinition.self, prefix: ManagedStorageLayout.definitions(vault, account: name.key, deleted: false)
                ).map(\.record))
        }
        return try backups.seal(backup, label: Self.backupLabel)
    }

    /// Recreates an account and its SAS definitions from a backup, under a free name; the caller must be allowed to use
    /// the keys of the Blob account it names, which must still exist.
    public func restore(in vault: VaultName, blob: String, by caller: Caller) async throws -> ManagedStorageAccount {
        let backup = try backups.open(blob, as: Backup.self, label: Self.backupLabel, noun: ManagedStorageKind.account.rawValue)
        let name = try ManagedStorageName(backup.account.name, of: .account)
        try await checkKeyOperator(caller, for: try backup.account.blobAccount)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            _ = try await accounts.get(try backup.account.blobAccount, transaction: transaction)
            try await checkNotDeleted(.account, at: ManagedStorageLayout.account(vault, name.key, deleted: true), name: name, transaction)
            guard try await transaction.get(ManagedStorageLayout.account(vault, name.key, deleted: false)) == nil else {
                throw CoffreError.conflict("Storage account \(name.display) already exists: a backup can only be restored under a free name.")
            }
            var record = backup.account
            // The backed-up account's regenerations were its own to report.
            (record.deletion, record.lastAutoRegeneration) = (nil, nil)
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            for var definition in backup.definitions {
                (definition.deletion, definition.deletedWithAccount) = (nil, nil)
                try await move(definition, in: vault, toDeleted: false, transaction)
                try await writeSecret(of: definition, in: vault, now: now, transaction)
            }
            return record
        }
    }

    // MARK: - Regeneration

    /// The live accounts of the vault.
    func all(in vault: VaultName) async throws -> [ManagedStorageAccount] {
        try await storage.readAll(ManagedStorageAccount.self, prefix: ManagedStorageLayout.accounts(vault, deleted: false)).map(\.record)
    }

    /// Where the report of an account's latest automatic regeneration is claimed (``LifetimeClaims``).
    static func regenerationReport(_ vault: VaultName, account: String) -> String {
        LifetimeClaims.key("storage-regeneration", vault: vault, name: account.lowercased())
    }

    /// If the account's automatic regeneration is (still) due: regenerates its inactive key and makes it the active
    /// one, so tokens signed with the previous active key stay valid one more period. One transaction: of several nodes
    /// sweeping at once, one regenerates. Returns the new active key's name, nil when nothing was due.
    func regenerateIfDue(in vault: VaultName, name: String, now: Int64) async throws -> String? {
        let name = try ManagedStorageName(name, of: .account)
        return try await storage.transaction { transaction in
            guard
                var record = try await transaction.read(
                    ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: false)),
                let due = record.nextRegeneration, due <= now
            else { return nil }
            let key = record.inactiveKeyName
            _ = try await accounts.regenerateKey(key, of: try record.blobAccount, transaction: transaction)
            (record.activeKeyName, record.activeKeySince, record.lastAutoRegeneration) = (key, now, "\(key)@\(now)")
            try await transaction.write(record, at: ManagedStorageLayout.account(vault, name.key, deleted: false))
            return key
        }
    }

    // MARK: - Scheduled purge

    /// The scheduled purge of a deleted account or SAS definition (`segment` and `name` of its purge schedule entry);
    /// `false` when it is no longer deleted or not due.
    func purgeIfDue(in vault: VaultName, segment: String, name: String, now: Int64) async throws -> Bool {
        try await storage.transaction { transaction in
            switch segment {
            case ManagedStorageLayout.accountSegment:
                guard let account = try? ManagedStorageName(name, of: .account),
                    let record = try await transaction.read(
                        ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, account.key, deleted: true)),
                    let deletion = record.deletion, deletion.scheduledPurgeDate <= now
                else { return false }
                try await erase(record, named: account, in: vault, transaction)
                return true
            case ManagedStorageLayout.definitionSegment:
                let parts = name.split(separator: "-", omittingEmptySubsequences: false)
                guard parts.count == 2 else { return false }
                let key = ManagedStorageLayout.definition(vault, account: String(parts[0]), String(parts[1]), deleted: true)
                guard let definition = try await transaction.read(SASDefinition.self, at: key), definition.deletedWithAccount != true,
                    let deletion = definition.deletion, deletion.scheduledPurgeDate <= now
                else { return false }
                try await erase(definition, in: vault, transaction)
                return true
            default:
                return false
            }
        }
    }

    // MARK: - Helpers

    func liveAccount(_ vault: VaultName, _ name: ManagedStorageName, _ reader: any StorageReader) async throws -> ManagedStorageAccount {
        guard let record = try await reader.read(ManagedStorageAccount.self, at: ManagedStorageLayout.account(vault, name.key, deleted: false)) else {
            throw ManagedStorageError.notFound(.account, name: name.display)
        }
        return record
    }

    func checkNotDeleted(_ kind: ManagedStorageKind, at key: String, name: ManagedStorageName, _ transaction: any StorageTransaction) async throws {
        if try await transaction.get(key) != nil { throw ManagedStorageError.deletedButRecoverable(kind, name: name.display) }
    }

    /// Writes a SAS definition under its live or deleted key and removes it from the other.
    func move(_ definition: SASDefinition, in vault: VaultName, toDeleted deleted: Bool, _ transaction: any StorageTransaction) async throws {
        let account = definition.account.lowercased()
        let name = definition.name.lowercased()
        try await transaction.delete(ManagedStorageLayout.definition(vault, account: account, name, deleted: !deleted))
        try await transaction.write(definition, at: ManagedStorageLayout.definition(vault, account: account, name, deleted: deleted))
    }

    func secretName(_ definition: SASDefinition) throws -> ObjectName { try ObjectName(definition.secretName, kind: .secret) }

    /// Removes a deleted account, its purge entry, every SAS definition it had and their secrets.
    private func erase(_ record: ManagedStorageAccount, named name: ManagedStorageName, in vault: VaultName, _ transaction: any StorageTransaction)
        async throws
    {
        if let deletion = record.deletion {
            try await transaction.delete(ManagedStorageLayout.purgeEntry(vault, account: name.key, deletion: deletion))
        }
        try await transaction.delete(ManagedStorageLayout.account(vault, name.key, deleted: true))
        try await transaction.delete(Self.regenerationReport(vault, account: name.key))
        let prefix = ManagedStorageLayout.definitions(vault, account: name.key, deleted: true)
        for definition in try await transaction.readAll(SASDefinition.self, prefix: prefix).map(\.record) {
            try await erase(definition, in: vault, transaction)
        }
    }

    /// Removes a deleted SAS definition, its purge entry and its secret (which its own schedule may have purged first).
    private func erase(_ definition: SASDefinition, in vault: VaultName, _ transaction: any StorageTransaction) async throws {
        let account = definition.account.lowercased()
        let name = definition.name.lowercased()
        if let deletion = definition.deletion, definition.deletedWithAccount != true {
            try await transaction.delete(ManagedStorageLayout.purgeEntry(vault, account: account, definition: name, deletion: deletion))
        }
        try await transaction.delete(ManagedStorageLayout.definition(vault, account: account, name, deleted: true))
        do {
            try await secrets.purge(in: vault, name: try secretName(definition), transaction: transaction)
        } catch CoffreError.deletedNotFound {
            // Purged already by the secret's own schedule.
        }
    }

    /// Refuses a caller who may not use the keys of the Blob account: Coffre administrators manage accounts and read
    /// their keys (`coffre storage account keys`), so only they may give a vault an account to sign with, as Azure asks
    /// the caller of SetStorageAccount and RegenerateStorageAccountKey for the keys of the account.
    func checkKeyOperator(_ caller: Caller, for account: StorageAccountName) async throws {
        guard await principals.isAdministrator(caller) else {
            throw CoffreError.forbidden(
                .accessPolicy,
                message: "The caller may not use the keys of storage account \(account): only Coffre administrators manage storage account keys.")
        }
    }

    /// An account the vault regenerates automatically needs the period to do it.
    static func checkRegeneration(_ autoRegenerate: Bool, period: String?) throws {
        if let period { _ = try ISODuration.seconds(period) }
        if autoRegenerate && period == nil {
            throw CoffreError.badParameter("autoRegenerateKey needs a regenerationPeriod (an ISO 8601 duration such as P90D).")
        }
    }
}
