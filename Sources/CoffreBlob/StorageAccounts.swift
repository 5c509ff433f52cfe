import CoffreCrypto
import CoffreModel
import CoffreStorage

/// A storage account (`sys/storage-accounts/{name}`): its two access keys. Like every record it is sealed by the
/// barrier, so the keys are never in a file in the clear.
public struct StorageAccountRecord: Codable, Sendable, Equatable, ResourceGroupMember {
    public var name: StorageAccountName
    public var created: Int64
    /// `key1` and `key2`, in that order.
    public var keys: [StorageAccountKey]
    /// Its Azure Resource Manager attributes: nil for an account made by `coffre storage account create`, which is in
    /// the resource group `default`.
    public var resource: StorageAccountResource?

    /// The key of that name (`key1`, `key2`).
    public func key(named name: String) -> StorageAccountKey? { keys.first { $0.name == name } }

    /// The resource group the account belongs to.
    public var group: String { resource?.resourceGroup ?? VaultRecord.defaultResourceGroup }
}

/// What Azure Resource Manager says of a storage account beyond its keys.
public struct StorageAccountResource: Codable, Sendable, Equatable {
    public var resourceGroup: String
    public var location: String
    public var tags: [String: String]?
    /// `Standard_LRS`, … (kept as given: every SKU is served alike).
    public var sku: String
    /// `StorageV2`, `BlobStorage`, …
    public var kind: String

    public init(resourceGroup: String, location: String, tags: [String: String]?, sku: String, kind: String) {
        self.resourceGroup = resourceGroup
        self.location = location
        self.tags = tags
        self.sku = sku
        self.kind = kind
    }
}

/// One access key: 512 random bits, shown base64-encoded as Azure does.
public struct StorageAccountKey: Codable, Sendable, Equatable {
    public var name: String
    /// The key, standard base64 (what clients are given and what SAS tokens are signed with).
    public var value: String
    public var created: Int64

    /// The key's bytes (the HMAC key).
    public var bytes: [UInt8] { Base64.decode(value) ?? [] }
}

/// No storage account of that name (the management front maps it to 404).
public struct StorageAccountNotFound: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String

    public init(name: String) { self.name = name }
    public var description: String { "The storage account \(name) was not found." }
}

/// The storage accounts of the server: create, read, list, regenerate a key, delete with everything stored in it.
/// Each change is one transaction.
public struct StorageAccountDirectory: Sendable {
    public static let keyNames = ["key1", "key2"]

    let storage: any StorageBackend
    let clock: any WallClock
    let makeKey: @Sendable () -> [UInt8]

    /// - Parameter makeKey: the source of new keys (512 random bits each; tests inject known keys).
    public init(storage: any StorageBackend, clock: any WallClock, makeKey: @escaping @Sendable () -> [UInt8] = { SecureRandom.bytes(64) }) {
        self.storage = storage
        self.clock = clock
        self.makeKey = makeKey
    }

    static func key(_ name: String) -> String { "sys/storage-accounts/\(name)" }

    /// Where an account's containers and blobs live (`BlobStore`).
    static func contentPrefix(_ name: StorageAccountName) -> String { "blob/\(name)/" }

    public func create(_ name: StorageAccountName) async throws -> StorageAccountRecord {
        try await storage.transaction { transaction in try await create(name, resource: nil, in: transaction) }
    }

    /// Creates an account within a caller's transaction (Azure Resource Manager's, which checks the resource group).
    public func create(_ name: StorageAccountName, resource: StorageAccountResource?, in transaction: any StorageTransaction) async throws
        -> StorageAccountRecord
    {
        let now = clock.now
        let record = StorageAccountRecord(
            name: name, created: now, keys: Self.keyNames.map { StorageAccountKey(name: $0, value: Base64.standardEncoded(makeKey()), created: now) },
            resource: resource)
        guard try await transaction.get(Self.key(name.value)) == nil else {
            throw CoffreError.conflict("The storage account named \(name) is already taken.")
        }
        try await transaction.write(record, at: Self.key(name.value))
        return record
    }

