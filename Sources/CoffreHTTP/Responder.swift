import CoffreAuth
import CoffreBlob
import CoffreCore
import CoffreDirectory
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Everything the HTTP adapter needs from the layers below, built by the server's composition root.
public struct CoffreServices: Sendable {
    public var vaults: VaultDirectory
    public var secrets: SecretService
    public var keys: KeyService
    public var certificates: CertificateService
    /// People, groups, applications and managed identities.
    public var directory: Directory
    /// The groups whose grants apply to a caller.
    public var groupExpansion: GroupExpansion
    public var roleAssignments: RoleAssignments
    /// Azure Resource Manager over the vaults and roles above.
    public var resources: ResourceManager
    public var tokens: TokenService
    /// People signing in (password, device code, refresh tokens) and their sign-in sessions.
    public var signIn: UserSignIn
    public var verifier: TokenVerifier
    public var authorizer: Authorizer
    public var audit: any AuditSink
    public var clock: any WallClock
    /// The secret of the App-Service managed-identity header, and the client id of the default (system) identity.
    public var managedIdentity: (headerSecret: [UInt8], defaultClientId: String)
    /// Operator tasks on the storage under the barrier.
    public var operations: ServerOperations
    public var metrics: MetricsRegistry
    /// The Blob service and its storage accounts.
    public var blob: BlobService
    /// Managed HSM pools: their directory, local RBAC, settings and security domains.
    public var managedHSM: ManagedHSMServices
    /// Storage accounts managed by vaults, and their SAS definitions.
    public var storage: ManagedStorageService
    /// The test attestation service that `coffre env --hsm` names (`AZURE_KEYVAULT_ATTESTATION_URL`).
    public var testAttestation: TestAttestationService
    /// Requests per vault per 10 seconds (`--request-limit`); nil: no limit.
    public var requestLimits: VaultRequestLimiter?
    /// Time travel and fault injection, for a server started with `--dev` only.
    public var development: DevelopmentControls?
    /// Vault import and export.
    public var seeding: VaultSeeding?

    public init(
        vaults: VaultDirectory, secrets: SecretService, keys: KeyService, certificates: CertificateService, directory: Directory,
        groupExpansion: GroupExpansion, roleAssignments: RoleAssignments, resources: ResourceManager,
        tokens: TokenService, signIn: UserSignIn, verifier: TokenVerifier, authorizer: Authorizer, audit: any AuditSink, clock: any WallClock,
        managedIdentity: (headerSecret: [UInt8], defaultClientId: String), operations: ServerOperations, metrics: MetricsRegistry,
        blob: BlobService, managedHSM: ManagedHSMServices, storage: ManagedStorageService, testAttestation: TestAttestationService,
        requestLimits: VaultRequestLimiter? = nil, development: DevelopmentControls? = nil, seeding: VaultSeeding? = nil
    ) {
        self.vaults = vaults
        self.secrets = secrets
        self.keys = keys
        self.certificates = certificates
        self.directory = directory
        self.groupExpansion = groupExpansion
        self.roleAssignments = roleAssignments
        self.resources = resources
        self.tokens = tokens
        self.signIn = signIn
        self.verifier = verifier
        self.authorizer = authorizer
        self.audit = audit
        self.clock = clock
        self.managedIdentity = managedIdentity
        self.operations = operations
        self.metrics = metrics
        self.blob = blob
        self.managedHSM = managedHSM
        self.storage = storage
        self.testAttestation = testAttestation
        self.requestLimits = requestLimits
        self.development = development
        self.seeding = seeding
    }

    /// The clock of vaults' time-driven behaviour: time travel's in development mode, else `clock`.
    public var vaultClock: any WallClock { development?.clock ?? clock }

    /// The server's administration (the management API's operations) over these services.
    public var administration: ServerAdministration {
        ServerAdministration(
            vaults: vaults, roleAssignments: roleAssignments, directory: directory, resources: resources, signingKeys: tokens.keyring,
            operations: operations, managedHSMs: managedHSM.pools, blob: blob, tenantId: tokens.tenantId, clock: clock, development: development,
            seeding: seeding)
    }
}

extension CoffreServices {
    public var principals: PrincipalDirectory { directory.principals }
}

/// The HTTP entry point of an unsealed server: every route group of the one route table (health, token service,
/// the web console, management API, the Key Vault data plane, the Managed HSM fronts, the Blob service), with the vault, pool or storage account
/// chosen by host. A class: it is shared by every request.
public final class CoffreResponder: HTTPResponder {
    public typealias Context = CoffreRequestContext

    let services: CoffreServices
    let addressing: Addressing
    let table: RouteTable

    public init(services: CoffreServices, addressing: Addressing) {
        self.services = services
        self.addressing = addressing
        let tokens = TokenRoutes(
            tokens: services.tokens, signIn: services.signIn, authority: addressing.authority, managedIdentity: services.managedIdentity)
        let dataPlane = DataPlane(services: services, addressing: addressing)
        let managedHSM = ManagedHSMRoutes(services: services, addressing: addressing)
        let keys = KeyRoutes(keys: services.keys)
        // In priority order: a request tries the groups' routes in this order (then the claiming group refuses it).
        table = RouteTable(
            addressing: addressing,
            groups: [
                HealthRoutes.group(ready: services.operations.ping),
                tokens.tokenService,
                tokens.managedIdentities,
                TestAttestationRoutes.group(services.testAttestation),
                CloudMetadataRoutes(addressing: addressing, tenantId: services.tokens.tenantId).group,
                SignInPages(signIn: services.signIn, tenantId: services.tokens.tenantId).group,
                ConsolePages(services: services, addressing: addressing, access: dataPlane.access).group,
                ManagementRoutes(services: services, addressing: addressing).group,
                GraphRoutes(services: services, addressing: addressing).group,
            ] + ResourceManagerRoutes(services: services, addressing: addressing).groups + [
                // Certificate operations, issuers and contacts before the certificates' `{name}/{version?}` routes.
                dataPlane.group(
                    routes: SecretRoutes(secrets: services.secrets).routes + keys.routes
                        + CertificateIssuerRoutes(issuers: services.certificates.issuers, contacts: services.certificates.contacts).routes
                        + CertificateOperationRoutes(certificates: services.certificates).routes
                        + CertificateRoutes(certificates: services.certificates).routes
                        + StorageRoutes(storage: services.storage).routes),
                managedHSM.administration,
                managedHSM.status,
                managedHSM.keys(keys.managedHSMRoutes(attestation: services.managedHSM.attestation)),
                BlobRoutes(service: services.blob, auditor: Auditor(sink: services.audit, metrics: services.metrics)).group,
            ])
    }

    /// The route groups, for a responder that serves them behind its own (the sealed server's gate).
    var groups: [any AnyRouteGroup] { table.groups }

    public func respond(to request: Request, context: Context) async throws -> Response {
        await table.respond(to: request, context: context)
    }
}

/// `/healthz` (the process answers) and `/readyz` (the storage answers too), on every host, without a token.
enum HealthRoutes {
    static func group(ready: @escaping @Sendable () async throws -> Void) -> RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: HostKind.keyVault,
            policy: .open(),
            routes: [
                Route(.get, "healthz", "Health") { _ in try JSON.response(["status": "ok"]) },
                Route(.get, "readyz", "Ready") { _ in
                    do {
                        try await ready()
                        return try JSON.response(["status": "ready"])
                    } catch {
                        return try JSON.response(["status": "storage unavailable"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
                    }
                },
            ],
            admit: { _, _ in })
    }
}
