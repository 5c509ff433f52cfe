import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreJSON
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird

/// What the admission of a pool's administration request established: the pool the host names and the URL the client
/// used (`https://{pool}.managedhsm.localhost:8443`).
struct PoolScope: Sendable {
    let pool: ManagedHSMPool
    let base: String
}

typealias PoolRequest = RouteRequest<PoolScope>
typealias PoolRoute = Route<ManagedHSMOperation, PoolScope>

extension ManagedHSMOperation: RouteOperation {
    var auditName: String { name }
}

extension VaultOperation {
    /// `GET /keys/{name}/{version}/attestation`, served on pools only.
    static let keyAttestation = VaultOperation("KeyGetAttestation", .keys, "get", dataAction: "keys/read")
}

/// The Managed HSM fronts on `{pool}.{hsm-zone}` hosts: local RBAC's role definitions and assignments, settings and the
/// security domain (`administration`), the status URLs their pollers read (`status`), and the Keys API over the pool's
/// keys (`keys`). Every request is authorised by the pool's local RBAC for the data action of its operation
/// (``ManagedHSMOperation``) at the scope it addresses; key operations also wait for the pool's activation.
struct ManagedHSMRoutes: Sendable {
    let services: CoffreServices
    let addressing: Addressing

    var hsm: ManagedHSMServices { services.managedHSM }

    var administration: RouteGroup<ManagedHSMOperation, PoolScope> {
        RouteGroup(
            hosts: [.hsm], policy: .keyVault(services, addressing, audience: .targetZone, requiresApiVersion: true),
            routes: administrationRoutes, admit: admitAdministration)
    }

    /// Long-running operations' status URLs, which pollers GET as given in `Azure-AsyncOperation` (no api-version).
    var status: RouteGroup<ManagedHSMOperation, PoolScope> {
        RouteGroup(
            hosts: [.hsm], policy: .keyVault(services, addressing, audience: .targetZone, requiresApiVersion: false),
            routes: [
                Route(.get, "securitydomain/download/pending", .securityDomainDownloadStatus) { try await activationStatus($0, .download) },
                Route(.get, "securitydomain/upload/pending", .securityDomainUploadStatus) { try await activationStatus($0, .upload) },
                Route(.get, "backup/{job}/pending", .fullBackupStatus) { try await jobStatus($0, kinds: [.fullBackup, .preBackup]) },
                Route(.get, "restore/{job}/pending", .restoreStatus) {
                    try await jobStatus($0, kinds: [.fullRestore, .preRestore, .selectiveKeyRestore])
                },
            ], admit: admitAdministration)
    }

    /// The Keys API over the pool's keys; it claims every other path of pool hosts (secrets and certificates are not
    /// served on pools, as in Azure).
    func keys(_ routes: [DataPlaneRoute]) -> RouteGroup<VaultOperation, VaultScope> {
        RouteGroup(
            hosts: [.hsm], claimsUnmatched: true, policy: .keyVault(services, addressing, audience: .targetZone, requiresApiVersion: true),
            routes: routes, admit: admitKeys)
    }

    // MARK: - Admission

    @Sendable func admitAdministration(_ request: RouteRequest<Void>, _ match: RouteMatch<ManagedHSMOperation, PoolScope>) async throws
        -> PoolScope
    {
        let pool = try await pool(request)
        guard case .route(let route) = match else { throw Self.unsupported(request) }
        try await authorize(request, route.operation, on: pool)
        return PoolScope(pool: pool, base: "https://\(request.incoming.host)")
    }

    /// A key route on a pool: authorised as the Managed HSM operation of the same name.
    @Sendable func admitKeys(_ request: RouteRequest<Void>, _ match: RouteMatch<VaultOperation, VaultScope>) async throws -> VaultScope {
        let pool = try await pool(request)
        guard case .route(let route) = match, let operation = ManagedHSMOperation.all.first(where: { $0.name == route.operation.name }) else {
            throw Self.unsupported(request)
        }
        try await authorize(request, operation, on: pool)
        return VaultScope(vault: pool.keyVault, url: VaultURL(base: "https://\(request.incoming.host)"), managedHSM: pool)
    }

