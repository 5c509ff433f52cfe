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

    // MARK: - Dispatch

    /// Serves `/coffre/v1/…` for an authenticated administrator.
    func handle(_ request: Request, incoming: IncomingRequest, audit: inout AuditDraft) async throws -> Response {
        let segments = Array(incoming.segments.dropFirst(2))
        let method = incoming.method
        audit.operationName = Self.operationName(method, segments)
        let caller = try await DataPlane(services: services, addressing: addressing, routes: RouteTable(routes: []))
            .authenticate(request, resources: addressing.resources)
        audit.caller = caller
        guard let principal = try? await services.principals.find(caller.appId ?? caller.objectId), principal.administrator,
            principal.objectId == caller.objectId
        else {
            throw CoffreError.forbidden(innerCode: "ForbiddenByPolicy", message: "Only Coffre administrators may manage the server.")
        }
        let body = try await request.body.collect(upTo: DataPlane.maxBodySize)
        switch (method, segments.count) {
        case (.get, 1) where segments[0] == "vaults":
            return try JSON.response(try await services.vaults.list().map(view))
        case (.post, 1) where segments[0] == "vaults":
            let create = try JSON.decode(CreateVault.self, from: body)
            let settings = VaultDirectory.Settings(
                retentionDays: create.retentionDays ?? 90, purgeProtection: create.purgeProtection ?? false,
                rbacAuthorization: create.rbacAuthorization ?? false)
            let name = try VaultName(create.name)
            audit.vault = name
            let vault = try await services.vaults.create(
                name, settings: settings, owner: .all(tenantId: caller.tenantId, objectId: caller.objectId))
            if settings.rbacAuthorization {
                _ = try await services.roleAssignments.create(
                    role: try .named("Key Vault Administrator"), principalId: caller.objectId, scope: RoleScope(vault: name))
            }
            return try JSON.response(view(vault), status: .created)
        case (.get, 2) where segments[0] == "vaults":
            return try JSON.response(view(try await services.vaults.get(VaultName(segments[1]))))
        case (.delete, 2) where segments[0] == "vaults":
            try await services.vaults.delete(VaultName(segments[1]))
            return Response(status: .noContent)
        case (.put, 4) where segments[0] == "vaults" && segments[2] == "policies":
            let policy = try JSON.decode(SetPolicy.self, from: body)
            var permissions: [PermissionArea: Set<String>] = [:]
            for (area, names) in policy.permissions {
                guard let area = PermissionArea(rawValue: area) else {
                    throw CoffreError.badParameter("'\(area)' is not a permission area (keys, secrets, certificates, storage).")
                }
                permissions[area] = try AccessPolicy.permissions(names, in: area)
            }
            let objectId = try await resolveObjectId(segments[3])
            let record = AccessPolicy(tenantId: policy.tenantId?.lowercased() ?? tenantId, objectId: objectId, permissions: permissions)
            return try JSON.response(view(try await services.vaults.setPolicy(record, on: VaultName(segments[1]))))
        case (.delete, 4) where segments[0] == "vaults" && segments[2] == "policies":
            let objectId = try await resolveObjectId(segments[3])
            return try JSON.response(view(try await services.vaults.deletePolicy(objectId: objectId, on: VaultName(segments[1]))))
        case (.get, 3) where segments[0] == "vaults" && segments[2] == "roleassignments":
            return try JSON.response(try await services.roleAssignments.list(in: VaultName(segments[1])).map(view))
        case (.delete, 4) where segments[0] == "vaults" && segments[2] == "roleassignments":
            return try JSON.response(view(try await services.roleAssignments.delete(id: segments[3], in: VaultName(segments[1]))))
        case (.post, 1) where segments[0] == "roleassignments":
            let create = try JSON.decode(CreateAssignment.self, from: body)
            let assignment = try await services.roleAssignments.create(
                role: try .named(create.role), principalId: try await resolveObjectId(create.assignee), scope: RoleScope(parsing: create.scope))
            return try JSON.response(view(assignment), status: .created)
        case (.get, 1) where segments[0] == "roledefinitions":
            return try JSON.response(
                RoleDefinition.builtIn.map {
                    RoleView(id: $0.id, roleName: $0.name, dataActions: $0.dataActions, notDataActions: $0.notDataActions)
                })
        case (.get, 1) where segments[0] == "principals":
            return try JSON.response(try await services.principals.list().map(view))
        case (.post, 1) where segments[0] == "principals":
            return try await createPrincipal(try JSON.decode(CreatePrincipal.self, from: body))
        case (.get, 2) where segments[0] == "principals":
            return try JSON.response(view(try await services.principals.find(segments[1])))
        case (.delete, 2) where segments[0] == "principals":
            return try JSON.response(view(try await services.principals.delete(segments[1])))
        case (.post, 3) where segments[0] == "principals" && segments[2] == "secrets":
            let (principal, secret) = try await services.principals.addSecret(to: segments[1])
            return try JSON.response(created(principal, secret: secret), status: .created)
        case (.delete, 4) where segments[0] == "principals" && segments[2] == "secrets":
            return try JSON.response(view(try await services.principals.removeSecret(segments[3], from: segments[1])))
        case (.post, 3) where segments[0] == "principals" && segments[2] == "certificates":
            let add = try JSON.decode(AddCertificate.self, from: body)
            let certificate = try ClientCertificate(parsing: Self.certificateBytes(add.certificate), now: services.clock.now)
            return try JSON.response(view(try await services.principals.addCertificate(certificate, to: segments[1])), status: .created)
        case (.delete, 4) where segments[0] == "principals" && segments[2] == "certificates":
            return try JSON.response(view(try await services.principals.removeCertificate(segments[3], from: segments[1])))
        case (.post, 2) where segments[0] == "keyring" && segments[1] == "rotate":
            let term = try await services.operations.rotateKeyring()
            return try JSON.response(KeyringView(activeTerm: term, terms: services.operations.terms(), rewrapped: nil))
        case (.post, 2) where segments[0] == "keyring" && segments[1] == "rewrap":
            let count = try await services.operations.rewrap()
            let terms = services.operations.terms()
            return try JSON.response(KeyringView(activeTerm: terms.last ?? 0, terms: terms, rewrapped: count))
        case (.get, 1) where segments[0] == "keyring":
            let terms = services.operations.terms()
            return try JSON.response(KeyringView(activeTerm: terms.last ?? 0, terms: terms, rewrapped: nil))
        case (.get, 1) where segments[0] == "backup":
            let file = try await services.operations.backup()
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: file)))
        case (.get, 1) where segments[0] == "signing-keys":
            return try JSON.response(services.tokens.keyring.records.map { SigningKeyView(kid: $0.kid, created: $0.created) })
        case (.post, 2) where segments[0] == "signing-keys" && segments[1] == "rotate":
            try await services.tokens.keyring.rotate()
            return try JSON.response(services.tokens.keyring.records.map { SigningKeyView(kid: $0.kid, created: $0.created) })
        default:
            throw CoffreError.badParameter("Unknown management operation: \(method) /coffre/v1/\(segments.joined(separator: "/"))")
        }
    }

    /// The audit name of a management call (`VaultCreate`, `PrincipalDelete`, …).
    static func operationName(_ method: HTTPRequest.Method, _ segments: [String]) -> String {
        let subject: String =
            switch (segments.first ?? "", segments.count) {
            case ("vaults", 3...) where segments[2] == "policies": "VaultAccessPolicy"
            case ("vaults", 3...) where segments[2] == "roleassignments", ("roleassignments", _): "RoleAssignment"
            case ("vaults", _): "Vault"
            case ("principals", 3...) where segments[2] == "secrets": "PrincipalSecret"
            case ("principals", 3...) where segments[2] == "certificates": "PrincipalCertificate"
            case ("principals", _): "Principal"
            case ("roledefinitions", _): "RoleDefinition"
            case ("signing-keys", 2): "SigningKeyRotate"
            case ("keyring", 2): segments[1] == "rotate" ? "KeyringRotate" : "KeyringRewrap"
            case ("keyring", _): "KeyringGet"
            case ("backup", _): "ServerBackup"
            case ("signing-keys", _): "SigningKey"
            default: "Management"
            }
        if ["SigningKeyRotate", "KeyringRotate", "KeyringRewrap", "KeyringGet", "ServerBackup"].contains(subject) { return subject }
        let verb: String =
            switch method {
            case .get: "Get"
            case .post: "Create"
            case .put: "Set"
            case .delete: "Delete"
            default: method.rawValue
            }
        return subject + verb
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
