import CoffreCrypto
import CoffreModel
import CoffreStorage

/// An Azure built-in role: the management actions it grants (Azure Resource Manager operations, `*` wildcards) and
/// the data actions (Key Vault data-plane operations), each with the ones it excludes.
public struct RoleDefinition: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var description: String
    public var actions: [String]
    public var notActions: [String]
    public var dataActions: [String]
    public var notDataActions: [String]

    /// Whether the role grants the data action `action`.
    public func grants(_ action: String) -> Bool {
        dataActions.contains { Self.matches($0, action) } && !notDataActions.contains { Self.matches($0, action) }
    }

    /// Whether the role grants the management action `action` (`Microsoft.KeyVault/vaults/write`).
    public func grantsAction(_ action: String) -> Bool {
        actions.contains { Self.matches($0, action) } && !notActions.contains { Self.matches($0, action) }
    }

    /// Azure action patterns: case-insensitive, `*` matches any run of characters (including `/`).
    static func matches(_ pattern: String, _ action: String) -> Bool {
        let pattern = Array(pattern.lowercased().utf8)
        let action = Array(action.lowercased().utf8)
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: action.count + 1), count: pattern.count + 1)
        func match(_ p: Int, _ a: Int) -> Bool {
            if let known = memo[p][a] { return known }
            let result: Bool
            if p == pattern.count {
                result = a == action.count
            } else if pattern[p] == UInt8(ascii: "*") {
                result = match(p + 1, a) || (a < action.count && match(p, a + 1))
            } else {
                result = a < action.count && pattern[p] == action[a] && match(p + 1, a + 1)
            }
            memo[p][a] = result
            return result
        }
        return match(0, 0)
    }

    private static let prefix = "Microsoft.KeyVault/vaults/"

    /// - Parameter dataActions: relative to `Microsoft.KeyVault/vaults/`.
    private init(
        _ id: String, _ name: String, _ description: String, actions: [String] = [], notActions: [String] = [], data dataActions: [String] = [],
        notData notDataActions: [String] = []
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.actions = actions
        self.notActions = notActions
        self.dataActions = dataActions.map { Self.prefix + $0 }
        self.notDataActions = notDataActions.map { Self.prefix + $0 }
    }

    /// What Key Vault's data-plane officer, administrator and reader roles may do through Azure Resource Manager: read.
    private static let keyVaultReadActions = [
        "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read",
        "Microsoft.KeyVault/deletedVaults/read", "Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read",
        "Microsoft.KeyVault/operations/read",
    ]

    /// Azure's built-in roles for vaults (data plane) and for resources in general, with their well-known ids.
    public static let builtIn: [RoleDefinition] = [
        RoleDefinition(
            "00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator",
            "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets.",
            actions: keyVaultReadActions, data: ["*"]),
        RoleDefinition(
            "21090545-7ca7-4776-b22c-e363652d74d2", "Key Vault Reader", "Read metadata of key vaults and its certificates, keys, and secrets.",
            actions: keyVaultReadActions, data: ["*/read", "secrets/readMetadata/action"]),
        RoleDefinition(
            "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", "Perform any action on the secrets of a key vault.",
            actions: keyVaultReadActions, data: ["secrets/*"]),
        RoleDefinition(
            "4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", "Read secret contents.",
            data: ["secrets/getSecret/action", "secrets/readMetadata/action"]),
        RoleDefinition(
            "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "Key Vault Crypto Officer",
            "Perform any action on the keys of a key vault, except manage permissions.", actions: keyVaultReadActions,
            data: ["keys/*", "keyrotationpolicies/*"]),
        RoleDefinition(
            "12338af0-0e69-4776-bea7-57ae8d297424", "Key Vault Crypto User", "Perform cryptographic operations using keys.",
            data: [
                "keys/read", "keys/update/action", "keys/backup/action", "keys/encrypt/action", "keys/decrypt/action",
                "keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action",
            ]),
        RoleDefinition(
            "e147488a-f6f5-4113-8e2d-b22465e65bf6", "Key Vault Crypto Service Encryption User",
            "Read metadata of keys and perform wrap/unwrap operations.", data: ["keys/read", "keys/wrap/action", "keys/unwrap/action"]),
        RoleDefinition(
            "08bbd89e-9f13-488c-ac41-acfcb10c90ab", "Key Vault Crypto Service Release User", "Release keys.",
            data: ["keys/release/action"]),
        RoleDefinition(
            "a4417e6f-fecd-4de8-b567-7b0420556985", "Key Vault Certificates Officer",
            "Perform any action on the certificates of a key vault, except manage permissions.", actions: keyVaultReadActions,
            data: ["certificatecas/*", "certificates/*", "certificatecontacts/*"]),
        RoleDefinition(
            "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "Key Vault Certificate User",
            "Read entire certificate contents including secret and key portion.",
            data: ["certificates/read", "secrets/getSecret/action", "secrets/readMetadata/action", "keys/read"]),
        RoleDefinition(
            "f25e0fa2-a7c8-4377-a976-54943a77a395", "Key Vault Contributor", "Lets you manage key vaults, but not access to them.",
            actions: [
                "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*", "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
            ],
            notActions: [
                "Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*", "Microsoft.KeyVault/managedHsms/*",
            ]),
        RoleDefinition(
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner",
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", actions: ["*"]),
        RoleDefinition(
            "b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.", actions: ["*"],
            notActions: ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"]),
        RoleDefinition(
            "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "View all resources, but does not allow you to make any changes.",
            actions: ["*/read"]),
        RoleDefinition(
            "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", "Lets you manage user access to Azure resources.",
            actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
    ]

    public static let owner = builtIn.first { $0.name == "Owner" }!

    /// A built-in role by name (case-insensitive), id, or resource id ending with its id.
    public static func named(_ reference: String) throws -> RoleDefinition {
        let wanted = reference.lowercased()
        guard let role = builtIn.first(where: { $0.name.lowercased() == wanted || $0.id == wanted || wanted.hasSuffix("/" + $0.id) }) else {
            throw CoffreError.badParameter(
                "Unknown role '\(reference)'. Built-in roles: \(builtIn.map(\.name).joined(separator: ", ")).")
        }
        return role
    }
}

/// Where a role assignment applies: a whole vault, or one object in it.
public struct RoleScope: Codable, Sendable, Equatable, CustomStringConvertible {
    public var vault: VaultName
    /// The object kind and name for single-object scopes.
    public var object: ObjectScope?

    public struct ObjectScope: Codable, Sendable, Equatable {
        public var kind: ObjectKind
        /// The case-folded object name.
        public var name: String

        public init(kind: ObjectKind, name: String) {
            self.kind = kind
            self.name = name
        }
    }

    public init(vault: VaultName, object: ObjectScope? = nil) {
        self.vault = vault
        self.object = object
    }

    /// Reads `/vaults/{vault}[/{secrets|keys|certificates}/{name}]`, also inside a full Azure resource id
    /// (`/subscriptions/…/providers/Microsoft.KeyVault/vaults/{vault}/…`).
    public init(parsing text: String) throws {
        let segments = text.split(separator: "/").map(String.init)
        guard let index = segments.lastIndex(where: { $0.lowercased() == "vaults" }), index + 1 < segments.count else {
            throw CoffreError.badParameter("The scope '\(text)' is not /vaults/{vault} or /vaults/{vault}/{secrets|keys|certificates}/{name}.")
        }
        vault = try VaultName(segments[index + 1])
        let rest = segments[(index + 2)...]
        switch rest.count {
        case 0: object = nil
        case 2:
            guard let kind = ObjectKind.allCases.first(where: { $0.collection == rest.first?.lowercased() }) else {
                throw CoffreError.badParameter("The scope '\(text)' names no secrets, keys or certificates collection.")
            }
            object = ObjectScope(kind: kind, name: try ObjectName(rest[rest.startIndex + 1], kind: kind).key)
        default:
            throw CoffreError.badParameter("The scope '\(text)' is not /vaults/{vault} or /vaults/{vault}/{secrets|keys|certificates}/{name}.")
        }
    }

    public var description: String {
        "/vaults/\(vault)" + (object.map { "/\($0.kind.collection)/\($0.name)" } ?? "")
    }

    /// Whether this scope covers an operation on `object` (nil: the operation is not about one object) in `vault`.
    public func covers(vault other: VaultName, object target: ObjectScope?) -> Bool {
        guard vault == other else { return false }
        guard let object else { return true }
        return object == target
    }
}

/// A role given to a principal at a scope.
public struct RoleAssignment: Codable, Sendable, Equatable {
    public var id: String
    public var roleId: String
    public var principalId: String
    public var scope: RoleScope
    public var created: Int64
    /// `User`, `Group` or `ServicePrincipal`, as the assigner said (Azure Resource Manager clients say).
    public var principalType: String?

    public init(id: String, roleId: String, principalId: String, scope: RoleScope, created: Int64, principalType: String? = nil) {
        self.id = id
        self.roleId = roleId
        self.principalId = principalId
        self.scope = scope
        self.created = created
        self.principalType = principalType
    }

    public var role: RoleDefinition? { RoleDefinition.builtIn.first { $0.id == roleId } }
}

/// A role given to a principal on a container of Azure's resource hierarchy: the subscription, or one resource group.
/// It applies to everything inside; a data-plane role there grants data access to the RBAC vaults inside, as in Azure.
public struct ContainerRoleAssignment: Codable, Sendable, Equatable {
    public var id: String
    public var roleId: String
    public var principalId: String
    public var principalType: String?
    /// The resource group's name as written; `nil` for the subscription.
    public var resourceGroup: String?
    public var created: Int64

    public init(id: String, roleId: String, principalId: String, principalType: String?, resourceGroup: String?, created: Int64) {
        self.id = id
        self.roleId = roleId
        self.principalId = principalId
        self.principalType = principalType
        self.resourceGroup = resourceGroup
        self.created = created
    }

    public var role: RoleDefinition? { RoleDefinition.builtIn.first { $0.id == roleId } }

    /// Whether it applies inside the resource group `group` (every group, when it is on the subscription).
    public func covers(resourceGroup group: String) -> Bool {
        resourceGroup.map { $0.lowercased() == group.lowercased() } ?? true
    }
}

/// Role assignments: on vaults and their objects, stored per vault and principal (`sys/rbac/{vault}/{principal}/{id}`)
/// so a request reads only the caller's; on the subscription and resource groups, per principal
/// (`sys/rbac-containers/{principal}/{id}`).
public struct RoleAssignments: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    static func prefix(_ vault: VaultName, principal: String? = nil) -> String {
        "sys/rbac/\(vault)/" + (principal.map { "\($0.lowercased())/" } ?? "")
    }

    static func containerPrefix(principal: String? = nil) -> String {
        "sys/rbac-containers/" + (principal.map { "\($0.lowercased())/" } ?? "")
    }

    /// Assigns a role at a vault's or an object's scope.
    /// - Parameter id: the assignment's name (Azure clients choose a GUID); a new one when nil.
    public func create(
        id: String? = nil, role: RoleDefinition, principalId: String, principalType: String? = nil, scope: RoleScope
    ) async throws -> RoleAssignment {
        let assignment = assignment(id: id, of: role, to: principalId, principalType: principalType, at: scope)
        try await storage.transaction { try await Self.insert(assignment, in: $0) }
        return assignment
    }

    /// A new assignment, not stored yet (``insert(_:in:)`` stores it inside a caller's transaction).
    func assignment(
        id: String? = nil, of role: RoleDefinition, to principalId: String, principalType: String? = nil, at scope: RoleScope
    ) -> RoleAssignment {
        RoleAssignment(
            id: id?.lowercased() ?? SecureRandom.uuid(), roleId: role.id, principalId: principalId.lowercased(), scope: scope, created: clock.now,
            principalType: principalType)
    }

    /// Stores an assignment inside `transaction`; its vault must exist (also as written by the same transaction).
    static func insert(_ assignment: RoleAssignment, in transaction: any StorageTransaction) async throws {
        let scope = assignment.scope
        guard try await transaction.get(VaultDirectory.key(scope.vault)) != nil else { throw CoffreError.vaultNotFound(scope.vault.value) }
        let existing = try await transaction.readAll(RoleAssignment.self, prefix: prefix(scope.vault, principal: assignment.principalId))
        guard !existing.contains(where: { $0.record.roleId == assignment.roleId && $0.record.scope == scope }) else {
            throw CoffreError.conflict("The role assignment already exists.")
        }
        try await transaction.write(assignment, at: prefix(scope.vault, principal: assignment.principalId) + assignment.id)
    }

    /// Assigns a role on the subscription (`resourceGroup` nil) or a resource group, inside the caller's transaction
    /// (which checks that the group exists).
    public func createOnContainer(
        id: String?, role: RoleDefinition, principalId: String, principalType: String?, resourceGroup: String?,
        in transaction: any StorageTransaction
    ) async throws -> ContainerRoleAssignment {
        let assignment = ContainerRoleAssignment(
            id: id?.lowercased() ?? SecureRandom.uuid(), roleId: role.id, principalId: principalId.lowercased(), principalType: principalType,
            resourceGroup: resourceGroup, created: clock.now)
        let existing = try await transaction.readAll(ContainerRoleAssignment.self, prefix: Self.containerPrefix(principal: assignment.principalId))
        guard
            !existing.contains(where: { $0.record.roleId == role.id && $0.record.resourceGroup?.lowercased() == resourceGroup?.lowercased() })
        else {
            throw CoffreError.conflict("The role assignment already exists.")
        }
        try await transaction.write(assignment, at: Self.containerPrefix(principal: assignment.principalId) + assignment.id)
        return assignment
    }

    /// A caller's assignments in one vault.
    public func forPrincipal(_ principalId: String, in vault: VaultName) async throws -> [RoleAssignment] {
        try await storage.readAll(RoleAssignment.self, prefix: Self.prefix(vault, principal: principalId)).map(\.record)
    }

    /// A principal's assignments on the subscription and resource groups.
    public func onContainers(of principalId: String) async throws -> [ContainerRoleAssignment] {
        try await storage.readAll(ContainerRoleAssignment.self, prefix: Self.containerPrefix(principal: principalId)).map(\.record)
    }

    /// Every assignment on the subscription and resource groups.
    public func onContainers() async throws -> [ContainerRoleAssignment] {
        try await storage.readAll(ContainerRoleAssignment.self, prefix: Self.containerPrefix()).map(\.record)
    }

    /// What applies to a caller in a vault: its assignments there and, as vault-wide ones, those on the vault's
    /// resource group and on the subscription.
    public func effective(for principalId: String, in vault: VaultRecord) async throws -> [RoleAssignment] {
        let inherited = try await onContainers(of: principalId).filter { $0.covers(resourceGroup: vault.group) }.map {
            RoleAssignment(id: $0.id, roleId: $0.roleId, principalId: $0.principalId, scope: RoleScope(vault: vault.name), created: $0.created)
        }
        return try await forPrincipal(principalId, in: vault.name) + inherited
    }

    public func list(in vault: VaultName) async throws -> [RoleAssignment] {
        try await storage.readAll(RoleAssignment.self, prefix: Self.prefix(vault)).map(\.record)
    }

    /// Every assignment on a vault or an object, of every vault.
    public func listAll() async throws -> [RoleAssignment] {
        try await storage.readAll(RoleAssignment.self, prefix: "sys/rbac/").map(\.record)
    }

    public func delete(id: String, in vault: VaultName) async throws -> RoleAssignment {
        try await storage.transaction { transaction in
            guard let entry = try await transaction.readAll(RoleAssignment.self, prefix: Self.prefix(vault)).first(where: { $0.record.id == id })
            else {
                throw CoffreError.badParameter("No role assignment \(id) in vault \(vault).")
            }
            try await transaction.delete(entry.key)
            return entry.record
        }
    }

    /// Removes an assignment on the subscription or a resource group; nil when there is none with that id there.
    public func deleteOnContainer(id: String, resourceGroup: String?) async throws -> ContainerRoleAssignment? {
        try await storage.transaction { transaction in
            let entry = try await transaction.readAll(ContainerRoleAssignment.self, prefix: Self.containerPrefix()).first {
                $0.record.id == id.lowercased() && $0.record.resourceGroup?.lowercased() == resourceGroup?.lowercased()
            }
            guard let entry else { return nil }
            try await transaction.delete(entry.key)
            return entry.record
        }
    }

    /// Removes the assignments on a resource group being deleted, inside the caller's transaction.
    public static func deleteOnResourceGroup(_ group: String, in transaction: any StorageTransaction) async throws {
        for entry in try await transaction.readAll(ContainerRoleAssignment.self, prefix: containerPrefix())
        where entry.record.resourceGroup?.lowercased() == group.lowercased() {
            try await transaction.delete(entry.key)
        }
    }
}
