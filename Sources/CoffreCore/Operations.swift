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

    public static let keyCreate = VaultOperation("KeyCreate", .keys, "create", dataAction: "keys/create/action")
    public static let keyImport = VaultOperation("KeyImport", .keys, "import", dataAction: "keys/import/action")
    public static let keyGet = VaultOperation("KeyGet", .keys, "get", dataAction: "keys/read")
    public static let keyList = VaultOperation("KeyList", .keys, "list", dataAction: "keys/read")
    public static let keyListVersions = VaultOperation("KeyListVersions", .keys, "list", dataAction: "keys/read")
    public static let keyUpdate = VaultOperation("KeyUpdate", .keys, "update", dataAction: "keys/update/action")
    public static let keyDelete = VaultOperation("KeyDelete", .keys, "delete", dataAction: "keys/delete")
    public static let keyGetDeleted = VaultOperation("KeyGetDeleted", .keys, "get", dataAction: "keys/read")
    public static let keyListDeleted = VaultOperation("KeyListDeleted", .keys, "list", dataAction: "keys/read")
    public static let keyRecover = VaultOperation("KeyRecover", .keys, "recover", dataAction: "keys/recover/action")
    public static let keyPurge = VaultOperation("KeyPurge", .keys, "purge", dataAction: "keys/purge/action")
    public static let keyBackup = VaultOperation("KeyBackup", .keys, "backup", dataAction: "keys/backup/action")
    public static let keyRestore = VaultOperation("KeyRestore", .keys, "restore", dataAction: "keys/restore/action")
    public static let keyEncrypt = VaultOperation("KeyEncrypt", .keys, "encrypt", dataAction: "keys/encrypt/action")
    public static let keyDecrypt = VaultOperation("KeyDecrypt", .keys, "decrypt", dataAction: "keys/decrypt/action")
    public static let keyWrap = VaultOperation("KeyWrap", .keys, "wrapkey", dataAction: "keys/wrap/action")
    public static let keyUnwrap = VaultOperation("KeyUnwrap", .keys, "unwrapkey", dataAction: "keys/unwrap/action")
    public static let keySign = VaultOperation("KeySign", .keys, "sign", dataAction: "keys/sign/action")
    public static let keyVerify = VaultOperation("KeyVerify", .keys, "verify", dataAction: "keys/verify/action")
    public static let keyRelease = VaultOperation("KeyRelease", .keys, "release", dataAction: "keys/release/action")
    public static let keyRotate = VaultOperation("KeyRotate", .keys, "rotate", dataAction: "keys/rotate/action")
    public static let keyRotationPolicyGet = VaultOperation(
        "KeyRotationPolicyGet", .keys, "getrotationpolicy", dataAction: "keyrotationpolicies/read")
    public static let keyRotationPolicySet = VaultOperation(
        "KeyRotationPolicySet", .keys, "setrotationpolicy", dataAction: "keyrotationpolicies/write")
    public static let randomBytes = VaultOperation("RandomBytes", .keys, "get", dataAction: "rng/action")

    /// Every keys operation (permission matrices, documentation).
    public static let keyOperations: [VaultOperation] = [
        .keyCreate, .keyImport, .keyGet, .keyList, .keyListVersions, .keyUpdate, .keyDelete, .keyGetDeleted, .keyListDeleted,
        .keyRecover, .keyPurge, .keyBackup, .keyRestore, .keyEncrypt, .keyDecrypt, .keyWrap, .keyUnwrap, .keySign, .keyVerify,
        .keyRelease, .keyRotate, .keyRotationPolicyGet, .keyRotationPolicySet,
    ]

    /// Every secrets operation (permission matrices, documentation).
    public static let secretOperations: [VaultOperation] = [
        .secretSet, .secretGet, .secretList, .secretListVersions, .secretUpdate, .secretDelete, .secretGetDeleted,
        .secretListDeleted, .secretRecover, .secretPurge, .secretBackup, .secretRestore,
    ]
}
