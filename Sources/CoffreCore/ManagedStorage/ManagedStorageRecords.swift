import CoffreBlob
import CoffreModel

/// What a vault holds about storage accounts: the accounts it manages and their SAS definitions.
public enum ManagedStorageKind: String, Sendable {
    case account = "storage account"
    case sasDefinition = "SAS definition"
}

/// The name of a managed storage account or SAS definition: 1–63 letters and digits (the service's
/// `^[0-9a-zA-Z]+$`, at most 63 so that a SAS definition's secret, `{account}-{definition}`, is a valid secret name),
/// compared case-insensitively.
public struct ManagedStorageName: Hashable, Sendable {
    public static let maxLength = 63

    /// As the client wrote it.
    public let display: String
    /// Case-folded, for storage and comparison.
    public let key: String

    public init(_ raw: String, of kind: ManagedStorageKind) throws {
        let alphanumeric = raw.utf8.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
        }
        guard (1...Self.maxLength).contains(raw.utf8.count), alphanumeric else {
            throw CoffreError.badParameter(
                "The request URI contains an invalid name: \(String(raw.prefix(64))). A \(kind.rawValue) name must be 1-\(Self.maxLength) "
                    + "characters of 0-9, a-z and A-Z.")
        }
        display = raw
        key = raw.lowercased()
    }

    public static func == (lhs: ManagedStorageName, rhs: ManagedStorageName) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

/// A storage account a vault manages (Key Vault's `StorageBundle`): which account of Coffre's Blob service it is, which
/// of its two keys signs the SAS tokens the vault hands out, and whether the vault regenerates that key periodically.
public struct ManagedStorageAccount: Codable, Sendable, Equatable {
    /// The name in the vault, as first written (it need not be the Blob account's name).
    public var name: String
    /// `/subscriptions/…/providers/Microsoft.Storage/storageAccounts/{account}`, as the client gave it.
    public var resourceId: String
    public var activeKeyName: String
    public var autoRegenerateKey: Bool
    /// An ISO 8601 duration (`P90D`).
    public var regenerationPeriod: String?
    /// `enabled`, `created` and `updated` (storage accounts have no `nbf`/`exp`).
    public var attributes: ObjectAttributes
    public var tags: [String: String]?
    /// When the active key last changed: the next automatic regeneration is one period later.
    public var activeKeySince: Int64
    /// The latest automatic regeneration, `{key}@{time}`: the sweep reports it (to the audit log) until it is reported.
    public var lastAutoRegeneration: String?
    public var deletion: Deletion?

    /// The Blob service account the resource id names.
    public var blobAccount: StorageAccountName {
        get throws { try ManagedStorageAccount.blobAccount(named: resourceId) }
    }

    /// When an automatic regeneration is due (nil when the vault does not regenerate this account's keys).
    public var nextRegeneration: Int64? {
        guard autoRegenerateKey, attributes.enabled, let period = regenerationPeriod, let seconds = try? ISODuration.seconds(period) else {
            return nil
        }
        return activeKeySince + seconds
    }

    /// The other key: the one an automatic regeneration replaces before making it the active one.
    var inactiveKeyName: String { activeKeyName == "key1" ? "key2" : "key1" }

    /// Reads the account's name from its Azure resource id. Coffre's vaults manage the accounts of Coffre's own Blob
    /// service only: a resource id of another provider or kind is refused.
    static func blobAccount(named resourceId: String) throws -> StorageAccountName {
        let segments = resourceId.split(separator: "/").map(String.init)
        guard segments.count == 8, segments[0].lowercased() == "subscriptions", segments[2].lowercased() == "resourcegroups",
            segments[4].lowercased() == "providers", segments[5].lowercased() == "microsoft.storage", segments[6].lowercased() == "storageaccounts"
        else {
            throw CoffreError.badParameter(
                "The resourceId '\(String(resourceId.prefix(256)))' is not a storage account of Coffre's Blob service: it must read "
                    + "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}, "
                    + "{account} being one of `coffre storage account list`.")
        }
        return try StorageAccountName(segments[7].lowercased())
    }
}

/// A SAS definition of a managed storage account (Key Vault's `SasDefinitionBundle`): the template of the tokens its
/// secret hands out, and how long each is valid.
public struct SASDefinition: Codable, Sendable, Equatable {
    /// As first written.
    public var name: String
    /// The managed storage account's name, as that account was first written.
    public var account: String
    public var templateUri: String
    public var sasType: SASTemplate.Kind
    /// An ISO 8601 duration (`PT2H`).
    public var validityPeriod: String
    public var attributes: ObjectAttributes
    public var tags: [String: String]?
    public var deletion: Deletion?
    /// Deleted by the deletion of its account: recovered and purged with it.
    public var deletedWithAccount: Bool?

    /// The name of the secret that hands out its tokens.
    public var secretName: String { "\(account)-\(name)" }

    /// The content type of a SAS definition's secret.
    public static let secretContentType = "application/vnd.ms-sastoken-storage"
}

/// A missing or soft-deleted managed storage account or SAS definition, named as the service names them.
public enum ManagedStorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No live one of that name (404 `StorageAccountNotFound`, `SasDefinitionNotFound`).
    case notFound(ManagedStorageKind, name: String)
    /// No soft-deleted one of that name (404, the same codes).
    case deletedNotFound(ManagedStorageKind, name: String)
    /// The name is held by a soft-deleted one (409 `Conflict` / `ObjectIsDeletedButRecoverable`).
    case deletedButRecoverable(ManagedStorageKind, name: String)
    /// It is disabled and the operation needs it enabled (403 `Forbidden` / `StorageAccountDisabled`, `SasDefinitionDisabled`).
    case disabled(ManagedStorageKind, operation: String)
    /// The secret hands out a SAS definition's tokens and changes only with it (403 `Forbidden` / `ManagedBySasDefinition`).
    case managedBySASDefinition(secret: String)

    public var description: String {
        switch self {
        case .notFound(let kind, let name):
            "A \(kind.rawValue) with (name/id) \(name) was not found in this key vault. If you recently deleted this \(kind.rawValue) "
                + "you may be able to recover it using the correct recovery command."
        case .deletedNotFound(let kind, let name): "Deleted \(kind.rawValue) not found: \(name)"
        case .deletedButRecoverable(let kind, let name):
            "The \(kind.rawValue) \(name) is currently in a deleted but recoverable state, and its name cannot be reused; in this "
                + "state, the \(kind.rawValue) can only be recovered or purged."
        case .disabled(let kind, let operation): "Operation \(operation) is not allowed on a disabled \(kind.rawValue)."
        case .managedBySASDefinition(let secret):
            "The secret \(secret) hands out the tokens of a SAS definition and is managed through it: use the storage operations."
        }
    }
}
