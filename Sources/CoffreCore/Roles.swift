import CoffreCrypto
import CoffreModel
import CoffreStorage

/// An Azure built-in Key Vault data-plane role: the data actions it grants (with `*` wildcards) and those it excludes.
public struct RoleDefinition: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var dataActions: [String]
    public var notDataActions: [String]

    /// Whether the role grants `action`.
    public func grants(_ action: String) -> Bool {
        dataActions.contains { Self.matches($0, action) } && !notDataActions.contains { Self.matches($0, action) }
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

    private init(_ id: String, _ name: String, _ dataActions: [String], notDataActions: [String] = []) {
        self.id = id
        self.name = name
        self.dataActions = dataActions.map { Self.prefix + $0 }
        self.notDataActions = notDataActions.map { Self.prefix + $0 }
    }

    /// Azure's built-in data-plane roles for vaults, with their well-known ids.
    public static let builtIn: [RoleDefinition] = [
        RoleDefinition("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator", ["*"]),
        RoleDefinition("21090545-7ca7-4776-b22c-e363652d74d2", "Key Vault Reader", ["*/read", "secrets/readMetadata/action"]),
        RoleDefinition("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", ["secrets/*"]),
        RoleDefinition(
            "4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", ["secrets/getSecret/action", "secrets/readMetadata/action"]),
        RoleDefinition("14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "Key Vault Crypto Officer", ["keys/*", "keyrotationpolicies/*"]),
        RoleDefinition(
            "12338af0-0e69-4776-bea7-57ae8d297424", "Key Vault Crypto User",
            [
                "keys/read", "keys/update/action", "keys/backup/action", "keys/encrypt/action", "keys/decrypt/action",
                "keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action",
            ]),
        RoleDefinition(
            "e147488a-f6f5-4113-8e2d-b22465e65bf6", "Key Vault Crypto Service Encryption User",
            ["keys/read", "keys/wrap/action", "keys/unwrap/action"]),
        RoleDefinition("08bbd89e-9f13-488c-ac41-acfcb10c90ab", "Key Vault Crypto Service Release User", ["keys/release/action"]),
        RoleDefinition(
            "a4417e6f-fecd-4de8-b567-7b0420556985", "Key Vault Certificates Officer",
            ["certificatecas/*", "certificates/*", "certificatecontacts/*"]),
        RoleDefinition(
            "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "Key Vault Certificate User",
            ["certificates/read", "secrets/getSecret/action", "secrets/readMetadata/action", "keys/read"]),
    ]

    /// A built-in role by name (case-insensitive) or id.
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

    public init(id: String, roleId: String, principalId: String, scope: RoleScope, created: Int64) {
        self.id = id
        self.roleId = roleId
        self.principalId = principalId
        self.scope = scope
        self.created = created
    }

    public var role: RoleDefinition? { RoleDefinition.builtIn.first { $0.id == roleId } }
}

/// Role assignments, stored per vault and principal (`sys/rbac/{vault}/{principal}/{id}`) so a request reads only the
/// caller's assignments.
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

    public func create(role: RoleDefinition, principalId: String, scope: RoleScope) async throws -> RoleAssignment {
        let assignment = assignment(of: role, to: principalId, at: scope)
        try await storage.transaction { try await Self.insert(assignment, in: $0) }
        return assignment
    }

    /// A new assignment, not stored yet (``insert(_:in:)`` stores it inside a caller's transaction).
    func assignment(of role: RoleDefinition, to principalId: String, at scope: RoleScope) -> RoleAssignment {
        RoleAssignment(id: SecureRandom.uuid(), roleId: role.id, principalId: principalId.lowercased(), scope: scope, created: clock.now)
    }

    /// Stores an assignment inside `transaction`; its vault must exist (also as written by the same transaction).
    static func insert(_ assignment: RoleAssignment, in transaction: any StorageTransaction) async throws {
        let scope = assignment.scope
        guard try await transaction.get("sys/vaults/\(scope.vault)") != nil else { throw CoffreError.vaultNotFound(scope.vault.value) }
        let existing = try await transaction.readAll(RoleAssignment.self, prefix: prefix(scope.vault, principal: assignment.principalId))
        guard !existing.contains(where: { $0.record.roleId == assignment.roleId && $0.record.scope == scope }) else {
            throw CoffreError.conflict("The role assignment already exists.")
        }
        try await transaction.write(assignment, at: prefix(scope.vault, principal: assignment.principalId) + assignment.id)
    }

    /// A caller's assignments in one vault.
    public func forPrincipal(_ principalId: String, in vault: VaultName) async throws -> [RoleAssignment] {
        try await storage.readAll(RoleAssignment.self, prefix: Self.prefix(vault, principal: principalId)).map(\.record)
    }

    public func list(in vault: VaultName) async throws -> [RoleAssignment] {
        try await storage.readAll(RoleAssignment.self, prefix: Self.prefix(vault)).map(\.record)
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
}
