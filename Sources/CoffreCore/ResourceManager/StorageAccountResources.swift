import CoffreBlob
import CoffreModel
import CoffreStorage

/// `Microsoft.Storage/storageAccounts` over the Blob service's accounts: an account made here is the one
/// `coffre storage account list` shows and `https://{name}.blob.localhost:8443` serves, and the other way round
/// (accounts made by Coffre's own command are in the group `default`). Roles apply from the account's group up.
extension ResourceManager {
    static let storageAccountType = "Microsoft.Storage/storageAccounts"

    /// What a `PUT` or `PATCH` of an account says; nil fields are left as they are (or take their defaults).
    public struct StorageAccountChanges: Sendable {
        public var location: String?
        public var tags: [String: String]?
        public var sku: String?
        public var kind: String?

        public init(location: String? = nil, tags: [String: String]? = nil, sku: String? = nil, kind: String? = nil) {
            self.location = location
            self.tags = tags
            self.sku = sku
            self.kind = kind
        }
    }

    /// Creates an account, or updates its tags and SKU (`PUT`). Returns it and whether it is new (201).
    public func createOrUpdateStorageAccount(_ grants: Grants, group: String, name: String, _ changes: StorageAccountChanges) async throws
        -> (account: StorageAccountRecord, created: Bool)
    {
        let accountName = try storageAccountName(name)
        try await checkStorage(grants, ResourceAction.writeStorageAccount, group: group, name: name)
        return try await storage.transaction { transaction in
            let resourceGroup = try await existingGroup(group, in: transaction)
            if var existing = try await StorageAccountDirectory.read(accountName, in: transaction) {
                guard existing.isIn(resourceGroup: group) else {
                    throw ResourceManagerError.storageAccountAlreadyTaken(name)
                }
                existing.resource = Self.apply(changes, to: existing, group: resourceGroup, replacingTags: true)
                try await StorageAccountDirectory.update(existing, in: transaction)
                return (existing, false)
            }
            let resource = StorageAccountResource(
                resourceGroup: resourceGroup.name, location: changes.location ?? resourceGroup.location, tags: changes.tags,
                sku: changes.sku ?? "Standard_LRS", kind: changes.kind ?? "StorageV2")
            return (try await storageAccounts.create(accountName, resource: resource, in: transaction), true)
        }
    }

    /// Updates the tags or SKU of an account (`PATCH`).
    public func updateStorageAccount(_ grants: Grants, group: String, name: String, _ changes: StorageAccountChanges) async throws
        -> StorageAccountRecord
    {
        let current = try await existingStorageAccount(group: group, name: name)
        try await checkStorage(grants, ResourceAction.writeStorageAccount, group: group, name: name)
        return try await storage.transaction { transaction in
            var account = try member(
                try await StorageAccountDirectory.read(current.name, in: transaction), of: group, type: Self.storageAccountType, name: name)
            account.resource = Self.apply(changes, to: account, group: try await existingGroup(group, in: transaction), replacingTags: false)
            try await StorageAccountDirectory.update(account, in: transaction)
            return account
        }
    }

    public func storageAccount(_ grants: Grants, group: String, name: String) async throws -> StorageAccountRecord {
        let account = try await existingStorageAccount(group: group, name: name)
        try await checkStorage(grants, ResourceAction.readStorageAccount, group: group, name: name)
        return account
    }

    /// The accounts of a group, or of the subscription (`group` nil), that the caller may read.
    public func listStorageAccounts(_ grants: Grants, group: String?) async throws -> [StorageAccountRecord] {
        if let group { _ = try await existingGroup(group) }
        var visible: [StorageAccountRecord] = []
        for account in try await storageAccounts.list() where group.map({ account.isIn(resourceGroup: $0) }) ?? true {
            if try await authorization.allows(grants, ResourceAction.readStorageAccount, at: .resourceGroup(account.group)) {
                visible.append(account)
            }
        }
        return visible
    }

    /// Deletes an account with its containers and blobs. Returns false when there was no such account (ARM's 204).
    public func deleteStorageAccount(_ grants: Grants, group: String, name: String) async throws -> Bool {
        _ = try await existingGroup(group)
        try await checkStorage(grants, ResourceAction.deleteStorageAccount, group: group, name: name)
        guard let account = try await findStorageAccount(name), account.isIn(resourceGroup: group) else { return false }
        try await storageAccounts.delete(account.name)
        return true
    }

    /// The account's two keys (`listKeys`).
    public func storageAccountKeys(_ grants: Grants, group: String, name: String) async throws -> StorageAccountRecord {
        let account = try await existingStorageAccount(group: group, name: name)
        try await checkStorage(grants, ResourceAction.listStorageAccountKeys, group: group, name: name)
        return account
    }

    /// Replaces one of the account's keys (`regenerateKey`): what the old one signed stops verifying.
    public func regenerateStorageAccountKey(_ grants: Grants, group: String, name: String, keyName: String) async throws
        -> StorageAccountRecord
    {
        let account = try await existingStorageAccount(group: group, name: name)
        try await checkStorage(grants, ResourceAction.regenerateStorageAccountKey, group: group, name: name)
        guard StorageAccountDirectory.keyNames.contains(keyName) else {
            throw ResourceManagerError.badRequest(
                code: "InvalidValuesForRequestParameters", message: "The key name '\(keyName)' is not key1 or key2.")
        }
        return try await storageAccounts.regenerateKey(keyName, of: account.name)
    }

    /// Why an account name cannot be used, or nil when it can (`Microsoft.Storage/checkNameAvailability`).
    public func checkStorageAccountName(_ grants: Grants, name: String) async throws -> NameUnavailability? {
        try await authorization.check(grants, ResourceAction.checkStorageAccountName, at: .subscription)
        guard (try? StorageAccountName(name)) != nil else {
            return .invalid(
                "\(name) is not a valid storage account name. Storage account name must be between 3 and 24 characters in length "
                    + "and use numbers and lower-case letters only.")
        }
        return try await storageAccounts.find(name) == nil ? nil : .alreadyExists
    }

    // MARK: - Helpers

    func existingStorageAccount(group: String, name: String) async throws -> StorageAccountRecord {
        _ = try await existingGroup(group)
        return try member(try await findStorageAccount(name), of: group, type: Self.storageAccountType, name: name)
    }

    func findStorageAccount(_ name: String) async throws -> StorageAccountRecord? { try await storageAccounts.find(name) }

    func storageAccountName(_ name: String) throws -> StorageAccountName {
        do {
            return try StorageAccountName(name)
        } catch {
            throw ResourceManagerError.badRequest(
                code: "AccountNameInvalid",
                message: "\(name) is not a valid storage account name. Storage account name must be between 3 and 24 characters in length "
                    + "and use numbers and lower-case letters only.")
        }
    }

    func checkStorage(_ grants: Grants, _ action: String, group: String, name: String) async throws {
        try await checkInGroup(grants, action, group: group, type: Self.storageAccountType, name: name)
    }

    static func apply(_ changes: StorageAccountChanges, to account: StorageAccountRecord, group: ResourceGroupRecord, replacingTags: Bool)
        -> StorageAccountResource
    {
        var resource =
            account.resource
            ?? StorageAccountResource(resourceGroup: group.name, location: group.location, tags: nil, sku: "Standard_LRS", kind: "StorageV2")
        if let location = changes.location { resource.location = location }
        if replacingTags || changes.tags != nil { resource.tags = changes.tags }
        if let sku = changes.sku { resource.sku = sku }
        if let kind = changes.kind { resource.kind = kind }
        return resource
    }
}
