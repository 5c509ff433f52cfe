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

    public static let certificateGet = VaultOperation("CertificateGet", .certificates, "get", dataAction: "certificates/read")
    public static let certificateList = VaultOperation("CertificateList", .certificates, "list", dataAction: "certificates/read")
    public static let certificateListVersions = VaultOperation(
        "CertificateListVersions", .certificates, "list", dataAction: "certificates/read")
    public static let certificateCreate = VaultOperation("CertificateCreate", .certificates, "create", dataAction: "certificates/create/action")
    public static let certificateImport = VaultOperation("CertificateImport", .certificates, "import", dataAction: "certificates/import/action")
    public static let certificateUpdate = VaultOperation("CertificateUpdate", .certificates, "update", dataAction: "certificates/update/action")
    public static let certificateDelete = VaultOperation("CertificateDelete", .certificates, "delete", dataAction: "certificates/delete")
    public static let certificateGetDeleted = VaultOperation("CertificateGetDeleted", .certificates, "get", dataAction: "certificates/read")
    public static let certificateListDeleted = VaultOperation(
        "CertificateListDeleted", .certificates, "list", dataAction: "certificates/read")
    public static let certificateRecover = VaultOperation(
        "CertificateRecover", .certificates, "recover", dataAction: "certificates/recover/action")
    public static let certificatePurge = VaultOperation("CertificatePurge", .certificates, "purge", dataAction: "certificates/purge/action")
    public static let certificateBackup = VaultOperation("CertificateBackup", .certificates, "backup", dataAction: "certificates/backup/action")
    public static let certificateRestore = VaultOperation(
        "CertificateRestore", .certificates, "restore", dataAction: "certificates/restore/action")
    public static let certificatePolicyGet = VaultOperation("CertificatePolicyGet", .certificates, "get", dataAction: "certificates/read")
    public static let certificatePolicyUpdate = VaultOperation(
        "CertificatePolicyUpdate", .certificates, "update", dataAction: "certificates/update/action")
    public static let certificatePendingGet = VaultOperation("CertificatePendingGet", .certificates, "get", dataAction: "certificates/read")
    public static let certificatePendingUpdate = VaultOperation(
        "CertificatePendingUpdate", .certificates, "update", dataAction: "certificates/update/action")
    public static let certificatePendingDelete = VaultOperation(
        "CertificatePendingDelete", .certificates, "delete", dataAction: "certificates/delete")
    public static let certificatePendingMerge = VaultOperation(
        "CertificatePendingMerge", .certificates, "create", dataAction: "certificates/create/action")
    public static let certificateContactsGet = VaultOperation(
        "CertificateContactsGet", .certificates, "managecontacts", dataAction: "certificatecontacts/read")
    public static let certificateContactsSet = VaultOperation(
        "CertificateContactsSet", .certificates, "managecontacts", dataAction: "certificatecontacts/write/action")
    public static let certificateContactsDelete = VaultOperation(
        "CertificateContactsDelete", .certificates, "managecontacts", dataAction: "certificatecontacts/delete")
    public static let certificateIssuerGet = VaultOperation("CertificateIssuerGet", .certificates, "getissuers", dataAction: "certificatecas/read")
    public static let certificateIssuerList = VaultOperation(
        "CertificateIssuersList", .certificates, "listissuers", dataAction: "certificatecas/read")
    public static let certificateIssuerSet = VaultOperation(
        "CertificateIssuerSet", .certificates, "setissuers", dataAction: "certificatecas/write/action")
    public static let certificateIssuerUpdate = VaultOperation(
        "CertificateIssuerUpdate", .certificates, "setissuers", dataAction: "certificatecas/write/action")
    public static let certificateIssuerDelete = VaultOperation(
        "CertificateIssuerDelete", .certificates, "deleteissuers", dataAction: "certificatecas/delete")

    /// Every certificates operation (permission matrices, documentation).
    public static let certificateOperations: [VaultOperation] = [
        .certificateGet, .certificateList, .certificateListVersions, .certificateCreate, .certificateImport, .certificateUpdate,
        .certificateDelete, .certificateGetDeleted, .certificateListDeleted, .certificateRecover, .certificatePurge, .certificateBackup,
        .certificateRestore, .certificatePolicyGet, .certificatePolicyUpdate, .certificatePendingGet, .certificatePendingUpdate,
        .certificatePendingDelete, .certificatePendingMerge, .certificateContactsGet, .certificateContactsSet, .certificateContactsDelete,
        .certificateIssuerGet, .certificateIssuerList, .certificateIssuerSet, .certificateIssuerUpdate, .certificateIssuerDelete,
    ]

    /// Every secrets operation (permission matrices, documentation).
    public static let secretOperations: [VaultOperation] = [
        .secretSet, .secretGet, .secretList, .secretListVersions, .secretUpdate, .secretDelete, .secretGetDeleted,
        .secretListDeleted, .secretRecover, .secretPurge, .secretBackup, .secretRestore,
    ]

    public static let storageAccountGet = VaultOperation("StorageAccountGet", .storage, "get", dataAction: "storageaccounts/read")
    public static let storageAccountList = VaultOperation("StorageAccountList", .storage, "list", dataAction: "storageaccounts/read")
    public static let storageAccountSet = VaultOperation("StorageAccountSet", .storage, "set", dataAction: "storageaccounts/set/action")
    public static let storageAccountUpdate = VaultOperation("StorageAccountUpdate", .storage, "update", dataAction: "storageaccounts/set/action")
    public static let storageAccountDelete = VaultOperation("StorageAccountDelete", .storage, "delete", dataAction: "storageaccounts/delete")
    public static let storageAccountRegenerateKey = VaultOperation(
        "StorageAccountRegenerateKey", .storage, "regeneratekey", dataAction: "storageaccounts/regeneratekey/action")
    public static let storageAccountBackup = VaultOperation("StorageAccountBackup", .storage, "backup", dataAction: "storageaccounts/backup/action")
    public static let storageAccountRestore = VaultOperation(
        "StorageAccountRestore", .storage, "restore", dataAction: "storageaccounts/restore/action")
    public static let storageAccountGetDeleted = VaultOperation("StorageAccountGetDeleted", .storage, "get", dataAction: "storageaccounts/read")
    public static let storageAccountListDeleted = VaultOperation("StorageAccountListDeleted", .storage, "list", dataAction: "storageaccounts/read")
    public static let storageAccountRecover = VaultOperation(
        "StorageAccountRecover", .storage, "recover", dataAction: "storageaccounts/recover/action")
    public static let storageAccountPurge = VaultOperation("StorageAccountPurge", .storage, "purge", dataAction: "storageaccounts/purge/action")
    public static let sasDefinitionGet = VaultOperation("SasDefinitionGet", .storage, "getsas", dataAction: "storageaccounts/sas/read")
    public static let sasDefinitionList = VaultOperation("SasDefinitionList", .storage, "listsas", dataAction: "storageaccounts/sas/read")
    public static let sasDefinitionSet = VaultOperation("SasDefinitionSet", .storage, "setsas", dataAction: "storageaccounts/sas/set/action")
    public static let sasDefinitionUpdate = VaultOperation("SasDefinitionUpdate", .storage, "setsas", dataAction: "storageaccounts/sas/set/action")
    public static let sasDefinitionDelete = VaultOperation("SasDefinitionDelete", .storage, "deletesas", dataAction: "storageaccounts/sas/delete")
    public static let sasDefinitionGetDeleted = VaultOperation("SasDefinitionGetDeleted", .storage, "getsas", dataAction: "storageaccounts/sas/read")
    public static let sasDefinitionListDeleted = VaultOperation(
        "SasDefinitionListDeleted", .storage, "listsas", dataAction: "storageaccounts/sas/read")
    public static let sasDefinitionRecover = VaultOperation(
        "SasDefinitionRecover", .storage, "recover", dataAction: "storageaccounts/recover/action")

    /// Every storage operation (managed storage accounts and their SAS definitions), with the access-policy permission
    /// and RBAC data action the service documents for each.
    public static let storageOperations: [VaultOperation] = [
        .storageAccountGet, .storageAccountList, .storageAccountSet, .storageAccountUpdate, .storageAccountDelete, .storageAccountRegenerateKey,
        .storageAccountBackup, .storageAccountRestore, .storageAccountGetDeleted, .storageAccountListDeleted, .storageAccountRecover,
        .storageAccountPurge, .sasDefinitionGet, .sasDefinitionList, .sasDefinitionSet, .sasDefinitionUpdate, .sasDefinitionDelete,
        .sasDefinitionGetDeleted, .sasDefinitionListDeleted, .sasDefinitionRecover,
    ]
}
