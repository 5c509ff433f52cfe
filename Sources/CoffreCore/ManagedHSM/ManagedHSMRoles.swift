import CoffreModel

/// A Managed HSM local RBAC data action (`Microsoft.KeyVault/managedHsm/keys/read/action`).
public struct ManagedHSMDataAction: Hashable, Sendable, CustomStringConvertible {
    public static let prefix = "Microsoft.KeyVault/managedHsm/"

    public let value: String

    init(_ suffix: String) { self.value = Self.prefix + suffix }

    public var description: String { value }

    public static let keysRead = Self("keys/read/action")
    public static let keysWrite = Self("keys/write/action")
    public static let keysCreate = Self("keys/create")
    public static let keysDelete = Self("keys/delete")
    public static let keysRotate = Self("keys/rotate/action")
    public static let keysImport = Self("keys/import/action")
    public static let keysExport = Self("keys/export/action")
    public static let keysRelease = Self("keys/release/action")
    public static let keysBackup = Self("keys/backup/action")
    public static let keysRestore = Self("keys/restore/action")
    public static let keysEncrypt = Self("keys/encrypt/action")
    public static let keysDecrypt = Self("keys/decrypt/action")
    public static let keysWrap = Self("keys/wrap/action")
    public static let keysUnwrap = Self("keys/unwrap/action")
    public static let keysSign = Self("keys/sign/action")
    public static let keysVerify = Self("keys/verify/action")
    public static let keysDerive = Self("keys/derive/action")
    public static let deletedKeysRead = Self("keys/deletedKeys/read/action")
    public static let deletedKeysRecover = Self("keys/deletedKeys/recover/action")
    public static let deletedKeysDelete = Self("keys/deletedKeys/delete")
    public static let roleAssignmentsRead = Self("roleAssignments/read/action")
    public static let roleAssignmentsWrite = Self("roleAssignments/write/action")
    public static let roleAssignmentsDelete = Self("roleAssignments/delete/action")
    public static let roleDefinitionsRead = Self("roleDefinitions/read/action")
    public static let roleDefinitionsWrite = Self("roleDefinitions/write/action")
    public static let roleDefinitionsDelete = Self("roleDefinitions/delete/action")
    public static let securityDomainDownload = Self("securitydomain/download/action")
    public static let securityDomainDownloadRead = Self("securitydomain/download/read")
    public static let securityDomainUpload = Self("securitydomain/upload/action")
    public static let securityDomainUploadRead = Self("securitydomain/upload/read")
    public static let securityDomainTransferKeyRead = Self("securitydomain/transferkey/read")
    public static let backupStart = Self("backup/start/action")
    public static let backupStatus = Self("backup/status/action")
    public static let restoreStart = Self("restore/start/action")
    public static let restoreStatus = Self("restore/status/action")
    public static let rng = Self("rng/action")
    /// Azure documents no data action for the settings API, only that an administrator changes settings: Coffre names
    /// these two and grants them with the Administrator role.
    public static let settingsRead = Self("settings/read/action")
    public static let settingsWrite = Self("settings/write/action")
    /// The EKM connection API (preview) documents "ekm/read", "ekm/write" and "ekm/delete" permissions; the full
    /// action names follow the pattern of the others (not verified against the service).
    public static let ekmRead = Self("ekm/read/action")
    public static let ekmWrite = Self("ekm/write/action")
    public static let ekmDelete = Self("ekm/delete/action")

    /// Every data action Coffre knows: the service's `DataAction` enum (rbac.json), the two the live service added
    /// (`keys/rotate/action`, `keys/derive/action`), and the settings and EKM actions above.
    public static let known: [ManagedHSMDataAction] = [
        .keysRead, .keysWrite, .keysCreate, .keysDelete, .keysRotate, .keysImport, .keysExport, .keysRelease, .keysBackup,
        .keysRestore, .keysEncrypt, .keysDecrypt, .keysWrap, .keysUnwrap, .keysSign, .keysVerify, .keysDerive, .deletedKeysRead,
        .deletedKeysRecover, .deletedKeysDelete, .roleAssignmentsRead, .roleAssignmentsWrite, .roleAssignmentsDelete,
        .roleDefinitionsRead, .roleDefinitionsWrite, .roleDefinitionsDelete, .securityDomainDownload, .securityDomainDownloadRead,
        .securityDomainUpload, .securityDomainUploadRead, .securityDomainTransferKeyRead, .backupStart, .backupStatus,
        .restoreStart, .restoreStatus, .rng, .settingsRead, .settingsWrite, .ekmRead, .ekmWrite, .ekmDelete,
    ]
}

/// One permission block of a role definition, its four lists as the client wrote them. Only the data actions take
/// part in data-plane decisions; `actions` and `notActions` (control plane) are kept and echoed.
public struct ManagedHSMPermission: Codable, Sendable, Equatable {
    public var actions: [String]
    public var notActions: [String]
    public var dataActions: [String]
    public var notDataActions: [String]

