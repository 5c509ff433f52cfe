import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The server's own management API under `/coffre/v1` (what the `coffre` command line drives): vaults, access
/// policies, role assignments, principals and signing keys. Only administrator principals may call it; every call is
/// audited like a data-plane request.
struct ManagementRoutes: Sendable {
    let services: CoffreServices
    let addressing: Addressing

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
            hosts: Set(HostKind.allCases), prefix: "coffre/v1", claimsUnmatched: true,
            policy: .keyVault(services, addressing, audience: .anyZone, requiresApiVersion: false),
            routes: routes, admit: admitAdministrator)
    }

    var routes: [Route<OperationName, AdministratorScope>] {
        [
            Route(.get, "vaults", "VaultGet") { _ in try JSON.response(try await services.vaults.list().map(view)) },
            Route(.post, "vaults", "VaultCreate", createVault),
            Route(.get, "vaults/{vault}", "VaultGet") { try JSON.response(view(try await services.vaults.get(vaultName($0)))) },
            Route(.delete, "vaults/{vault}", "VaultDelete", deleteVault),
            Route(.put, "vaults/{vault}/policies/{principal}", "VaultAccessPolicySet", setPolicy),
            Route(.delete, "vaults/{vault}/policies/{principal}", "VaultAccessPolicyDelete", deletePolicy),
            Route(.get, "vaults/{vault}/roleassignments", "RoleAssignmentGet") {
                try JSON.response(try await services.roleAssignments.list(in: vaultName($0)).map(view))
            },
            Route(.delete, "vaults/{vault}/roleassignments/{id}", "RoleAssignmentDelete") {
                try JSON.response(view(try await services.roleAssignments.delete(id: $0.parameter("id"), in: vaultName($0))))
            },
            Route(.post, "roleassignments", "RoleAssignmentCreate", createAssignment),
            Route(.get, "roledefinitions", "RoleDefinitionGet") { _ in
                try JSON.response(
                    RoleDefinition.builtIn.map {
                        RoleView(id: $0.id, roleName: $0.name, dataActions: $0.dataActions, notDataActions: $0.notDataActions)
                    })
            },
            Route(.get, "principals", "PrincipalGet") { _ in try JSON.response(try await services.principals.list().map(view)) },
            Route(.post, "principals", "PrincipalCreate") { try await createPrincipal(try $0.decode(CreatePrincipal.self)) },
            Route(.get, "principals/{principal}", "PrincipalGet") {
                try JSON.response(view(try await services.principals.find($0.parameter("principal"))))
            },
            Route(.delete, "principals/{principal}", "PrincipalDelete") {
                try JSON.response(view(try await services.principals.delete($0.parameter("principal"))))
            },
            Route(.post, "principals/{principal}/secrets", "PrincipalSecretCreate") {
                let (principal, secret) = try await services.principals.addSecret(to: $0.parameter("principal"))
                return try JSON.response(created(principal, secret: secret), status: .created)
            },
            Route(.delete, "principals/{principal}/secrets/{id}", "PrincipalSecretDelete") {
                try JSON.response(view(try await services.principals.removeSecret($0.parameter("id"), from: $0.parameter("principal"))))
            },
            Route(.post, "principals/{principal}/certificates", "PrincipalCertificateCreate", addCertificate),
            Route(.delete, "principals/{principal}/certificates/{id}", "PrincipalCertificateDelete") {
                try JSON.response(view(try await services.principals.removeCertificate($0.parameter("id"), from: $0.parameter("principal"))))
            },
            Route(.get, "keyring", "KeyringGet") { _ in
                let terms = services.operations.terms()
                return try JSON.response(KeyringView(activeTerm: terms.last ?? 0, terms: terms, rewrapped: nil))
            },
            Route(.post, "keyring/rotate", "KeyringRotate") { _ in
                let term = try await services.operations.rotateKeyring()
                return try JSON.response(KeyringView(activeTerm: term, terms: services.operations.terms(), rewrapped: nil))
            },
            Route(.post, "keyring/rewrap", "KeyringRewrap") { _ in
                let count = try await services.operations.rewrap()
                let terms = services.operations.terms()
                return try JSON.response(KeyringView(activeTerm: terms.last ?? 0, terms: terms, rewrapped: count))
            },
            Route(.get, "backup", "ServerBackup") { _ in
                let file = try await services.operations.backup()
                return Response(
                    status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: file)))
            },
            Route(.get, "signing-keys", "SigningKeyGet") { _ in try signingKeys() },
            Route(.post, "signing-keys/rotate", "SigningKeyRotate") { _ in
                try await services.tokens.keyring.rotate()
                return try signingKeys()
            },
        ]
    }

    /// Only administrator principals manage the server; an unknown operation is refused once that is established.
    @Sendable func admitAdministrator(_ request: RouteRequest<Void>, _ match: RouteMatch<OperationName, AdministratorScope>) async throws
        -> AdministratorScope
    {
        guard let caller = request.caller, let principal = try? await services.principals.find(caller.appId ?? caller.objectId),
            principal.administrator, principal.objectId == caller.objectId
        else {
            throw CoffreError.forbidden(innerCode: "ForbiddenByPolicy", message: "Only Coffre administrators may manage the server.")
        }
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
        let caller = request.administrator
        let vault = try await services.vaults.create(name, settings: settings, owner: .all(tenantId: caller.tenantId, objectId: caller.objectId))
        if settings.rbacAuthorization {
            _ = try await services.roleAssignments.create(
                role: try .named("Key Vault Administrator"), principalId: caller.objectId, scope: RoleScope(vault: name))
        }
        return try JSON.response(view(vault), status: .created)
    }

    private func deleteVault(_ request: ManagementRequest) async throws -> Response {
        try await services.vaults.delete(vaultName(request))
        return Response(status: .noContent)
    }

    private func setPolicy(_ request: ManagementRequest) async throws -> Response {
        let policy = try request.decode(SetPolicy.self)
        var permissions: [PermissionArea: Set<String>] = [:]
        for (area, names) in policy.permissions {
            guard let area = PermissionArea(rawValue: area) else {
                throw CoffreError.badParameter("'\(area)' is not a permission area (keys, secrets, certificates, storage).")
            }
            permissions[area] = try AccessPolicy.permissions(names, in: area)
        }
        let objectId = try await resolveObjectId(request.parameter("principal"))
        let record = AccessPolicy(tenantId: policy.tenantId?.lowercased() ?? tenantId, objectId: objectId, permissions: permissions)
        return try JSON.response(view(try await services.vaults.setPolicy(record, on: vaultName(request))))
    }

    private func deletePolicy(_ request: ManagementRequest) async throws -> Response {
        let objectId = try await resolveObjectId(request.parameter("principal"))
        return try JSON.response(view(try await services.vaults.deletePolicy(objectId: objectId, on: vaultName(request))))
    }

    private func createAssignment(_ request: ManagementRequest) async throws -> Response {
        let create = try request.decode(CreateAssignment.self)
        let assignment = try await services.roleAssignments.create(
            role: try .named(create.role), principalId: try await resolveObjectId(create.assignee), scope: RoleScope(parsing: create.scope))
        return try JSON.response(view(assignment), status: .created)
    }

    private func addCertificate(_ request: ManagementRequest) async throws -> Response {
        let add = try request.decode(AddCertificate.self)
        let certificate = try ClientCertificate(parsing: Self.certificateBytes(add.certificate), now: services.clock.now)
        return try JSON.response(
            view(try await services.principals.addCertificate(certificate, to: request.parameter("principal"))), status: .created)
    }

    private func signingKeys() throws -> Response {
        try JSON.response(services.tokens.keyring.records.map { SigningKeyView(kid: $0.kid, created: $0.created) })
    }

    private func createPrincipal(_ request: CreatePrincipal) async throws -> Response {
        let certificate = try request.certificate.map { try ClientCertificate(parsing: Self.certificateBytes($0), now: services.clock.now) }
        var (principal, secret) = try await services.principals.create(
            displayName: request.name, managedIdentity: request.managedIdentity ?? false)
        if let certificate { principal = try await services.principals.addCertificate(certificate, to: principal.clientId) }
        var output = created(principal, secret: secret)
        if request.secret == false {
            principal = try await services.principals.removeSecret(principal.secrets[0].id, from: principal.clientId)
            output.clientSecret = nil
        }
        return try JSON.response(output, status: .created)
    }

    /// PEM text, or base64 DER.
    static func certificateBytes(_ text: String) -> [UInt8] {
        text.contains("-----BEGIN") ? Array(text.utf8) : (Base64.decode(text) ?? Array(text.utf8))
    }

    /// An object id as given, or the object id of the principal it names.
    private func resolveObjectId(_ reference: String) async throws -> String {
        if let principal = try? await services.principals.find(reference) { return principal.objectId }
        return reference.lowercased()
    }

    private func view(_ vault: VaultRecord) -> VaultView {
        VaultView(
            name: vault.name.value, url: addressing.vaultURL(vault.name), created: vault.created, retentionDays: vault.retentionDays,
            purgeProtection: vault.purgeProtection, rbacAuthorization: vault.rbacAuthorization,
            recoveryLevel: vault.recoveryLevel.rawValue,
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

    private func view(_ assignment: RoleAssignment) -> AssignmentView {
        AssignmentView(
            id: assignment.id, roleName: assignment.role?.name ?? "", roleDefinitionId: assignment.roleId,
            principalId: assignment.principalId, scope: assignment.scope.description)
    }

    private func created(_ principal: PrincipalRecord, secret: String?) -> CreatedPrincipal {
        CreatedPrincipal(
            displayName: principal.displayName, tenantId: tenantId, clientId: principal.clientId, clientSecret: secret,
            objectId: principal.objectId, authority: addressing.authority)
    }
}
