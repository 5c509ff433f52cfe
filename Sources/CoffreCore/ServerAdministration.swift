import CoffreAuth
import CoffreBlob
import CoffreDirectory
import CoffreModel
import CoffreStorage

extension PrincipalDirectory {
    /// Whether the caller is an administrator principal of this server (false when it cannot be told).
    public func isAdministrator(_ caller: Caller) async -> Bool {
        guard let principal = try? await find(caller.appId ?? caller.objectId) else { return false }
        return principal.administrator && principal.objectId == caller.objectId
    }
}

/// Operator tasks that reach below the barrier, provided by the composition root.
public struct ServerOperations: Sendable {
    /// Adds a data-key term; returns its number.
    public var rotateKeyring: @Sendable () async throws -> UInt32
    /// Re-seals every value under the active term; returns how many were rewritten.
    public var rewrap: @Sendable () async throws -> Int
    /// The keyring's term numbers.
    public var terms: @Sendable () -> [UInt32]
    /// A consistent, sealed snapshot of the whole server.
    public var backup: @Sendable () async throws -> [UInt8]
    /// Whether the storage answers (readiness).
    public var ping: @Sendable () async throws -> Void

    public init(
        rotateKeyring: @escaping @Sendable () async throws -> UInt32, rewrap: @escaping @Sendable () async throws -> Int,
        terms: @escaping @Sendable () -> [UInt32], backup: @escaping @Sendable () async throws -> [UInt8],
        ping: @escaping @Sendable () async throws -> Void
    ) {
        self.rotateKeyring = rotateKeyring
        self.rewrap = rewrap
        self.terms = terms
        self.backup = backup
        self.ping = ping
    }
}

/// The server's own administration (what `coffre` drives through `/coffre/v1`): vaults and their access policies,
/// Managed HSM pools, role assignments, principals and their credentials, the storage keyring, token-signing keys and whole-server
/// backups. Only administrator principals may use it (``checkAdministrator(_:)``).
public struct ServerAdministration: Sendable {
    let vaults: VaultDirectory
    let roleAssignments: RoleAssignments
    let directory: Directory
    let resources: ResourceManager
    let signingKeys: SigningKeyring
    let operations: ServerOperations
    let managedHSMs: ManagedHSMDirectory
    let blob: BlobService
    /// The server's tenant: access policies name it unless told otherwise.
    let tenantId: String
    let clock: any WallClock
    /// Time travel and faults: only for a server started with `--dev`.
    let development: DevelopmentControls?
    /// Vault import and export (seed documents).
    let seeding: VaultSeeding?

    public init(
        vaults: VaultDirectory, roleAssignments: RoleAssignments, directory: Directory, resources: ResourceManager,
        signingKeys: SigningKeyring, operations: ServerOperations, managedHSMs: ManagedHSMDirectory, blob: BlobService, tenantId: String,
        clock: any WallClock, development: DevelopmentControls? = nil, seeding: VaultSeeding? = nil
    ) {
        self.vaults = vaults
        self.roleAssignments = roleAssignments
        self.directory = directory
        self.resources = resources
        self.signingKeys = signingKeys
        self.operations = operations
        self.managedHSMs = managedHSMs
        self.blob = blob
        self.tenantId = tenantId
        self.clock = clock
        self.development = development
        self.seeding = seeding
    }

    /// Refuses every caller but an administrator principal (403 `ForbiddenByPolicy`).
    public func checkAdministrator(_ caller: Caller) async throws {
        guard await directory.principals.isAdministrator(caller) else {
            throw CoffreError.forbidden(.accessPolicy, message: "Only Coffre administrators may manage the server.")
        }
    }

    // MARK: - Vaults

    public func listVaults() async throws -> [VaultRecord] { try await vaults.list() }

    public func vault(_ name: VaultName) async throws -> VaultRecord { try await vaults.get(name) }

