/// A Managed HSM data-plane operation: its audit name, the data action local RBAC requires for it, what it addresses
/// (which decides the scope its assignments are looked up at) and whether it waits for the pool's activation.
///
/// Key operations (and full backup and restore, which carry keys sealed to the security domain) need an activated
/// pool; role management, settings and the security domain itself work before, as in Azure.
public struct ManagedHSMOperation: Sendable, Hashable, CustomStringConvertible {
    public enum Target: Sendable, Hashable {
        /// The pool as a whole: scope `/`.
        case pool
        /// Every key (lists, restores of a blob): scope `/keys`.
        case keys
        /// One key: scope `/keys/{name}`.
        case key
        /// A role assignment: the scope named in the request's path.
        case assignmentScope
    }

    public let name: String
    public let dataAction: ManagedHSMDataAction
    public let target: Target
    public let requiresActivation: Bool

    init(_ name: String, _ dataAction: ManagedHSMDataAction, _ target: Target, requiresActivation: Bool) {
        self.name = name
        self.dataAction = dataAction
        self.target = target
        self.requiresActivation = requiresActivation
    }

    private static func key(_ name: String, _ action: ManagedHSMDataAction, _ target: Target = .key) -> Self {
        Self(name, action, target, requiresActivation: true)
    }

    private static func admin(_ name: String, _ action: ManagedHSMDataAction, _ target: Target = .pool) -> Self {
        Self(name, action, target, requiresActivation: false)
    }

    public var description: String { name }

    /// The scope to authorise this operation at: `keyName` for key operations, `assignmentScope` for role assignments.
    public func scope(keyName: String? = nil, assignmentScope: ManagedHSMRoleScope = .global) throws -> ManagedHSMRoleScope {
        switch target {
        case .pool: .global
        case .keys: .keys
        case .key: try ManagedHSMRoleScope.forKey(keyName)
        case .assignmentScope: assignmentScope
        }
    }

    // MARK: Keys (every operation of keys.json)

    public static let keyCreate = key("KeyCreate", .keysCreate)
    public static let keyImport = key("KeyImport", .keysImport)
    public static let keyGet = key("KeyGet", .keysRead)
    public static let keyList = key("KeyList", .keysRead, .keys)
    public static let keyListVersions = key("KeyListVersions", .keysRead)
    public static let keyUpdate = key("KeyUpdate", .keysWrite)
    public static let keyDelete = key("KeyDelete", .keysDelete)
    public static let keyGetDeleted = key("KeyGetDeleted", .deletedKeysRead)
    public static let keyListDeleted = key("KeyListDeleted", .deletedKeysRead, .keys)
    public static let keyRecover = key("KeyRecover", .deletedKeysRecover)
    public static let keyPurge = key("KeyPurge", .deletedKeysDelete)
    public static let keyBackup = key("KeyBackup", .keysBackup)
    public static let keyRestore = key("KeyRestore", .keysRestore, .keys)
    public static let keyEncrypt = key("KeyEncrypt", .keysEncrypt)
    public static let keyDecrypt = key("KeyDecrypt", .keysDecrypt)
    public static let keyWrap = key("KeyWrap", .keysWrap)
    public static let keyUnwrap = key("KeyUnwrap", .keysUnwrap)
    public static let keySign = key("KeySign", .keysSign)
    public static let keyVerify = key("KeyVerify", .keysVerify)
    public static let keyRelease = key("KeyRelease", .keysRelease)
    public static let keyAttestation = key("KeyGetAttestation", .keysRead)
    public static let keyRotate = key("KeyRotate", .keysRotate)
    public static let keyRotationPolicyGet = key("KeyRotationPolicyGet", .keysRead)
    public static let keyRotationPolicySet = key("KeyRotationPolicySet", .keysWrite)
    public static let randomBytes = key("RandomBytes", .rng, .pool)

    // MARK: Full backup and restore (backuprestore.json)

    public static let fullBackup = key("FullBackup", .backupStart, .pool)
    public static let preFullBackup = key("PreFullBackup", .backupStart, .pool)
    public static let fullBackupStatus = key("FullBackupStatus", .backupStatus, .pool)
    public static let fullRestore = key("FullRestore", .restoreStart, .pool)
    public static let preFullRestore = key("PreFullRestore", .restoreStart, .pool)
    public static let selectiveKeyRestore = key("SelectiveKeyRestore", .restoreStart)
    public static let restoreStatus = key("RestoreStatus", .restoreStatus, .pool)

    // MARK: Security domain (securitydomain.json)

    public static let securityDomainDownload = admin("SecurityDomainDownload", .securityDomainDownload)
    public static let securityDomainDownloadStatus = admin("SecurityDomainDownloadStatus", .securityDomainDownloadRead)
    public static let securityDomainTransferKey = admin("SecurityDomainTransferKey", .securityDomainTransferKeyRead)
    public static let securityDomainUpload = admin("SecurityDomainUpload", .securityDomainUpload)
    public static let securityDomainUploadStatus = admin("SecurityDomainUploadStatus", .securityDomainUploadRead)

    // MARK: Settings (settings.json)

    public static let settingsList = admin("SettingsList", .settingsRead)
    public static let settingGet = admin("SettingGet", .settingsRead)
    public static let settingUpdate = admin("SettingUpdate", .settingsWrite)

    // MARK: Role management (rbac.json)

    public static let roleDefinitionList = admin("RoleDefinitionList", .roleDefinitionsRead)
    public static let roleDefinitionGet = admin("RoleDefinitionGet", .roleDefinitionsRead)
    public static let roleDefinitionSet = admin("RoleDefinitionSet", .roleDefinitionsWrite)
    public static let roleDefinitionDelete = admin("RoleDefinitionDelete", .roleDefinitionsDelete)
    public static let roleAssignmentList = admin("RoleAssignmentList", .roleAssignmentsRead, .assignmentScope)
    public static let roleAssignmentGet = admin("RoleAssignmentGet", .roleAssignmentsRead, .assignmentScope)
    public static let roleAssignmentCreate = admin("RoleAssignmentCreate", .roleAssignmentsWrite, .assignmentScope)
    public static let roleAssignmentDelete = admin("RoleAssignmentDelete", .roleAssignmentsDelete, .assignmentScope)

    /// Every Managed HSM data-plane operation.
    public static let all: [ManagedHSMOperation] = [
        .keyCreate, .keyImport, .keyGet, .keyList, .keyListVersions, .keyUpdate, .keyDelete, .keyGetDeleted, .keyListDeleted,
        .keyRecover, .keyPurge, .keyBackup, .keyRestore, .keyEncrypt, .keyDecrypt, .keyWrap, .keyUnwrap, .keySign, .keyVerify,
        .keyRelease, .keyAttestation, .keyRotate, .keyRotationPolicyGet, .keyRotationPolicySet, .randomBytes, .fullBackup,
        .preFullBackup, .fullBackupStatus, .fullRestore, .preFullRestore, .selectiveKeyRestore, .restoreStatus,
        .securityDomainDownload, .securityDomainDownloadStatus, .securityDomainTransferKey, .securityDomainUpload,
        .securityDomainUploadStatus, .settingsList, .settingGet, .settingUpdate, .roleDefinitionList, .roleDefinitionGet,
        .roleDefinitionSet, .roleDefinitionDelete, .roleAssignmentList, .roleAssignmentGet, .roleAssignmentCreate,
        .roleAssignmentDelete,
    ]
}