    /// The account of that name as `reader` sees it (a transaction's view).
    public static func read(_ name: StorageAccountName, in reader: any StorageReader) async throws -> StorageAccountRecord? {
        try await reader.read(StorageAccountRecord.self, at: key(name.value))
    }

    /// Replaces an existing account's resource attributes.
    public static func update(_ record: StorageAccountRecord, in transaction: any StorageTransaction) async throws {
        try await transaction.write(record, at: key(record.name.value))
    }

    public func get(_ name: StorageAccountName) async throws -> StorageAccountRecord {
        guard let record = try await find(name.value) else { throw StorageAccountNotFound(name: name.value) }
        return record
    }

    /// The account named by a request's host, if there is one (any string: a host may name anything).
    public func find(_ name: String) async throws -> StorageAccountRecord? {
        guard StorageAccountName.isValid(name) else { return nil }
        return try await storage.read(StorageAccountRecord.self, at: Self.key(name))
    }

    public func list() async throws -> [StorageAccountRecord] {
        try await storage.readAll(StorageAccountRecord.self, prefix: Self.key("")).map(\.record)
    }

    /// Replaces one key with a new one: from the commit on, requests and SAS tokens signed with the old key fail.
    public func regenerateKey(_ keyName: String, of name: StorageAccountName) async throws -> StorageAccountRecord {
        try Self.checkKeyName(keyName)
        let fresh = StorageAccountKey(name: keyName, value: Base64.standardEncoded(makeKey()), created: clock.now)
        return try await storage.transaction { try await Self.replace(fresh, of: name, in: $0) }
    }

    /// `regenerateKey` inside a caller's transaction (a vault switching the active key of an account it manages).
    public func regenerateKey(_ keyName: String, of name: StorageAccountName, transaction: any StorageTransaction) async throws
        -> StorageAccountRecord
    {
        try Self.checkKeyName(keyName)
        return try await Self.replace(
            StorageAccountKey(name: keyName, value: Base64.standardEncoded(makeKey()), created: clock.now), of: name, in: transaction)
    }

    /// The account, read inside a caller's transaction.
    public func get(_ name: StorageAccountName, transaction: any StorageTransaction) async throws -> StorageAccountRecord {
        guard let record = try await transaction.read(StorageAccountRecord.self, at: Self.key(name.value)) else {
            throw StorageAccountNotFound(name: name.value)
        }
        return record
    }

    /// Refuses a key name other than `key1` and `key2`.
    public static func checkKeyName(_ keyName: String) throws {
        guard keyNames.contains(keyName) else {
            throw CoffreError.badParameter("The key name \(String(keyName.prefix(64))) is not valid: use key1 or key2.")
        }
    }

    private static func replace(_ fresh: StorageAccountKey, of name: StorageAccountName, in transaction: any StorageTransaction) async throws
        -> StorageAccountRecord
    {
        guard var record = try await transaction.read(StorageAccountRecord.self, at: key(name.value)) else {
            throw StorageAccountNotFound(name: name.value)
        }
        record.keys = record.keys.map { $0.name == fresh.name ? fresh : $0 }
        try await transaction.write(record, at: key(name.value))
        return record
    }

    /// Deletes the account with every container and blob in it.
    public func delete(_ name: StorageAccountName) async throws {
        try await storage.transaction { transaction in try await Self.delete(name, in: transaction) }
    }

    /// Deletes the account with everything in it within a caller's transaction (a resource group's deletion).
    public static func delete(_ name: StorageAccountName, in transaction: any StorageTransaction) async throws {
        guard try await transaction.get(key(name.value)) != nil else { throw StorageAccountNotFound(name: name.value) }
        try await transaction.delete(key(name.value))
        try await transaction.deletePrefix(contentPrefix(name))
    }
}
