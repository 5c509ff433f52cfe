import CoffreModel

/// A data-plane operation: its audit name (Key Vault's `operationName`) and the access-policy permission it needs.
///
/// An open set of static members rather than an enum, so each object group declares its own.
public struct VaultOperation: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let area: PermissionArea
    public let permission: String

    public init(_ name: String, _ area: PermissionArea, _ permission: String) {
        self.name = name
        self.area = area
        self.permission = permission
    }

    public var description: String { name }
}

extension VaultOperation {
    public static let secretSet = VaultOperation("SecretSet", .secrets, "set")
    public static let secretGet = VaultOperation("SecretGet", .secrets, "get")
    public static let secretList = VaultOperation("SecretList", .secrets, "list")
    public static let secretListVersions = VaultOperation("SecretListVersions", .secrets, "list")
    public static let secretUpdate = VaultOperation("SecretUpdate", .secrets, "set")
    public static let secretDelete = VaultOperation("SecretDelete", .secrets, "delete")
    public static let secretGetDeleted = VaultOperation("SecretGetDeleted", .secrets, "list")
    public static let secretListDeleted = VaultOperation("SecretListDeleted", .secrets, "list")
    public static let secretRecover = VaultOperation("SecretRecover", .secrets, "recover")
    public static let secretPurge = VaultOperation("SecretPurge", .secrets, "purge")
    public static let secretBackup = VaultOperation("SecretBackup", .secrets, "backup")
    public static let secretRestore = VaultOperation("SecretRestore", .secrets, "restore")
}
