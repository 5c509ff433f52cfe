import CoffreModel

/// A data-plane operation: its audit name (Key Vault's `operationName`), the access-policy permission it needs and
/// the RBAC data action it needs.
///
/// An open set of static members rather than an enum, so each object group declares its own.
public struct VaultOperation: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let area: PermissionArea
    public let permission: String
    /// The Azure RBAC data action (`Microsoft.KeyVault/vaults/secrets/getSecret/action`).
    public let dataAction: String

    public init(_ name: String, _ area: PermissionArea, _ permission: String, dataAction: String) {
        self.name = name
        self.area = area
        self.permission = permission
        self.dataAction = "Microsoft.KeyVault/vaults/" + dataAction
    }

    public var description: String { name }
}

extension VaultOperation {
    public static let secretSet = VaultOperation("SecretSet", .secrets, "set", dataAction: "secrets/setSecret/action")
    public static let secretGet = VaultOperation("SecretGet", .secrets, "get", dataAction: "secrets/getSecret/action")
    public static let secretList = VaultOperation("SecretList", .secrets, "list", dataAction: "secrets/readMetadata/action")
    public static let secretListVersions = VaultOperation(
        "SecretListVersions", .secrets, "list", dataAction: "secrets/readMetadata/action")
    public static let secretUpdate = VaultOperation("SecretUpdate", .secrets, "set", dataAction: "secrets/update/action")
    public static let secretDelete = VaultOperation("SecretDelete", .secrets, "delete", dataAction: "secrets/delete")
    public static let secretGetDeleted = VaultOperation("SecretGetDeleted", .secrets, "list", dataAction: "secrets/readMetadata/action")
    public static let secretListDeleted = VaultOperation(
        "SecretListDeleted", .secrets, "list", dataAction: "secrets/readMetadata/action")
    public static let secretRecover = VaultOperation("SecretRecover", .secrets, "recover", dataAction: "secrets/recover/action")
    public static let secretPurge = VaultOperation("SecretPurge", .secrets, "purge", dataAction: "secrets/purge/action")
    public static let secretBackup = VaultOperation("SecretBackup", .secrets, "backup", dataAction: "secrets/backup/action")
    public static let secretRestore = VaultOperation("SecretRestore", .secrets, "restore", dataAction: "secrets/restore/action")

    /// Every secrets operation (permission matrices, documentation).
    public static let secretOperations: [VaultOperation] = [
        .secretSet, .secretGet, .secretList, .secretListVersions, .secretUpdate, .secretDelete, .secretGetDeleted,
        .secretListDeleted, .secretRecover, .secretPurge, .secretBackup, .secretRestore,
    ]
}