    /// Creates a vault whose creator gets every permission: an access policy, or (RBAC vaults) the Key Vault
    /// Administrator role at the vault's scope, written with the vault in one transaction.
    public func createVault(_ name: VaultName, settings: VaultDirectory.Settings, by creator: Caller) async throws -> VaultRecord {
        let assignment =
            settings.rbacAuthorization
            ? roleAssignments.assignment(of: try .named("Key Vault Administrator"), to: creator.objectId, at: RoleScope(vault: name)) : nil
        return try await vaults.create(name, settings: settings, owner: .all(tenantId: creator.tenantId, objectId: creator.objectId)) {
            if let assignment { try await RoleAssignments.insert(assignment, in: $0) }
        }
    }

    public func deleteVault(_ name: VaultName) async throws { try await vaults.delete(name) }

    /// Sets a principal's access policy on a vault.
    /// - Parameters:
    ///   - principal: an object id, or the client id or name of a principal of this server.
    ///   - permissions: permission names by area (`keys`, `secrets`, `certificates`, `storage`), as clients write them.
    public func setAccessPolicy(
        on vault: VaultName, for principal: String, tenantId: String?, permissions: [String: [String]]
    ) async throws -> VaultRecord {
        var granted: [PermissionArea: Set<String>] = [:]
        for (area, names) in permissions {
            guard let area = PermissionArea(rawValue: area) else {
                throw CoffreError.badParameter("'\(area)' is not a permission area (keys, secrets, certificates, storage).")
            }
            granted[area] = try AccessPolicy.permissions(names, in: area)
        }
        let objectId = try await objectId(of: principal)
        let policy = AccessPolicy(tenantId: tenantId?.lowercased() ?? self.tenantId, objectId: objectId, permissions: granted)
        return try await vaults.setPolicy(policy, on: vault)
    }

    public func deleteAccessPolicy(on vault: VaultName, for principal: String) async throws -> VaultRecord {
        try await vaults.deletePolicy(objectId: try await objectId(of: principal), on: vault)
    }

    // MARK: - Managed HSM pools

    public func listManagedHSMs() async throws -> [ManagedHSMPool] { try await managedHSMs.list() }

    public func managedHSM(_ name: ManagedHSMName) async throws -> ManagedHSMPool { try await managedHSMs.get(name) }

    /// Creates a pool whose administrators (object ids, client ids or names; the creator when none is given) hold
    /// Managed HSM Administrator at `/`; `activated` skips the security domain download (tests, development).
    public func createManagedHSM(
        _ name: ManagedHSMName, administrators: [String], retentionDays: Int, purgeProtection: Bool, activated: Bool, by creator: Caller
    ) async throws -> ManagedHSMPool {
        var objectIds: [String] = []
        for reference in administrators { objectIds.append(try await objectId(of: reference)) }
        let settings = ManagedHSMDirectory.Settings(
            tenantId: tenantId, administrators: objectIds.isEmpty ? [creator.objectId] : objectIds, retentionDays: retentionDays,
            purgeProtection: purgeProtection)
        return try await managedHSMs.create(name, settings: settings, activated: activated)
    }

    /// Deletes a pool with its keys, roles and settings.
    public func deleteManagedHSM(_ name: ManagedHSMName) async throws { try await managedHSMs.delete(name) }

    /// A container of Coffre's Blob service for a pool's backups, and a SAS token for it.
    public struct BackupContainer: Sendable, Equatable {
        public var account: String
        public var container: String
        public var sasToken: String
    }

    /// The storage account that holds the pools' backup containers (`coffre env --hsm`).
    static let backupAccount = "coffrehsmbackups"
    /// How long the SAS token of a backup container is valid.
    static let backupTokenLifetime: Int64 = 30 * 86400

