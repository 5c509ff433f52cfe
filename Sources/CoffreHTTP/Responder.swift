import CoffreAuth
import CoffreCore
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
    public var principals: PrincipalDirectory
    public var roleAssignments: RoleAssignments
    public var tokens: TokenService
    public var verifier: TokenVerifier
    public var authorizer: Authorizer
    public var audit: any AuditSink
    public var clock: any WallClock
    /// The secret of the App-Service managed-identity header, and the client id of the default (system) identity.
    public var managedIdentity: (headerSecret: [UInt8], defaultClientId: String)
    /// Operator tasks on the storage under the barrier.
    public var operations: ServerOperations
    public var metrics: MetricsRegistry
    /// Verifies attestation tokens for key release.
    public var attestation: AttestationVerifier

    public init(
        vaults: VaultDirectory, secrets: SecretService, keys: KeyService, certificates: CertificateService, principals: PrincipalDirectory,
        roleAssignments: RoleAssignments,
        tokens: TokenService, verifier: TokenVerifier, authorizer: Authorizer, audit: any AuditSink, clock: any WallClock,
        managedIdentity: (headerSecret: [UInt8], defaultClientId: String), operations: ServerOperations, metrics: MetricsRegistry,
        attestation: AttestationVerifier
    ) {
        self.vaults = vaults
        self.secrets = secrets
        self.keys = keys
        self.certificates = certificates
        self.principals = principals
        self.roleAssignments = roleAssignments
        self.tokens = tokens
        self.verifier = verifier
        self.authorizer = authorizer
        self.audit = audit
        self.clock = clock
        self.managedIdentity = managedIdentity
        self.operations = operations
        self.metrics = metrics
        self.attestation = attestation
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

/// The HTTP entry point: health, token service, management API and the Key Vault data plane, chosen by path,
/// with the vault chosen by host. A class: it is shared by every request, and an async call on a struct this size
/// copied (and retained) all of its services per request.
public final class CoffreResponder: HTTPResponder {
    public typealias Context = CoffreRequestContext

    let services: CoffreServices
    let addressing: Addressing
    let dataPlane: DataPlane
    let tokenEndpoints: TokenEndpoints
    let management: ManagementRoutes

    public init(services: CoffreServices, addressing: Addressing) {
        self.services = services
        self.addressing = addressing
        self.dataPlane = DataPlane(
            services: services, addressing: addressing,
            routes: RouteTable(
                routes: SecretRoutes(secrets: services.secrets).routes
                    + KeyRoutes(keys: services.keys, metrics: services.metrics, tokens: services.tokens, attestation: services.attestation).routes
                    + CertificateRoutes(certificates: services.certificates).routes))
        self.tokenEndpoints = TokenEndpoints(
            tokens: services.tokens, principals: services.principals, authority: addressing.authority,
            managedIdentity: services.managedIdentity)
        self.management = ManagementRoutes(services: services, addressing: addressing)
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let incoming = IncomingRequest(request, addressing: addressing)
        var response: Response
        do {
            if incoming.segments == ["healthz"] {
                response = try JSON.response(["status": "ok"])
            } else if incoming.segments == ["readyz"] {
                do {
                    try await services.operations.ping()
                    response = try JSON.response(["status": "ready"])
                } catch {
                    response = try JSON.response(["status": "storage unavailable"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
                }
            } else if let handled = try await tokenEndpoints.handle(request, context: context, incoming: incoming) {
                response = handled
            } else if incoming.segments.count >= 2, incoming.segments[0] == "coffre", incoming.segments[1] == "v1" {
                response = try await dataPlane.audited(request, incoming: incoming, context: context) { audit in
                    try await management.handle(request, incoming: incoming, audit: &audit)
                }
            } else {
                response = try await dataPlane.serve(request, incoming: incoming, context: context)
            }
        } catch {
            response = errorResponse(error, target: incoming.target, context: context)
        }
        response.headers[.msRequestId] = context.requestId
        if let clientRequestId = request.headers[.msClientRequestId] {
            response.headers[.msClientRequestId] = clientRequestId
        }
        return response
    }

    func errorResponse(_ error: any Error, target: Addressing.Target, context: Context) -> Response {
        ErrorResponse.from(error).response(challenge: addressing.challenge(for: target), logger: context.logger)
    }
}

/// What the adapter reads of every request before choosing a handler.
struct IncomingRequest: Sendable {
    var host: String
    var target: Addressing.Target
    var segments: [String]
    var query: [String: String]
    /// The method, after `X-HTTP-Method` tunnelling.
    var method: HTTPRequest.Method

    init(_ request: Request, addressing: Addressing) {
        host = request.head.authority ?? ""
        target = addressing.target(forHost: host)
        segments = request.uri.path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map {
            Forms.percentDecoded(Substring($0))
        }
        query = Forms.parse(request.uri.query ?? "", plusIsSpace: false)
        method = Self.effectiveMethod(request)
    }

    /// `POST` with `X-HTTP-Method` (or `X-HTTP-Method-Override`) tunnels PATCH, PUT and DELETE.
    static func effectiveMethod(_ request: Request) -> HTTPRequest.Method {
        guard request.method == .post else { return request.method }
        for name in HTTPField.Name.methodOverrides {
            if let value = request.headers[name], let method = HTTPRequest.Method(value.uppercased()) {
                return method
            }
        }
        return .post
    }
}

extension HTTPField.Name {
    static let msRequestId = HTTPField.Name("x-ms-request-id")!
    static let msClientRequestId = HTTPField.Name("x-ms-client-request-id")!
    static let methodOverrides = ["X-HTTP-Method", "X-HTTP-Method-Override", "X-HTTP-REQUEST"].map { HTTPField.Name($0)! }
}
