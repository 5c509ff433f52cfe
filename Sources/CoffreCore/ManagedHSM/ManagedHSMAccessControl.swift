import CoffreCrypto
import CoffreModel
import CoffreStorage

/// Who a request acts as for local RBAC: the caller's object id and the groups it belongs to.
public struct ManagedHSMPrincipal: Sendable, Equatable {
    public var objectId: String
    public var groupIds: [String]

    public init(objectId: String, groupIds: [String] = []) {
        self.objectId = objectId.lowercased()
        self.groupIds = groupIds.map { $0.lowercased() }
    }

    public init(_ caller: Caller, groupIds: [String] = []) {
        self.init(objectId: caller.objectId, groupIds: groupIds)
    }

    /// The ids whose assignments apply: the principal's own, then its groups'.
    var ids: [String] { [objectId] + groupIds }
}

/// Local RBAC decisions on given assignments and definitions, with no storage: an action is allowed at a scope when
/// an assignment to the principal (or one of its groups) at a scope covering it gives a role one of whose permission
/// blocks grants the action (see ``ManagedHSMPermission/grants(_:)``).
public enum ManagedHSMPolicy {
    public static func isAllowed(
        _ principal: ManagedHSMPrincipal, _ action: ManagedHSMDataAction, at scope: ManagedHSMRoleScope,
        assignments: [ManagedHSMRoleAssignment], definitions: [String: ManagedHSMRoleDefinition]
    ) -> Bool {
        let ids = Set(principal.ids)
        return assignments.contains { assignment in
            guard let principalId = assignment.principalId, ids.contains(principalId), assignment.scope.covers(scope) else { return false }
            return definitions[assignment.roleDefinitionName]?.grants(action) ?? false
        }
    }

    /// ``ManagedHSMError/accessDenied(action:scope:)`` naming the missing data action unless it is allowed.
    public static func authorize(
        _ principal: ManagedHSMPrincipal, _ action: ManagedHSMDataAction, at scope: ManagedHSMRoleScope,
        assignments: [ManagedHSMRoleAssignment], definitions: [String: ManagedHSMRoleDefinition]
    ) throws {
        guard isAllowed(principal, action, at: scope, assignments: assignments, definitions: definitions) else {
            throw ManagedHSMError.accessDenied(action: action.value, scope: scope.description)
        }
    }
}