    private func pool(_ request: RouteRequest<Void>) async throws -> ManagedHSMPool {
        guard case .hsm(let label, _) = request.target, let name = ManagedHSMName(rawValue: label) else {
            throw ManagedHSMError.poolNotFound(request.incoming.host)
        }
        request.audit?.note { $0.managedHSM = name }
        return try await hsm.pools.get(name)
    }

    /// The caller's assignments must grant the operation's data action at the scope the request addresses (the key it
    /// names, or the scope of a role-assignment path); key operations need an active pool.
    private func authorize(_ request: RouteRequest<Void>, _ operation: ManagedHSMOperation, on pool: ManagedHSMPool) async throws {
        guard let caller = request.caller else { throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.") }
        try services.requestLimits?.admit(pool.name.rawValue)
        let scope = try operation.scope(keyName: request.parameters["name"], assignmentScope: try Self.assignmentScope(request.incoming.segments))
        request.audit?.note { $0.objectId = "https://\(request.incoming.host)\(request.incoming.path)" }
        do {
            let principal = ManagedHSMPrincipal(caller, groupIds: try await services.groupExpansion.groupIds(of: caller))
            try await hsm.access.authorize(principal, operation, at: scope, in: pool.name)
            request.audit?.note { $0.rbacAuthorized = true }
        } catch {
            request.audit?.note { $0.rbacAuthorized = false }
            throw error
        }
        if operation.requiresActivation { _ = try pool.requireActive() }
    }

    static func unsupported(_ request: RouteRequest<Void>) -> CoffreError {
        .badParameter("The operation \(request.incoming.method) \(request.incoming.path) is not supported on a Managed HSM.")
    }

    /// The scope a role-assignment path names before `providers` (`/`, `/keys`, `/keys/{name}`; clients write `/` as an
    /// empty segment or two).
    static func assignmentScope(_ segments: [String]) throws -> ManagedHSMRoleScope {
        guard let providers = segments.firstIndex(where: { $0.lowercased() == "providers" }) else { return .global }
        return try ManagedHSMRoleScope(parsing: segments[..<providers].joined(separator: "/"))
    }

    // MARK: - Routes

    var administrationRoutes: [PoolRoute] {
        // Role management paths start with their scope: nothing, one or two empty segments for `/`, `keys`, `keys/{name}`.
        let scopes = ["", "{scope1?}/", "{scope1?}/{scope2?}/", "{scope1?}/{scope2?}/{scope3?}/"]
        let rbac = scopes.flatMap { scope -> [PoolRoute] in
            let definitions = scope + "providers/Microsoft.Authorization/roleDefinitions"
            let assignments = scope + "providers/Microsoft.Authorization/roleAssignments"
            return [
                Route(.get, definitions, .roleDefinitionList, listDefinitions),
                Route(.get, definitions + "/{definition}", .roleDefinitionGet) {
                    try JSON.response(WireRoleDefinition(try await hsm.access.definition(named: $0.parameter("definition"), in: $0.pool.name)))
                },
                Route(.put, definitions + "/{definition}", .roleDefinitionSet, setDefinition),
                Route(.delete, definitions + "/{definition}", .roleDefinitionDelete) {
                    try JSON.response(
                        WireRoleDefinition(try await hsm.access.deleteDefinition(named: $0.parameter("definition"), in: $0.pool.name)))
                },
                Route(.get, assignments, .roleAssignmentList, listAssignments),
                Route(.get, assignments + "/{assignment}", .roleAssignmentGet) {
                    try JSON.response(WireRoleAssignment(try await hsm.access.assignment(named: $0.parameter("assignment"), in: $0.pool.name)))
                },
                Route(.put, assignments + "/{assignment}", .roleAssignmentCreate, createAssignment),
                Route(.delete, assignments + "/{assignment}", .roleAssignmentDelete) {
                    try JSON.response(
                        WireRoleAssignment(try await hsm.access.deleteAssignment(named: $0.parameter("assignment"), in: $0.pool.name)))
                },
            ]
        }
        return rbac + [
            Route(.get, "settings", .settingsList) {
                try JSON.response(SettingsList(settings: try await hsm.settings.list(in: $0.pool.name).map(WireSetting.init)))
            },
            Route(.get, "settings/{setting}", .settingGet) {
                try JSON.response(WireSetting(try await hsm.settings.get($0.parameter("setting"), in: $0.pool.name)))
            },
            Route(.patch, "settings/{setting}", .settingUpdate) { request in
                guard let value = try request.decode(SettingUpdate.self).value else {
                    throw CoffreError.badParameter("The request body is missing 'value'.")
                }
                return try JSON.response(
                    WireSetting(try await hsm.settings.update(request.parameter("setting"), value: value, in: request.pool.name)))
            },
            Route(.post, "backup", .fullBackup) { request in
                try backupJob(
                    request, "backup", try await hsm.backups.backup(request.pool.name, to: try request.decode(SASTokenParameter.self).location()))
            },
            Route(.post, "prebackup", .preFullBackup) { request in
                try backupJob(
                    request, "backup", try await hsm.backups.preBackup(request.pool.name, to: try request.decode(SASTokenParameter.self).location()))
            },
            Route(.put, "restore", .fullRestore) { request in
                let body = try request.decode(RestoreParametersBody.self)
                return try backupJob(
                    request, "restore",
                    try await hsm.backups.restore(request.pool.name, from: try body.location(), folder: try body.folder("folderToRestore")))
            },
            Route(.put, "prerestore", .preFullRestore) { request in
                let body = try request.decode(RestoreParametersBody.self)
                return try backupJob(
                    request, "restore",
                    try await hsm.backups.preRestore(request.pool.name, from: try body.location(), folder: try body.folder("folderToRestore")))
            },
            Route(.put, "keys/{name}/restore", .selectiveKeyRestore) { request in
                let body = try request.decode(RestoreParametersBody.self)
                return try backupJob(
                    request, "restore",
                    try await hsm.backups.restoreKey(
                        request.parameter("name"), into: request.pool.name, from: try body.location(), folder: try body.folder("folder")))
            },
            Route(.post, "securitydomain/download", .securityDomainDownload, download),
            Route(.get, "securitydomain/upload", .securityDomainTransferKey, transferKey),
            Route(.post, "securitydomain/upload", .securityDomainUpload, upload),
        ]
    }

    // MARK: - Local RBAC

    /// `$filter=roleName eq '…'` keeps the definitions of that name; other filters (`atScopeAndBelow()`) keep all.
    func listDefinitions(_ request: PoolRequest) async throws -> Response {
        var definitions = try await hsm.access.definitions(in: request.pool.name)
        if let name = Self.filterValue(request.query["$filter"], "roleName") {
            definitions = definitions.filter { $0.roleName.lowercased() == name.lowercased() }
        }
        return try JSON.response(ListResult(value: definitions.map(WireRoleDefinition.init), nextLink: nil))
    }

    func setDefinition(_ request: PoolRequest) async throws -> Response {
        let create = try request.decode(RoleDefinitionCreate.self)
        let (definition, _) = try await hsm.access.setDefinition(named: request.parameter("definition"), create.request, in: request.pool.name)
        return try JSON.response(WireRoleDefinition(definition), status: .created)
    }

    /// The assignments related to the path's scope (at it, above it or below it); `$filter=atScope()` keeps those at or
    /// above it, `principalId eq '…'` those of one principal.
    func listAssignments(_ request: PoolRequest) async throws -> Response {
        let scope = try Self.assignmentScope(request.incoming.segments)
        let filter = request.query["$filter"] ?? ""
        let principal = Self.filterValue(filter, "principalId")?.lowercased()
        let assignments = try await hsm.access.assignments(in: request.pool.name).filter { assignment in
            let related =
                filter.lowercased().contains("atscope()")
                ? assignment.scope.covers(scope) : assignment.scope.covers(scope) || scope.covers(assignment.scope)
            return related && (principal == nil || assignment.principalId == principal)
        }
        return try JSON.response(ListResult(value: assignments.map(WireRoleAssignment.init), nextLink: nil))
    }

    func createAssignment(_ request: PoolRequest) async throws -> Response {
        let create = try request.decode(RoleAssignmentCreate.self)
        guard let roleDefinitionId = create.properties?.roleDefinitionId else {
            throw CoffreError.badParameter("The request body is missing 'properties.roleDefinitionId'.")
        }
        let (assignment, _) = try await hsm.access.createAssignment(
            named: request.parameter("assignment"), scope: try Self.assignmentScope(request.incoming.segments),
            roleDefinitionId: roleDefinitionId, principalId: create.properties?.principalId, in: request.pool.name)
        return try JSON.response(WireRoleAssignment(assignment), status: .created)
    }

    /// The value of `field eq 'value'` (quotes optional) in an OData filter.
    static func filterValue(_ filter: String?, _ field: String) -> String? {
        guard let filter, let range = filter.range(of: field + " eq ", options: .caseInsensitive) else { return nil }
        let rest = filter[range.upperBound...].trimmingCharacters(in: .whitespaces)
        let value = rest.hasPrefix("'") ? rest.dropFirst().prefix { $0 != "'" } : rest.prefix { $0 != " " }
        return String(value)
    }

    // MARK: - Security domain

    /// The domain in the 202 body, with the status URL the SDK polls until the activation completes.
    func download(_ request: PoolRequest) async throws -> Response {
        let body = try request.decode(SecurityDomainDownloadRequest.self)
        let document = try await hsm.activations.download(
            certificates: (body.certificates ?? []).map(\.model), required: body.required ?? 2, in: request.pool.name)
        return try JSON.response(
            SecurityDomainObject(value: try SecurityDomainFormat.json(document)), status: .accepted,
            headers: Self.pollingHeaders(request, "securitydomain/download/pending"))
    }

    func transferKey(_ request: PoolRequest) async throws -> Response {
        let key = try await hsm.securityDomain.transferKey(of: request.pool.name)
        let jwk = String(decoding: try StreamingJSONEncoder.encode(TransferKeyJWK(key)), as: UTF8.self)
        return try JSON.response(TransferKeyResult(transfer_key: jwk))
    }

    func upload(_ request: PoolRequest) async throws -> Response {
        guard let value = try request.decode(SecurityDomainObject.self).value else {
            throw CoffreError.badParameter("The request body is missing 'value': the security domain.")
        }
        try await hsm.activations.upload(value, to: request.pool.name)
        return try JSON.response(
            SecurityDomainStatus(.inProgress), status: .accepted, headers: Self.pollingHeaders(request, "securitydomain/upload/pending"))
    }

    func activationStatus(_ request: PoolRequest, _ source: PoolActivation.ActivationSource) async throws -> Response {
        let status = try await hsm.activations.status(source, of: request.pool.name)
        return try JSON.response(SecurityDomainStatus(status), headers: Self.pollAgain(while: status == .inProgress))
    }

    // MARK: - Backup and restore

    /// 202 with the job and the status URL its poller reads (`{pool}/{backup|restore}/{job}/pending`: the SDK takes
    /// the job id from the path's second segment).
    func backupJob(_ request: PoolRequest, _ kind: String, _ job: JobView<ManagedHSMBackups.Outcome>) throws -> Response {
        try JSON.response(
            WireBackupOperation(job), status: .accepted, headers: Self.pollingHeaders(request, "\(kind)/\(job.id.value)/pending"))
    }

    func jobStatus(_ request: PoolRequest, kinds: Set<JobKind>) async throws -> Response {
        guard let id = JobID(request.parameter("job")), let job = try await hsm.backups.status(id, of: request.pool.name),
            kinds.contains(job.kind)
        else { throw CoffreError.badParameter("No backup or restore job \(request.parameter("job")) on this pool.") }
        return try JSON.response(WireBackupOperation(job), headers: Self.pollAgain(while: job.status == .inProgress))
    }

    static func pollingHeaders(_ request: PoolRequest, _ path: String) -> HTTPFields {
        [HTTPField.Name("Azure-AsyncOperation")!: "\(request.base)/\(path)", .retryAfter: "1"]
    }

    /// `Retry-After: 1` on a poll of an unfinished operation: without it the SDK pollers wait 5 s between polls.
    static func pollAgain(while inProgress: Bool) -> HTTPFields {
        inProgress ? [.retryAfter: "1"] : [:]
    }
}
