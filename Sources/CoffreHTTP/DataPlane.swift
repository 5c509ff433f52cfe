import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What the data plane's admission established: the vault the host names (the default vault on the server's own
/// host) and the URL objects are named under (the host the client used). On a Managed HSM host, `vault` is the pool's
/// view as a vault (``ManagedHSMPool/keyVault``) and `managedHSM` the pool, whose keys follow HSM rules.
struct VaultScope: Sendable {
    let vault: VaultRecord
    let url: VaultURL
    let managedHSM: ManagedHSMPool?

    init(vault: VaultRecord, url: VaultURL, managedHSM: ManagedHSMPool? = nil) {
        self.vault = vault
        self.url = url
        self.managedHSM = managedHSM
    }
}

/// One authenticated, authorised data-plane request, as a route handler sees it.
typealias DataPlaneRequest = RouteRequest<VaultScope>
typealias DataPlaneRoute = Route<VaultOperation, VaultScope>

/// The Key Vault data plane: authenticate (before the body is read), check the api-version, find the vault, route,
/// authorise, run — and write one audit record per request, failing the request if the record cannot be written.
struct DataPlane: Sendable {
    let services: CoffreServices
    let addressing: Addressing
    let access: VaultAccess

    init(services: CoffreServices, addressing: Addressing) {
        self.services = services
        self.addressing = addressing
        access = VaultAccess(roleAssignments: services.roleAssignments, groups: services.groupExpansion, authorizer: services.authorizer)
    }

    /// The Secrets, Keys, Certificates and Storage APIs on vault hosts and the server's own host (pools: ``ManagedHSMRoutes``).
    func group(routes: [DataPlaneRoute]) -> RouteGroup<VaultOperation, VaultScope> {
        var policy = RoutePolicy.keyVault(services, addressing, audience: .targetZone, requiresApiVersion: true)
        policy.faults = services.development.map { FaultStage(injector: $0.faults, defaultVault: addressing.defaultVault) }
        return RouteGroup(hosts: [.vault, .server], claimsUnmatched: true, policy: policy, routes: routes, admit: admit)
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
        try services.requestLimits?.admit(vault.name.value)
        let url = VaultURL(base: "https://\(request.incoming.host)")
        let name = request.parameters["name"]
        let objectId = name.flatMap { name in
            route.operation.objectScope(named: name).map {
                url.object($0.kind, name, version: request.parameters["version"].flatMap { $0.isEmpty ? nil : $0 })
            }
        }
        request.audit?.note { $0.objectId = objectId ?? Self.storageObjectId(request.parameters, url: url) ?? url.base }
        try await access.authorize(caller, route.operation, in: vault, objectName: name, noting: request.audit)
        return VaultScope(vault: vault, url: url)
    }

    /// The managed storage account or SAS definition a storage route names, for the audit log.
    static func storageObjectId(_ parameters: RouteParameters, url: VaultURL) -> String? {
        guard let account = parameters["account"] else { return nil }
        return parameters["definition"].map { url.sasDefinition($0, of: account) } ?? url.storage(account)
    }

    func vaultName(_ target: Addressing.Target) throws -> VaultName {
        switch target {
        case .vault(let name, _): try VaultName(name)
        case .server: addressing.defaultVault
        case .hsm(let name, _): throw ManagedHSMError.poolNotFound(name)
        case .blob(let name, _): throw CoffreError.vaultNotFound(name)
        }
    }
}

extension VaultAccess {
    /// ``authorize(_:_:in:objectName:)``, its outcome noted in the request's audit record (`isAccessPolicyMatch` or
    /// `isRbacAuthorized`, by the vault's model).
    func authorize(_ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, objectName: String?, noting audit: AuditTrail?)
        async throws
    {
        do {
            try await authorize(caller, operation, in: vault, objectName: objectName)
            audit?.note { if vault.rbacAuthorization { $0.rbacAuthorized = true } else { $0.accessPolicyMatch = true } }
        } catch {
            audit?.note { if vault.rbacAuthorization { $0.rbacAuthorized = false } else { $0.accessPolicyMatch = false } }
            throw error
        }
    }
}

extension RouteRequest where Scope == VaultScope {
    /// A list page with the absolute `nextLink` the SDKs follow.
    func page<Item: Encodable>(_ items: [Item], next cursor: String?, path: String, limit: Int) throws -> Response {
        let nextLink = cursor.map {
            "\(self.url.base)/\(path)?api-version=\(apiVersion)&$skiptoken=\(Base64.urlEncoded(Array($0.utf8)))&maxresults=\(limit)"
        }
        return try JSON.response(ListResult(value: items, nextLink: nextLink))
    }
}