    /// The pool's backup container (the pool's name, in the account `coffrehsmbackups`; both made when missing) with a
    /// new SAS token (read, add, create, write, delete, list; 30 days) signed by the account's key1: what
    /// `coffre env --hsm` exports as `BLOB_CONTAINER_NAME` and `BLOB_STORAGE_SAS_TOKEN`.
    public func backupContainer(for pool: ManagedHSMName) async throws -> BackupContainer {
        _ = try await managedHSMs.get(pool)
        let name = try StorageAccountName(Self.backupAccount)
        let account: StorageAccountRecord
        if let existing = try await blob.accounts.find(name.value) {
            account = existing
        } else {
            do {
                account = try await blob.accounts.create(name)
            } catch CoffreError.conflict {
                account = try await blob.accounts.get(name) // made meanwhile by another call
            }
        }
        let container = pool.value.lowercased()
        try await blob.ensureContainer(container, in: name)
        guard let key = account.key(named: "key1") else { throw StorageError.corrupt("storage account \(name) has no key1") }
        let token = SharedAccessSignature.container(
            account: name.value, key: key.bytes, container: container, permissions: "racwdl",
            expiry: SharedAccessSignature.time(clock.now + Self.backupTokenLifetime))
        return BackupContainer(account: name.value, container: container, sasToken: token)
    }

    /// Loads a seed into a vault (created when missing, its owner holding every permission), all or nothing.
    public func importVault(_ seed: VaultSeed, into name: VaultName, ownerTenantId: String, ownerObjectId: String) async throws -> SeedReport {
        guard let seeding else { throw CoffreError.badParameter("This server does not import vaults.") }
        return try await seeding.load(
            seed, into: name, owner: .all(tenantId: ownerTenantId, objectId: ownerObjectId), principal: { try await objectId(of: $0) })
    }

    /// The vault as a seed document's vault (values and private keys only with `includeValues`).
    public func exportVault(_ name: VaultName, includeValues: Bool) async throws -> VaultSeed {
        guard let seeding else { throw CoffreError.badParameter("This server does not export vaults.") }
        return try await seeding.export(name, includeValues: includeValues)
    }

    // MARK: - Roles

    public var roleDefinitions: [RoleDefinition] { RoleDefinition.builtIn }

    public func roleAssignments(in vault: VaultName) async throws -> [RoleAssignment] { try await roleAssignments.list(in: vault) }

    /// Assigns a built-in role (by name or id) to a principal (object id, client id or name) at a scope: a vault or an
    /// object in it (`/vaults/V[/secrets/NAME]`), or any Azure scope Coffre serves (`/subscriptions/S`,
    /// `/subscriptions/S/resourceGroups/G`, a vault's resource id).
    public func assignRole(_ role: String, to assignee: String, scope: String) async throws -> ScopedRoleAssignment {
        try await resources.assign(
            id: nil, at: ResourceScope(parsing: scope, subscriptionId: resources.subscriptionId), role: try .named(role),
            principalId: try await objectId(of: assignee), principalType: nil
        ).assignment
    }

    public func removeRoleAssignment(_ id: String, in vault: VaultName) async throws -> RoleAssignment {
        try await roleAssignments.delete(id: id, in: vault)
    }

    // MARK: - Principals

    public func listPrincipals() async throws -> [PrincipalRecord] { try await directory.principals.list() }

    public func principal(_ reference: String) async throws -> PrincipalRecord { try await directory.principals.find(reference) }

    /// Creates a principal; `certificate` (PEM or DER) is registered for client assertions; without `withSecret` it
    /// has no client secret (a certificate-only application).
    /// - Returns: the principal and its client secret (shown once), if it keeps one.
    public func createPrincipal(name: String, managedIdentity: Bool, certificate: [UInt8]?, withSecret: Bool) async throws
        -> (principal: PrincipalRecord, secret: String?)
    {
        let parsed = try certificate.map { try ClientCertificate(parsing: $0, now: clock.now) }
        var (principal, secret) = try directory.principals.newRecord(displayName: name, managedIdentity: managedIdentity)
        principal.certificates = parsed.map { [$0] } ?? []
        if !withSecret { principal.secrets = [] }
        // The principal with its credentials, in one transaction.
        try await directory.principals.insert(principal)
        return (principal, withSecret ? secret : nil)
    }

