import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The server's own management API under `/coffre/v1` (what the `coffre` command line drives): vaults, access
/// policies, role assignments, principals, users, groups, signing keys and storage accounts. Only administrator principals may call it; every call is
/// audited like a data-plane request.
struct ManagementRoutes: Sendable {
    let services: CoffreServices
    let addressing: Addressing
    let administration: ServerAdministration

    init(services: CoffreServices, addressing: Addressing) {
        self.services = services
        self.addressing = addressing
        administration = services.administration
    }

    var tenantId: String { services.tokens.tenantId }

    // MARK: - Wire shapes

    struct VaultView: Encodable {
        var name: String
        var url: String
        var created: Int64
        var retentionDays: Int
        var purgeProtection: Bool
        var rbacAuthorization: Bool
        var recoveryLevel: String
        /// The Azure resource group it belongs to (`default` for vaults made here).
        var resourceGroup: String
        var accessPolicies: [PolicyView]
    }

    struct PolicyView: Encodable {
        var tenantId: String
        var objectId: String
        var permissions: [String: [String]]
    }

    struct SetPolicy: Decodable {
        var tenantId: String?
        var permissions: [String: [String]]
    }

    struct CreateVault: Decodable {
        var name: String
        var retentionDays: Int?
        var purgeProtection: Bool?
        var rbacAuthorization: Bool?
    }

    struct PrincipalView: Encodable {
        var displayName: String
        var objectId: String
        var clientId: String
        var tenantId: String
        var administrator: Bool
        var managedIdentity: Bool
        var created: Int64
        var secrets: [SecretView]
        var certificates: [CertificateView]
    }

    struct SecretView: Encodable {
        var id: String
        var hint: String
        var created: Int64
    }

    struct CertificateView: Encodable {
        var id: String
        var subject: String
        var sha1Thumbprint: String
        var sha256Thumbprint: String
        var notAfter: Int64
    }

    struct CreatedPrincipal: Encodable {
        var displayName: String
        var tenantId: String
        var clientId: String
        var clientSecret: String?
        var objectId: String
        var authority: String
    }

    struct CreatePrincipal: Decodable {
        var name: String
        var managedIdentity: Bool?
        /// A PEM or base64-DER certificate whose key will sign client assertions.
        var certificate: String?
        /// Whether to give the new principal a client secret (default yes).
        var secret: Bool?
    }

    struct AddCertificate: Decodable {
        var certificate: String
    }

    struct CreateAssignment: Decodable {
        var role: String
        var assignee: String
        var scope: String
    }

    struct AssignmentView: Encodable {
        var id: String
        var roleName: String
        var roleDefinitionId: String
        var principalId: String
        var scope: String
    }

    struct RoleView: Encodable {
        var id: String
        var roleName: String
        var dataActions: [String]
        var notDataActions: [String]
    }

    /// What `coffre env --hsm` exports for a pool, under the variables' names (the order they are printed in).
    struct ManagedHSMEnvironment: Encodable {
        var managedHSMURL: String
        var attestationURL: String
        var blobStorageURL: String
        var blobContainerName: String
        var blobStorageSASToken: String

        enum CodingKeys: String, CodingKey {
            case managedHSMURL = "AZURE_MANAGEDHSM_URL"
            case attestationURL = "AZURE_KEYVAULT_ATTESTATION_URL"
            case blobStorageURL = "BLOB_STORAGE_URL"
            case blobContainerName = "BLOB_CONTAINER_NAME"
            case blobStorageSASToken = "BLOB_STORAGE_SAS_TOKEN"
        }
    }

    struct ManagedHSMView: Encodable {
        var name: String
        var url: String
        var tenantId: String
        var created: Int64
        var retentionDays: Int
        var purgeProtection: Bool
        var recoveryLevel: String
        var administrators: [String]
        /// `NotActivated`, `Activating`, `Active` or `Failed`.
        var activation: String
    }

    struct CreateManagedHSM: Decodable {
        var name: String
        /// Object ids, client ids or principal names; the caller when none is given.
        var administrators: [String]?
        var retentionDays: Int?
        var purgeProtection: Bool?
        /// Activates the pool at once (tests, development): no security domain download needed.
        var activated: Bool?
    }