/// A pool's local RBAC: its custom role definitions (beside the built-in ones), its role assignments, and the
/// decision for a request. Each write is one transaction.
public struct ManagedHSMAccessControl: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    // MARK: - Decisions

    /// Refuses with ``ManagedHSMError/accessDenied(action:scope:)`` unless the principal's assignments grant
    /// `operation`'s data action at `scope`. Reads only the assignments of the principal and its groups.
    public func authorize(_ principal: ManagedHSMPrincipal, _ operation: ManagedHSMOperation, at scope: ManagedHSMRoleScope, in pool: ManagedHSMName)
        async throws
    {
        var assignments: [ManagedHSMRoleAssignment] = []
        for id in principal.ids {
            assignments += try await storage.readAll(ManagedHSMRoleAssignment.self, prefix: ManagedHSMPaths.assignments(pool, principal: id))
                .map(\.record)
        }
        var definitions: [String: ManagedHSMRoleDefinition] = [:]
        for name in Set(assignments.map(\.roleDefinitionName)) {
            definitions[name] = try await definitionIfAny(named: name, in: pool)
        }
        try ManagedHSMPolicy.authorize(principal, operation.dataAction, at: scope, assignments: assignments, definitions: definitions)
    }

    // MARK: - Role definitions

    /// The built-in definitions, then the pool's custom ones.
    public func definitions(in pool: ManagedHSMName) async throws -> [ManagedHSMRoleDefinition] {
        ManagedHSMRoleDefinition.builtIn
            + (try await storage.readAll(ManagedHSMRoleDefinition.self, prefix: ManagedHSMPaths.customRoles(pool)).map(\.record))
    }

    public func definition(named name: String, in pool: ManagedHSMName) async throws -> ManagedHSMRoleDefinition {
        guard let definition = try await definitionIfAny(named: name, in: pool) else { throw ManagedHSMError.roleDefinitionNotFound(name) }
        return definition
    }

    private func definitionIfAny(named name: String, in pool: ManagedHSMName) async throws -> ManagedHSMRoleDefinition? {
        guard let guid = GUID.normalised(name) else { return nil }
        if let builtIn = ManagedHSMRoleDefinition.builtIn.first(where: { $0.name == guid }) { return builtIn }
        return try await storage.read(ManagedHSMRoleDefinition.self, at: ManagedHSMPaths.customRole(pool, guid))
    }

    /// The properties of a custom role as a client sends them; what is missing takes the service's default.
    public struct DefinitionRequest: Sendable {
        public var roleName: String?
        public var description: String?
        public var type: String?
        public var permissions: [ManagedHSMPermission]
        public var assignableScopes: [String]?

        public init(
            roleName: String? = nil, description: String? = nil, type: String? = nil, permissions: [ManagedHSMPermission] = [],
            assignableScopes: [String]? = nil
        ) {
            self.roleName = roleName
            self.description = description
            self.type = type
            self.permissions = permissions
            self.assignableScopes = assignableScopes
        }
    }

    /// Creates the custom role `name` (a GUID), or replaces it in place: every property takes the request's value or
    /// its default (`roleName` the GUID, `description` empty, `assignableScopes` `/`). `created` tells which.
    public func setDefinition(named name: String, _ request: DefinitionRequest, in pool: ManagedHSMName) async throws
        -> (definition: ManagedHSMRoleDefinition, created: Bool)
    {
        let definition = try Self.customDefinition(named: name, request)
        return try await storage.transaction { transaction in
            try await Self.requirePool(pool, in: transaction)
            let custom = try await transaction.readAll(ManagedHSMRoleDefinition.self, prefix: ManagedHSMPaths.customRoles(pool)).map(\.record)
            let taken = (ManagedHSMRoleDefinition.builtIn + custom).contains {
                $0.name != definition.name && $0.roleName.lowercased() == definition.roleName.lowercased()
            }
            guard !taken else { throw CoffreError.conflict("A role definition named '\(definition.roleName)' already exists.") }
            try await transaction.write(definition, at: ManagedHSMPaths.customRole(pool, definition.name))
            return (definition, !custom.contains { $0.name == definition.name })
        }
    }

    public func deleteDefinition(named name: String, in pool: ManagedHSMName) async throws -> ManagedHSMRoleDefinition {
        guard let guid = GUID.normalised(name) else { throw ManagedHSMError.roleDefinitionNotFound(name) }
        guard !ManagedHSMRoleDefinition.builtIn.contains(where: { $0.name == guid }) else {
            throw CoffreError.badParameter("Built-in roles cannot be deleted.")
        }
        return try await storage.transaction { transaction in
            guard let definition = try await transaction.read(ManagedHSMRoleDefinition.self, at: ManagedHSMPaths.customRole(pool, guid)) else {
                throw ManagedHSMError.roleDefinitionNotFound(name)
            }
            let assignments = try await transaction.readAll(ManagedHSMRoleAssignment.self, prefix: ManagedHSMPaths.assignments(pool))
            guard !assignments.contains(where: { $0.record.roleDefinitionName == guid }) else {
                throw CoffreError.conflict("The role definition \(guid) is in use by role assignments: delete them first.")
            }
            try await transaction.delete(ManagedHSMPaths.customRole(pool, guid))
            return definition
        }
    }

    static func customDefinition(named name: String, _ request: DefinitionRequest) throws -> ManagedHSMRoleDefinition {
        guard let guid = GUID.normalised(name) else {
            throw CoffreError.badParameter("The role definition name '\(name)' is not a GUID.")
        }
        guard !ManagedHSMRoleDefinition.builtIn.contains(where: { $0.name == guid }) else {
            throw CoffreError.badParameter("Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID.")
        }
        if let type = request.type, type.lowercased() != ManagedHSMRoleDefinition.RoleType.custom.rawValue.lowercased() {
            throw CoffreError.badParameter("Only custom roles (type 'CustomRole') can be created, not '\(type)'.")
        }
        for permission in request.permissions {
            for action in permission.dataActions + permission.notDataActions { try validate(action) }
        }
        let scopes = request.assignableScopes ?? []
        for scope in scopes where (try? ManagedHSMRoleScope(parsing: scope)) != .global {
            throw CoffreError.badParameter("Managed HSM role definitions are assignable at '/' only, not '\(scope)'.")
        }
        let roleName = request.roleName.flatMap { $0.isEmpty ? nil : $0 } ?? guid
        return ManagedHSMRoleDefinition(
            name: guid, roleName: roleName, description: request.description ?? "", type: .custom, permissions: request.permissions,
            assignableScopes: ["/"])
    }

    /// A data action is a known one, or a pattern (`*`) matching at least one known one.
    static func validate(_ action: String) throws {
        let known = ManagedHSMDataAction.known.contains {
            action.contains("*") ? RoleDefinition.matches(action, $0.value) : action.lowercased() == $0.value.lowercased()
        }
        guard known else { throw CoffreError.badParameter("'\(action)' is not a Managed HSM data action.") }
    }

    // MARK: - Role assignments

    public func assignments(in pool: ManagedHSMName) async throws -> [ManagedHSMRoleAssignment] {
        try await storage.readAll(ManagedHSMRoleAssignment.self, prefix: ManagedHSMPaths.assignments(pool)).map(\.record)
    }

    public func assignment(named name: String, in pool: ManagedHSMName) async throws -> ManagedHSMRoleAssignment {
        guard let guid = GUID.normalised(name), let assignment = try await assignments(in: pool).first(where: { $0.name == guid }) else {
            throw ManagedHSMError.roleAssignmentNotFound(name)
        }
        return assignment
    }

    /// Gives the role `roleDefinitionId` (its id or GUID) to `principalId` at `scope`, under the assignment name
    /// `name` (a GUID). The same assignment again answers the existing one (`created` false); another under that
    /// name, or the same role, principal and scope under another name, is a conflict.
    public func createAssignment(
        named name: String, scope: ManagedHSMRoleScope, roleDefinitionId: String, principalId: String?, in pool: ManagedHSMName
    ) async throws -> (assignment: ManagedHSMRoleAssignment, created: Bool) {
        guard let guid = GUID.normalised(name) else { throw CoffreError.badParameter("The role assignment name '\(name)' is not a GUID.") }
        guard let role = ManagedHSMRoleDefinition.name(in: roleDefinitionId) else {
            throw CoffreError.badParameter("'\(roleDefinitionId)' is not a role definition id.")
        }
        if let principalId, principalId.isEmpty || principalId.utf8.count > 128 {
            throw CoffreError.badParameter("The principal id is not valid.")
        }
        let assignment = ManagedHSMRoleAssignment(
            name: guid, scope: scope, roleDefinitionName: role, principalId: principalId?.lowercased(), created: clock.now)
        return try await storage.transaction { transaction in
            try await Self.requirePool(pool, in: transaction)
            guard try await Self.roleExists(role, in: pool, transaction: transaction) else {
                throw CoffreError.badParameter("The role definition \(roleDefinitionId) does not exist.")
            }
            let existing = try await transaction.readAll(ManagedHSMRoleAssignment.self, prefix: ManagedHSMPaths.assignments(pool)).map(\.record)
            if let same = existing.first(where: { $0.name == guid }) {
                guard same.scope == assignment.scope, same.roleDefinitionName == role, same.principalId == assignment.principalId else {
                    throw CoffreError.conflict("The role assignment \(guid) exists with other properties; role assignments cannot be updated.")
                }
                return (same, false)
            }
            guard !existing.contains(where: { $0.scope == scope && $0.roleDefinitionName == role && $0.principalId == assignment.principalId })
            else { throw CoffreError.conflict("The role assignment already exists.") }
            try await transaction.write(assignment, at: ManagedHSMPaths.assignment(pool, assignment))
            return (assignment, true)
        }
    }

    public func deleteAssignment(named name: String, in pool: ManagedHSMName) async throws -> ManagedHSMRoleAssignment {
        try await storage.transaction { transaction in
            guard let guid = GUID.normalised(name),
                let assignment = try await transaction.readAll(ManagedHSMRoleAssignment.self, prefix: ManagedHSMPaths.assignments(pool))
                    .map(\.record).first(where: { $0.name == guid })
            else { throw ManagedHSMError.roleAssignmentNotFound(name) }
            try await transaction.delete(ManagedHSMPaths.assignment(pool, assignment))
            return assignment
        }
    }

    // MARK: - Shared with the directory

    /// Administrator at `/` for `principalId`, written inside the pool's creation.
    static func administratorAssignment(for principalId: String, at time: Int64) -> ManagedHSMRoleAssignment {
        ManagedHSMRoleAssignment(
            name: SecureRandom.uuid(), scope: .global, roleDefinitionName: ManagedHSMRoleDefinition.administratorName,
            principalId: principalId.lowercased(), created: time)
    }

    static func requirePool(_ pool: ManagedHSMName, in transaction: any StorageTransaction) async throws {
        guard try await transaction.get(ManagedHSMPaths.pool(pool)) != nil else { throw ManagedHSMError.poolNotFound(pool.value) }
    }

    private static func roleExists(_ guid: String, in pool: ManagedHSMName, transaction: any StorageTransaction) async throws -> Bool {
        if ManagedHSMRoleDefinition.builtIn.contains(where: { $0.name == guid }) { return true }
        return try await transaction.get(ManagedHSMPaths.customRole(pool, guid)) != nil
    }
}