    public func deletePrincipal(_ reference: String) async throws -> PrincipalRecord { try await directory.principals.delete(reference) }

    /// A new client secret (the old ones stay valid until removed), shown once.
    public func addSecret(to reference: String) async throws -> (principal: PrincipalRecord, secret: String) {
        try await directory.principals.addSecret(to: reference)
    }

    public func removeSecret(_ id: String, from reference: String) async throws -> PrincipalRecord {
        try await directory.principals.removeSecret(id, from: reference)
    }

    /// Registers a certificate (PEM or DER, public part only) for client assertions.
    public func addCertificate(_ certificate: [UInt8], to reference: String) async throws -> PrincipalRecord {
        try await directory.principals.addCertificate(try ClientCertificate(parsing: certificate, now: clock.now), to: reference)
    }

    public func removeCertificate(_ thumbprintOrId: String, from reference: String) async throws -> PrincipalRecord {
        try await directory.principals.removeCertificate(thumbprintOrId, from: reference)
    }

    /// An object id as given, or the object id of the application, user or group it names.
    private func objectId(of reference: String) async throws -> String { try await directory.objectId(of: reference) }

    // MARK: - People and groups

    public func listUsers() async throws -> [UserRecord] { try await directory.users.list() }

    public func user(_ reference: String) async throws -> UserRecord { try await directory.users.find(reference) }

    /// Creates a user; without a password, one is generated and returned (shown once).
    public func createUser(userPrincipalName: String, password: String?, displayName: String?) async throws
        -> (user: UserRecord, generatedPassword: String?)
    {
        try await directory.users.create(userPrincipalName: userPrincipalName, password: password, displayName: displayName)
    }

    /// Deletes a user: its group memberships and its sign-ins (refresh tokens) end with it.
    public func deleteUser(_ reference: String) async throws -> UserRecord { try await directory.users.delete(reference) }

    public func listGroups() async throws -> [GroupRecord] { try await directory.groups.list() }

    public func group(_ reference: String) async throws -> GroupRecord { try await directory.groups.find(reference) }

    public func createGroup(name: String) async throws -> GroupRecord { try await directory.groups.create(name: name) }

    public func deleteGroup(_ reference: String) async throws -> GroupRecord { try await directory.groups.delete(reference) }

    /// Adds a user, an application or a group (by object id, or by name) to a group.
    public func addMember(_ member: String, to group: String) async throws -> GroupRecord { try await directory.addMember(member, to: group) }

    public func removeMember(_ member: String, from group: String) async throws -> GroupRecord {
        try await directory.removeMember(member, from: group)
    }

    // MARK: - Keys of the server

    /// The storage keyring's terms (the last is the active one).
    public var keyringTerms: [UInt32] { operations.terms() }

    /// Adds a data-key term, used for writes from now on.
    public func rotateKeyring() async throws -> [UInt32] {
        _ = try await operations.rotateKeyring()
        return operations.terms()
    }

    /// Re-seals every stored value under the active term; returns the terms and how many values were rewritten.
    public func rewrapKeyring() async throws -> (terms: [UInt32], rewrapped: Int) {
        let count = try await operations.rewrap()
        return (operations.terms(), count)
    }

    /// A consistent, sealed snapshot of the whole server.
    public func backup() async throws -> [UInt8] { try await operations.backup() }

    /// The token-signing keys, oldest first (the last one signs).
    public var tokenSigningKeys: [SigningKeyRecord] { signingKeys.records }

    /// Signs new tokens with a new key; the old keys keep verifying the tokens they signed.
    public func rotateTokenSigningKey() async throws -> [SigningKeyRecord] {
        try await signingKeys.rotate()
        return signingKeys.records
    }
}