    struct CreateUser: Decodable {
        var userPrincipalName: String
        var password: String?
        var displayName: String?
    }

    struct UserView: Encodable {
        var objectId: String
        var userPrincipalName: String
        var displayName: String
        var tenantId: String
        var created: Int64
    }

    /// What `coffre user create` prints: the password only when Coffre chose it (shown once).
    struct CreatedUser: Encodable {
        var objectId: String
        var userPrincipalName: String
        var tenantId: String
        var password: String?
    }

    struct CreatedGroup: Encodable {
        var objectId: String
        var displayName: String
    }

    struct CreateGroup: Decodable {
        var name: String
    }

    struct GroupView: Encodable {
        var objectId: String
        var displayName: String
        var created: Int64
        var members: [String]
    }

    struct KeyringView: Encodable {
        var activeTerm: UInt32
        var terms: [UInt32]
        var rewrapped: Int?
    }

    struct SigningKeyView: Encodable {
        var kid: String
        var created: Int64
    }

    // MARK: - Routes

    /// What admission established: the caller is an administrator.
    struct AdministratorScope: Sendable {
        let administrator: Caller
    }

    typealias ManagementRequest = RouteRequest<AdministratorScope>

    /// Authenticated by a token for any of the server's zones, then only for administrator principals.
    var group: RouteGroup<OperationName, AdministratorScope> {
        RouteGroup(
            hosts: HostKind.keyVault, prefix: "coffre/v1", claimsUnmatched: true,
            policy: .keyVault(services, addressing, audience: .anyZone, requiresApiVersion: false),
            routes: routes, admit: admitAdministrator)
    }

