import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What the data plane's admission established: the vault the host names (the default vault on the server's own
/// host) and the URL objects are named under (the host the client used).
struct VaultScope: Sendable {
    let vault: VaultRecord
    let url: VaultURL
}

/// One authenticated, authorised data-plane request, as a route handler sees it.
typealias DataPlaneRequest = RouteRequest<VaultScope>
typealias DataPlaneRoute = Route<VaultOperation, VaultScope>

/// The Key Vault data plane: authenticate (before the body is read), check the api-version, find the vault, route,
/// authorise, run — and write one audit record per request, failing the request if the record cannot be written.
struct DataPlane: Sendable {
    let services: CoffreServices
    let addressing: Addressing

    /// The Secrets, Keys and Certificates APIs on vault hosts and the server's own host. Managed HSM hosts reach it too
    /// (their requests are refused: Coffre serves no pool yet).
    func group(routes: [DataPlaneRoute]) -> RouteGroup<VaultOperation, VaultScope> {
        RouteGroup(
            hosts: Set(HostKind.allCases), claimsUnmatched: true,
            policy: .keyVault(services, addressing, audience: .targetZone, requiresApiVersion: true),
            routes: routes, admit: admit)
    }

    /// The vault, then the route's operation authorised for the caller on it (and on the object it names).
    @Sendable func admit(_ request: RouteRequest<Void>, _ match: RouteMatch<VaultOperation, VaultScope>) async throws -> VaultScope {
        let vault = try await services.vaults.get(try vaultName(request.target))
        request.audit?.note { $0.vault = vault.name }
        let route: DataPlaneRoute
        switch match {
        case .route(let matched): route = matched
        case .unmatched(let otherMethods):
            throw CoffreError.badParameter(
                "The operation \(request.incoming.method) /\(request.incoming.segments.joined(separator: "/")) is not supported"
                    + (otherMethods ? " with this method." : "."))
        }
        guard let caller = request.caller else { throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.") }
        let url = VaultURL(base: "https://\(request.incoming.host)")
        let kind = route.operation.area.objectKind
        let object = request.parameters["name"].flatMap { name in
            (try? ObjectName(name, kind: kind)).map { RoleScope.ObjectScope(kind: kind, name: $0.key) }
        }
        let version = request.parameters["version"].flatMap { $0.isEmpty ? nil : $0 }
        let objectId = object.map { url.object($0.kind, request.parameters["name"] ?? $0.name, version: version) } ?? url.base
        request.audit?.note { $0.objectId = objectId }
        let assignments = vault.rbacAuthorization ? try await services.roleAssignments.forPrincipal(caller.objectId, in: vault.name) : []
        do {
            try services.authorizer.authorize(caller, route.operation, in: vault, object: object, assignments: assignments)
            request.audit?.note { if vault.rbacAuthorization { $0.rbacAuthorized = true } else { $0.accessPolicyMatch = true } }
        } catch {
            request.audit?.note { if vault.rbacAuthorization { $0.rbacAuthorized = false } else { $0.accessPolicyMatch = false } }
            throw error
        }
        return VaultScope(vault: vault, url: url)
    }

    func vaultName(_ target: Addressing.Target) throws -> VaultName {
        switch target {
        case .vault(let name, _): try VaultName(name)
        case .server: addressing.defaultVault
        case .hsm(let name, _): throw CoffreError.vaultNotFound(name)
        }
    }
}

extension RouteRequest where Scope == VaultScope {
    /// `maxresults` (1–25, default 25) and the cursor carried by `$skiptoken`.
    func paging() throws -> (limit: Int, cursor: String?) {
        var limit = 25
        if let raw = query["maxresults"], !raw.isEmpty {
            guard let value = Int(raw), (1...25).contains(value) else {
                throw CoffreError.badParameter("The value '\(raw)' of maxresults is invalid: it must be between 1 and 25.")
            }
            limit = value
        }
        guard let token = query["$skiptoken"], !token.isEmpty else { return (limit, nil) }
        guard let bytes = Base64.decode(token) else { throw CoffreError.badParameter("The $skiptoken is invalid.") }
        return (limit, String(decoding: bytes, as: UTF8.self))
    }

    /// A list page with the absolute `nextLink` the SDKs follow.
    func page<Item: Encodable>(_ items: [Item], next cursor: String?, path: String, limit: Int) throws -> Response {
        let nextLink = cursor.map {
            "\(self.url.base)/\(path)?api-version=\(apiVersion)&$skiptoken=\(Base64.urlEncoded(Array($0.utf8)))&maxresults=\(limit)"
        }
        return try JSON.response(ListResult(value: items, nextLink: nextLink))
    }
}

extension PermissionArea {
    /// The object kind the area's operations address.
    var objectKind: ObjectKind {
        switch self {
        case .keys: .key
        case .secrets, .storage: .secret
        case .certificates: .certificate
        }
    }
}
