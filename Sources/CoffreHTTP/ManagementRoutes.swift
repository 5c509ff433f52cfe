import CoffreAuth
import CoffreCore
import CoffreModel
import HTTPTypes
import Hummingbird
import NIOCore

/// The server's own management API under `/coffre/v1` (what the `coffre` command line drives): vaults, access
/// policies and principals. Only administrator principals may call it.
struct ManagementRoutes: Sendable {
    let vaults: VaultDirectory
    let principals: PrincipalDirectory
    let addressing: Addressing
    let tenantId: String

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
        var tenantId: String?
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
        var created: Int64
        var secrets: [SecretView]
    }

    struct SecretView: Encodable {
        var id: String
        var hint: String
        var created: Int64
    }

    struct CreatedPrincipal: Encodable {
        var displayName: String
        var tenantId: String
        var clientId: String
        var clientSecret: String
        var objectId: String
        var authority: String
    }

    struct CreatePrincipal: Decodable {
        var name: String
    }

    /// Serves `segments` (after `coffre/v1`) for an administrator `caller`.
    func handle(_ method: HTTPRequest.Method, _ segments: [String], body: ByteBuffer, caller: Caller) async throws -> Response {
        guard try await principals.find(caller.appId ?? caller.objectId).administrator else {
            throw CoffreError.forbidden(innerCode: "ForbiddenByPolicy", message: "Only Coffre administrators may manage the server.")
        }
        switch (method, segments.count) {
        case (.get, 1) where segments[0] == "vaults":
            return try JSON.response(try await vaults.list().map(view))
        case (.post, 1) where segments[0] == "vaults":
            let request = try JSON.decode(CreateVault.self, from: body)
            let settings = VaultDirectory.Settings(
                retentionDays: request.retentionDays ?? 90, purgeProtection: request.purgeProtection ?? false,
                rbacAuthorization: request.rbacAuthorization ?? false)
            let owner = AccessPolicy.all(tenantId: caller.tenantId, objectId: caller.objectId)
            let vault = try await vaults.create(try VaultName(request.name), settings: settings, owner: owner)
            return try JSON.response(view(vault), status: .created)
        case (.get, 2) where segments[0] == "vaults":
            return try JSON.response(view(try await vaults.get(VaultName(segments[1]))))
        case (.delete, 2) where segments[0] == "vaults":
            try await vaults.delete(VaultName(segments[1]))
            return Response(status: .noContent)
        case (.put, 4) where segments[0] == "vaults" && segments[2] == "policies":
            let request = try JSON.decode(SetPolicy.self, from: body)
            var permissions: [PermissionArea: Set<String>] = [:]
            for (area, names) in request.permissions {
                guard let area = PermissionArea(rawValue: area) else {
                    throw CoffreError.badParameter("'\(area)' is not a permission area (keys, secrets, certificates, storage).")
                }
                permissions[area] = try AccessPolicy.permissions(names, in: area)
            }
            let objectId = try await resolveObjectId(segments[3])
            let policy = AccessPolicy(tenantId: request.tenantId ?? tenantId, objectId: objectId, permissions: permissions)
            return try JSON.response(view(try await vaults.setPolicy(policy, on: VaultName(segments[1]))))
        case (.delete, 4) where segments[0] == "vaults" && segments[2] == "policies":
            let objectId = try await resolveObjectId(segments[3])
            return try JSON.response(view(try await vaults.deletePolicy(objectId: objectId, on: VaultName(segments[1]))))
        case (.get, 1) where segments[0] == "principals":
            return try JSON.response(try await principals.list().map(view))
        case (.post, 1) where segments[0] == "principals":
            let request = try JSON.decode(CreatePrincipal.self, from: body)
            let (principal, secret) = try await principals.create(displayName: request.name)
            return try JSON.response(created(principal, secret: secret), status: .created)
        case (.get, 2) where segments[0] == "principals":
            return try JSON.response(view(try await principals.find(segments[1])))
        case (.delete, 2) where segments[0] == "principals":
            return try JSON.response(view(try await principals.delete(segments[1])))
        case (.post, 3) where segments[0] == "principals" && segments[2] == "secrets":
            let (principal, secret) = try await principals.addSecret(to: segments[1])
            return try JSON.response(created(principal, secret: secret), status: .created)
        default:
            throw CoffreError.badParameter("Unknown management operation: \(method) /coffre/v1/\(segments.joined(separator: "/"))")
        }
    }

    /// An object id as given, or the object id of the principal it names.
    private func resolveObjectId(_ reference: String) async throws -> String {
        if let principal = try? await principals.find(reference) { return principal.objectId }
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
            administrator: principal.administrator, created: principal.created,
            secrets: principal.secrets.map { SecretView(id: $0.id, hint: $0.hint, created: $0.created) })
    }

    private func created(_ principal: PrincipalRecord, secret: String) -> CreatedPrincipal {
        CreatedPrincipal(
            displayName: principal.displayName, tenantId: tenantId, clientId: principal.clientId, clientSecret: secret,
            objectId: principal.objectId, authority: addressing.authority)
    }
}