    var routes: [Route<OperationName, AdministratorScope>] {
        [
            Route(.get, "vaults", "VaultGet") { _ in try JSON.response(try await administration.listVaults().map(view)) },
            Route(.post, "vaults", "VaultCreate", createVault),
            Route(.get, "vaults/{vault}", "VaultGet") { try JSON.response(view(try await administration.vault(vaultName($0)))) },
            Route(.delete, "vaults/{vault}", "VaultDelete") {
                try await administration.deleteVault(vaultName($0))
                return Response(status: .noContent)
            },
            Route(.post, "vaults/{vault}/import", "VaultImport") { request in
                let seed = try request.decode(VaultSeed.self)
                let name = try vaultName(request)
                request.audit?.note { $0.vault = name }
                return try JSON.response(
                    try await administration.importVault(
                        seed, into: name, ownerTenantId: request.administrator.tenantId, ownerObjectId: request.administrator.objectId))
            },
            Route(.get, "vaults/{vault}/export", "VaultExport") {
                try JSON.response(try await administration.exportVault(vaultName($0), includeValues: $0.query["includeValues"] == "true"))
            },
            Route(.put, "vaults/{vault}/policies/{principal}", "VaultAccessPolicySet") {
                let policy = try $0.decode(SetPolicy.self)
                let vault = try await administration.setAccessPolicy(
                    on: vaultName($0), for: $0.parameter("principal"), tenantId: policy.tenantId, permissions: policy.permissions)
                return try JSON.response(view(vault))
            },
            Route(.delete, "vaults/{vault}/policies/{principal}", "VaultAccessPolicyDelete") {
                try JSON.response(view(try await administration.deleteAccessPolicy(on: vaultName($0), for: $0.parameter("principal"))))
            },
            Route(.get, "vaults/{vault}/roleassignments", "RoleAssignmentGet") {
                try JSON.response(try await administration.roleAssignments(in: vaultName($0)).map(view))
            },
            Route(.delete, "vaults/{vault}/roleassignments/{id}", "RoleAssignmentDelete") {
                try JSON.response(view(try await administration.removeRoleAssignment($0.parameter("id"), in: vaultName($0))))
            },
            Route(.post, "roleassignments", "RoleAssignmentCreate") {
                let create = try $0.decode(CreateAssignment.self)
                let assignment = try await administration.assignRole(create.role, to: create.assignee, scope: create.scope)
                return try JSON.response(view(assignment), status: .created)
            },
            Route(.get, "hsms", "ManagedHsmGet") { _ in try JSON.response(try await administration.listManagedHSMs().map(view)) },
            Route(.post, "hsms", "ManagedHsmCreate", createManagedHSM),
            Route(.get, "hsms/{hsm}", "ManagedHsmGet") { try JSON.response(view(try await administration.managedHSM(hsmName($0)))) },
            Route(.get, "hsms/{hsm}/environment", "ManagedHsmEnvironment") { request in
                let pool = try hsmName(request)
                let container = try await administration.backupContainer(for: pool)
                return try JSON.response(
                    ManagedHSMEnvironment(
                        managedHSMURL: addressing.managedHSMURL(pool), attestationURL: addressing.testAttestationURL,
                        blobStorageURL: addressing.blobURL(container.account), blobContainerName: container.container,
                        blobStorageSASToken: container.sasToken))
            },
            Route(.delete, "hsms/{hsm}", "ManagedHsmDelete") {
                try await administration.deleteManagedHSM(hsmName($0))
                return Response(status: .noContent)
            },
            Route(.get, "roledefinitions", "RoleDefinitionGet") { _ in
                try JSON.response(
                    administration.roleDefinitions.map {
                        RoleView(id: $0.id, roleName: $0.name, dataActions: $0.dataActions, notDataActions: $0.notDataActions)
                    })
            },
            Route(.get, "principals", "PrincipalGet") { _ in try JSON.response(try await administration.listPrincipals().map(view)) },
            Route(.post, "principals", "PrincipalCreate", createPrincipal),
            Route(.get, "principals/{principal}", "PrincipalGet") {
                try JSON.response(view(try await administration.principal($0.parameter("principal"))))
            },
            Route(.delete, "principals/{principal}", "PrincipalDelete") {
                try JSON.response(view(try await administration.deletePrincipal($0.parameter("principal"))))
            },
            Route(.post, "principals/{principal}/secrets", "PrincipalSecretCreate") {
                let (principal, secret) = try await administration.addSecret(to: $0.parameter("principal"))
                return try JSON.response(created(principal, secret: secret), status: .created)
            },
            Route(.delete, "principals/{principal}/secrets/{id}", "PrincipalSecretDelete") {
                try JSON.response(view(try await administration.removeSecret($0.parameter("id"), from: $0.parameter("principal"))))
            },
            Route(.post, "principals/{principal}/certificates", "PrincipalCertificateCreate") {
                let certificate = Self.certificateBytes(try $0.decode(AddCertificate.self).certificate)
                return try JSON.response(view(try await administration.addCertificate(certificate, to: $0.parameter("principal"))), status: .created)
            },
            Route(.delete, "principals/{principal}/certificates/{id}", "PrincipalCertificateDelete") {
                try JSON.response(view(try await administration.removeCertificate($0.parameter("id"), from: $0.parameter("principal"))))
            },
            Route(.get, "users", "UserGet") { _ in try JSON.response(try await administration.listUsers().map(view)) },
            Route(.post, "users", "UserCreate") {
                let create = try $0.decode(CreateUser.self)
                let (user, password) = try await administration.createUser(
                    userPrincipalName: create.userPrincipalName, password: create.password, displayName: create.displayName)
                let created = CreatedUser(objectId: user.objectId, userPrincipalName: user.userPrincipalName, tenantId: tenantId, password: password)
                return try JSON.response(created, status: .created)
            },
            Route(.get, "users/{user}", "UserGet") { try JSON.response(view(try await administration.user($0.parameter("user")))) },
            Route(.delete, "users/{user}", "UserDelete") { try JSON.response(view(try await administration.deleteUser($0.parameter("user")))) },
            Route(.get, "groups", "GroupGet") { _ in try JSON.response(try await administration.listGroups().map(view)) },
            Route(.post, "groups", "GroupCreate") {
                let group = try await administration.createGroup(name: try $0.decode(CreateGroup.self).name)
                return try JSON.response(CreatedGroup(objectId: group.objectId, displayName: group.displayName), status: .created)
            },
            Route(.get, "groups/{group}", "GroupGet") { try JSON.response(view(try await administration.group($0.parameter("group")))) },
            Route(.delete, "groups/{group}", "GroupDelete") { try JSON.response(view(try await administration.deleteGroup($0.parameter("group")))) },
            Route(.put, "groups/{group}/members/{member}", "GroupMemberAdd") {
                try JSON.response(view(try await administration.addMember($0.parameter("member"), to: $0.parameter("group"))))
            },
            Route(.delete, "groups/{group}/members/{member}", "GroupMemberRemove") {
                try JSON.response(view(try await administration.removeMember($0.parameter("member"), from: $0.parameter("group"))))
            },
            Route(.get, "keyring", "KeyringGet") { _ in try keyring(administration.keyringTerms) },
            Route(.post, "keyring/rotate", "KeyringRotate") { _ in try keyring(try await administration.rotateKeyring()) },
            Route(.post, "keyring/rewrap", "KeyringRewrap") { _ in
                let (terms, rewrapped) = try await administration.rewrapKeyring()
                return try keyring(terms, rewrapped: rewrapped)
            },
            Route(.get, "backup", "ServerBackup") { _ in
                Response(
                    status: .ok, headers: [.contentType: "application/octet-stream"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try await administration.backup())))
            },
            Route(.get, "signing-keys", "SigningKeyGet") { _ in try signingKeys(administration.tokenSigningKeys) },
            Route(.post, "signing-keys/rotate", "SigningKeyRotate") { _ in try signingKeys(try await administration.rotateTokenSigningKey()) },
        ] + storageAccountRoutes + DevelopmentRoutes(administration: administration).routes
    }

    /// Only administrator principals manage the server; an unknown operation is refused once that is established.
    @Sendable func admitAdministrator(_ request: RouteRequest<Void>, _ match: RouteMatch<OperationName, AdministratorScope>) async throws
        -> AdministratorScope
    {
        guard let caller = request.caller else { throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.") }
        try await administration.checkAdministrator(caller)
        guard case .route = match else {
            throw CoffreError.badParameter("Unknown management operation: \(request.incoming.method) \(request.incoming.path)")
        }
        return AdministratorScope(administrator: caller)
    }

    private func vaultName(_ request: ManagementRequest) throws -> VaultName { try VaultName(request.parameter("vault")) }

    private func createVault(_ request: ManagementRequest) async throws -> Response {
        let create = try request.decode(CreateVault.self)
        let settings = VaultDirectory.Settings(
            retentionDays: create.retentionDays ?? 90, purgeProtection: create.purgeProtection ?? false,
            rbacAuthorization: create.rbacAuthorization ?? false)
        let name = try VaultName(create.name)
        request.audit?.note { $0.vault = name }
        return try JSON.response(view(try await administration.createVault(name, settings: settings, by: request.administrator)), status: .created)
    }

    private func createPrincipal(_ request: ManagementRequest) async throws -> Response {
        let create = try request.decode(CreatePrincipal.self)
        let (principal, secret) = try await administration.createPrincipal(
            name: create.name, managedIdentity: create.managedIdentity ?? false, certificate: create.certificate.map(Self.certificateBytes),
            withSecret: create.secret ?? true)
        return try JSON.response(created(principal, secret: secret), status: .created)
    }

    private func hsmName(_ request: ManagementRequest) throws -> ManagedHSMName { try ManagedHSMName(request.parameter("hsm")) }

    private func createManagedHSM(_ request: ManagementRequest) async throws -> Response {
        let create = try request.decode(CreateManagedHSM.self)
        let name = try ManagedHSMName(create.name)
        request.audit?.note { $0.managedHSM = name }
        let pool = try await administration.createManagedHSM(
            name, administrators: create.administrators ?? [], retentionDays: create.retentionDays ?? 90,
            purgeProtection: create.purgeProtection ?? false, activated: create.activated ?? false, by: request.administrator)
        return try JSON.response(view(pool), status: .created)
    }

    private func view(_ pool: ManagedHSMPool) -> ManagedHSMView {
        let activation =
            switch pool.activation {
            case .notActivated: "NotActivated"
            case .activating: "Activating"
            case .active: "Active"
            case .failed: "Failed"
            }
        return ManagedHSMView(
            name: pool.name.value, url: addressing.managedHSMURL(pool.name), tenantId: pool.tenantId, created: pool.created,
            retentionDays: pool.retentionDays, purgeProtection: pool.purgeProtection, recoveryLevel: pool.recoveryLevel.rawValue,
            administrators: pool.administrators, activation: activation)
    }

    private func keyring(_ terms: [UInt32], rewrapped: Int? = nil) throws -> Response {
        try JSON.response(KeyringView(activeTerm: terms.last ?? 0, terms: terms, rewrapped: rewrapped))
    }

    private func signingKeys(_ keys: [SigningKeyRecord]) throws -> Response {
        try JSON.response(keys.map { SigningKeyView(kid: $0.kid, created: $0.created) })
    }

    /// PEM text, or base64 DER.
    static func certificateBytes(_ text: String) -> [UInt8] {
        text.contains("-----BEGIN") ? Array(text.utf8) : (Base64.decode(text) ?? Array(text.utf8))
    }

    private func view(_ vault: VaultRecord) -> VaultView {
        VaultView(
            name: vault.name.value, url: addressing.vaultURL(vault.name), created: vault.created, retentionDays: vault.retentionDays,
            purgeProtection: vault.purgeProtection, rbacAuthorization: vault.rbacAuthorization,
            recoveryLevel: vault.recoveryLevel.rawValue, resourceGroup: vault.group,
            accessPolicies: vault.accessPolicies.map { policy in
                PolicyView(
                    tenantId: policy.tenantId, objectId: policy.objectId,
                    permissions: Dictionary(uniqueKeysWithValues: policy.permissions.map { ($0.key.rawValue, $0.value.sorted()) }))
            })
    }

    private func view(_ principal: PrincipalRecord) -> PrincipalView {
        PrincipalView(
            displayName: principal.displayName, objectId: principal.objectId, clientId: principal.clientId, tenantId: tenantId,
            administrator: principal.administrator, managedIdentity: principal.managedIdentity, created: principal.created,
            secrets: principal.secrets.map { SecretView(id: $0.id, hint: $0.hint, created: $0.created) },
            certificates: principal.certificates.map {
                CertificateView(
                    id: $0.id, subject: $0.subject, sha1Thumbprint: $0.sha1Thumbprint, sha256Thumbprint: $0.sha256Thumbprint,
                    notAfter: $0.notAfter)
            })
    }

    private func view(_ user: UserRecord) -> UserView {
        UserView(
            objectId: user.objectId, userPrincipalName: user.userPrincipalName, displayName: user.displayName, tenantId: tenantId,
            created: user.created)
    }

    private func view(_ group: GroupRecord) -> GroupView {
        GroupView(objectId: group.objectId, displayName: group.displayName, created: group.created, members: group.members)
    }

    private func view(_ assignment: RoleAssignment) -> AssignmentView {
        AssignmentView(
            id: assignment.id, roleName: assignment.role?.name ?? "", roleDefinitionId: assignment.roleId,
            principalId: assignment.principalId, scope: assignment.scope.description)
    }

    private func view(_ assignment: ScopedRoleAssignment) -> AssignmentView {
        let scope: String =
            switch assignment.scope {
            case .vault(_, let target): target.description
            case .subscription, .resourceGroup: assignment.scope.id(subscriptionId: services.resources.subscriptionId)
            }
        return AssignmentView(
            id: assignment.id, roleName: assignment.role?.name ?? "", roleDefinitionId: assignment.roleId, principalId: assignment.principalId,
            scope: scope)
    }

    private func created(_ principal: PrincipalRecord, secret: String?) -> CreatedPrincipal {
        CreatedPrincipal(
            displayName: principal.displayName, tenantId: tenantId, clientId: principal.clientId, clientSecret: secret,
            objectId: principal.objectId, authority: addressing.authority)
    }
}