    public init(actions: [String] = [], notActions: [String] = [], dataActions: [String] = [], notDataActions: [String] = []) {
        self.actions = actions
        self.notActions = notActions
        self.dataActions = dataActions
        self.notDataActions = notDataActions
    }

    /// As Azure evaluates a permission: some data action matches and no not-data action of the same block does.
    /// Patterns compare case-insensitively, `*` matching any run of characters. A not-data action is no deny: it
    /// only narrows its own block, so another block or role may still grant the action.
    public func grants(_ action: ManagedHSMDataAction) -> Bool {
        dataActions.contains { RoleDefinition.matches($0, action.value) }
            && !notDataActions.contains { RoleDefinition.matches($0, action.value) }
    }
}

/// Where an assignment applies: the whole pool (`/`), every key (`/keys`), or one key (`/keys/{name}`).
public enum ManagedHSMRoleScope: Hashable, Sendable, Codable, CustomStringConvertible {
    case global
    case keys
    /// The case-folded key name.
    case key(String)

    /// Reads `/`, `/keys` or `/keys/{name}` (slashes around and doubled are ignored, as clients send `//` or `///`
    /// for `/`); `keys` compares case-insensitively.
    public init(parsing text: String) throws {
        let segments = text.split(separator: "/")
        switch segments.count {
        case 0: self = .global
        case 1 where segments[0].lowercased() == "keys": self = .keys
        case 2 where segments[0].lowercased() == "keys": self = .key(try ObjectName(String(segments[1]), kind: .key).key)
        default: throw CoffreError.badParameter("The scope '\(text)' is not '/', '/keys' or '/keys/{key name}'.")
        }
    }

    /// The scope of an operation on the key `name` (nil: on the pool as a whole).
    public static func forKey(_ name: String?) throws -> ManagedHSMRoleScope {
        guard let name else { return .global }
        return .key(try ObjectName(name, kind: .key).key)
    }

    public var description: String {
        switch self {
        case .global: "/"
        case .keys: "/keys"
        case .key(let name): "/keys/\(name)"
        }
    }

    /// Whether an assignment at this scope applies to a request at `other`: `/` covers everything, `/keys` every key.
    public func covers(_ other: ManagedHSMRoleScope) -> Bool {
        switch (self, other) {
        case (.global, _), (.keys, .keys), (.keys, .key): true
        case (.key(let mine), .key(let theirs)): mine == theirs
        default: false
        }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A Managed HSM role definition: a built-in role or a pool's custom role.
public struct ManagedHSMRoleDefinition: Codable, Sendable, Equatable {
    public enum RoleType: String, Codable, Sendable {
        case builtIn = "AKVBuiltInRole"
        case custom = "CustomRole"
    }

    /// The definition's GUID, lower-case.
    public var name: String
    public var roleName: String
    public var description: String
    public var type: RoleType
    public var permissions: [ManagedHSMPermission]
    public var assignableScopes: [String]

    public static let idPrefix = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"

    /// As the service writes it, with no leading slash.
    public var id: String { Self.idPrefix + name }

    public func grants(_ action: ManagedHSMDataAction) -> Bool {
        permissions.contains { $0.grants(action) }
    }

    /// The definition GUID in a reference: the full id (with or without a leading slash, with or without a scope
    /// before it) or the bare GUID; `nil` when it names none.
    public static func name(in reference: String) -> String? {
        let last = reference.split(separator: "/").last.map(String.init) ?? reference
        guard let guid = GUID.normalised(last) else { return nil }
        let prefix = reference.dropLast(last.count)
        guard prefix.isEmpty || prefix.lowercased().hasSuffix(idPrefix.lowercased()) else { return nil }
        return guid
    }
}

/// Lower-case GUIDs (role definition and assignment names).
enum GUID {
    static func normalised(_ raw: String) -> String? {
        let lower = raw.lowercased()
        let groups = lower.split(separator: "-", omittingEmptySubsequences: false).map(\.utf8.count)
        let hex = Set("0123456789abcdef-".utf8)
        guard groups == [8, 4, 4, 4, 12], lower.utf8.allSatisfy(hex.contains) else { return nil }
        return lower
    }
}

extension ManagedHSMRoleDefinition {
    private init(builtIn name: String, _ roleName: String, _ description: String, _ dataActions: [ManagedHSMDataAction]) {
        self.init(
            name: name, roleName: roleName, description: description, type: .builtIn,
            permissions: [ManagedHSMPermission(dataActions: dataActions.map(\.value))], assignableScopes: ["/"])
    }

    /// Administrator holds the pool's administrators' rights (`/`, given at creation).
    public static let administratorName = "a290e904-7015-4bba-90c8-60543313cdb4"

    /// The built-in roles of Managed HSM local RBAC.
    ///
    /// Ids, names and descriptions: Microsoft's "Local RBAC built-in roles for Managed HSM"
    /// (learn.microsoft.com/azure/key-vault/managed-hsm/built-in-roles). Data actions, and the names the service
    /// sends ("Managed HSM Backup User" where the page says "Managed HSM Backup"): the role definitions list the
    /// service answered in the `@azure/keyvault-admin` test recordings of 2022 (build 1.0.20220314), which added
    /// `keys/rotate/action` and `keys/derive/action` to Crypto User; Restore User is the page's matrix (the recordings
    /// predate it). The service answers `description: ""` for every built-in role; Coffre gives the page's text.
    /// Administrator also holds the settings actions Coffre names (Azure documents none). EKM Administrator (its id
    /// from the service's role list, not on the page) holds the EKM actions, with Coffre's own description. The ARM-only role ("Managed HSM ARM User", no data action) is left out.
    public static let builtIn: [ManagedHSMRoleDefinition] = [
        .init(
            builtIn: administratorName, "Managed HSM Administrator",
            "Grants permissions to perform all operations related to the security domain, full backup and restore, and role "
                + "management. Not permitted to perform any key management operations.",
            [
                .roleAssignmentsDelete, .roleAssignmentsRead, .roleAssignmentsWrite, .roleDefinitionsRead, .roleDefinitionsWrite,
                .roleDefinitionsDelete, .securityDomainDownload, .securityDomainDownloadRead, .securityDomainUpload,
                .securityDomainUploadRead, .securityDomainTransferKeyRead, .backupStart, .restoreStart, .backupStatus, .restoreStatus,
                .settingsRead, .settingsWrite,
            ]),
        .init(
            builtIn: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778", "Managed HSM Crypto Officer",
            "Grants permissions to perform all role management, purge or recover deleted keys, and export keys. Not permitted "
                + "to perform any other key management operations.",
            [
                .roleAssignmentsDelete, .roleAssignmentsRead, .roleAssignmentsWrite, .roleDefinitionsRead, .roleDefinitionsWrite,
                .roleDefinitionsDelete, .deletedKeysRead, .deletedKeysDelete, .deletedKeysRecover, .keysExport,
            ]),
        .init(
            builtIn: "21dbd100-6940-42c2-9190-5d6cb909625b", "Managed HSM Crypto User",
            "Grants permissions to perform all key management operations except purge or recover deleted keys and export keys.",
            [
                .roleDefinitionsRead, .roleAssignmentsRead, .keysRead, .keysWrite, .keysDelete, .keysCreate, .keysRotate, .keysImport,
                .keysRelease, .keysBackup, .keysRestore, .keysEncrypt, .keysDecrypt, .keysWrap, .keysUnwrap, .keysSign, .keysVerify,
                .keysDerive, .rng,
            ]),
        .init(
            builtIn: "4bd23610-cdcf-4971-bdee-bdc562cc28e4", "Managed HSM Policy Administrator",
            "Grants permissions to create and delete role assignments.",
            [
                .roleDefinitionsRead, .roleDefinitionsWrite, .roleDefinitionsDelete, .roleAssignmentsRead, .roleAssignmentsWrite,
                .roleAssignmentsDelete,
            ]),
        .init(
            builtIn: "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "Managed HSM Crypto Auditor",
            "Grants read permissions to read (but not use) key attributes.",
            [.roleAssignmentsRead, .roleDefinitionsRead, .keysRead, .deletedKeysRead]),
        .init(
            builtIn: "33413926-3206-4cdd-b39a-83574fe37a17", "Managed HSM Crypto Service Encryption User",
            "Grants permissions to use a key for service encryption.", [.keysRead, .keysWrap, .keysUnwrap]),
        .init(
            builtIn: "21dbd100-6940-42c2-9190-5d6cb909625c", "Managed HSM Crypto Service Release User",
            "Grants permissions to release a key to a trusted execution environment.", [.keysRelease]),
        .init(
            builtIn: "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8", "Managed HSM Backup User",
            "Grants permissions to perform single-key or whole-HSM backup.", [.backupStart, .backupStatus, .keysBackup]),
        .init(
            builtIn: "6efe6056-5259-49d2-8b3d-d3d73544b20b", "Managed HSM Restore User",
            "Grants permissions to perform single-key or whole-HSM restore.", [.restoreStart, .restoreStatus, .keysRestore]),
        .init(
            builtIn: "abdd7ec4-a273-4265-bf38-e001014e2d8e", "Managed HSM EKM Administrator",
            "Grants permissions to manage the connection to an External Key Manager.", [.ekmRead, .ekmWrite, .ekmDelete]),
    ]
}

/// A role given to a principal at a scope of a pool.
public struct ManagedHSMRoleAssignment: Codable, Sendable, Equatable {
    /// The assignment's GUID, lower-case.
    public var name: String
    public var scope: ManagedHSMRoleScope
    /// The GUID of the role definition.
    public var roleDefinitionName: String
    /// The object id of a user, service principal, managed identity or group (lower-case); absent when the client
    /// gave none (the assignment then grants nothing).
    public var principalId: String?
    public var created: Int64

    public var roleDefinitionId: String { ManagedHSMRoleDefinition.idPrefix + roleDefinitionName }

    /// `/providers/Microsoft.Authorization/roleAssignments/{name}`, after the scope when it is not `/`.
    public var id: String {
        (scope == .global ? "" : scope.description) + "/providers/Microsoft.Authorization/roleAssignments/" + name
    }
}
