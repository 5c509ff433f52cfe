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
    public var principals: PrincipalDirectory
    public var tokens: TokenService
    public var verifier: TokenVerifier
    public var authorizer: Authorizer
    public var clock: any WallClock
    public var signingKeys: @Sendable () -> [SigningKeyRecord]
    /// The managed-identity header secret and the principal it stands for.
    public var managedIdentity: (headerSecret: [UInt8], clientId: String)

    public init(
        vaults: VaultDirectory, secrets: SecretService, principals: PrincipalDirectory, tokens: TokenService,
        verifier: TokenVerifier, authorizer: Authorizer, clock: any WallClock,
        signingKeys: @escaping @Sendable () -> [SigningKeyRecord], managedIdentity: (headerSecret: [UInt8], clientId: String)
    ) {
        self.vaults = vaults
        self.secrets = secrets
        self.principals = principals
        self.tokens = tokens
        self.verifier = verifier
        self.authorizer = authorizer
        self.clock = clock
        self.signingKeys = signingKeys
        self.managedIdentity = managedIdentity
    }
}

/// The HTTP entry point: health, token service, management API and the Key Vault data plane, chosen by path,
/// with the vault chosen by host.
public struct CoffreResponder: HTTPResponder {
    public typealias Context = CoffreRequestContext

    let services: CoffreServices
    let addressing: Addressing
    let dataPlane: RouteTable
    let tokenEndpoints: TokenEndpoints
    let management: ManagementRoutes
    /// The largest request body accepted (certificate imports are the largest legitimate bodies).
    let maxBodySize = 4 * 1024 * 1024

    public init(services: CoffreServices, addressing: Addressing) {
        self.services = services
        self.addressing = addressing
        self.dataPlane = RouteTable(routes: SecretRoutes(secrets: services.secrets).routes)
        self.tokenEndpoints = TokenEndpoints(
            tokens: services.tokens, principals: services.principals, signingKeys: services.signingKeys,
            authority: addressing.authority,
            managedIdentity: .init(headerSecret: services.managedIdentity.headerSecret, clientId: services.managedIdentity.clientId))
        self.management = ManagementRoutes(
            vaults: services.vaults, principals: services.principals, addressing: addressing, tenantId: services.tokens.tenantId)
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let host = request.head.authority ?? ""
        let target = addressing.target(forHost: host)
        let path = request.uri.path
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            Forms.percentDecoded($0)
        }
        let query = Forms.parse(request.uri.query ?? "", plusIsSpace: false)
        var response: Response
        do {
            if segments == ["healthz"] || segments == ["readyz"] {
                response = try JSON.response(["status": "ok"])
            } else if let handled = try await tokenEndpoints.handle(request, context: context, segments: segments, query: query) {
                response = handled
            } else if segments.count >= 2, segments[0] == "coffre", segments[1] == "v1" {
                let caller = try authenticate(request, target: target)
                let body = try await request.body.collect(upTo: maxBodySize)
                response = try await management.handle(request.method, Array(segments.dropFirst(2)), body: body, caller: caller)
            } else {
                response = try await serveDataPlane(request, target: target, host: host, segments: segments, query: query)
            }
        } catch {
            response = errorResponse(error, target: target, context: context)
        }
        response.headers[.init("x-ms-request-id")!] = context.requestId
        if let clientRequestId = request.headers[.init("x-ms-client-request-id")!] {
            response.headers[.init("x-ms-client-request-id")!] = clientRequestId
        }
        return response
    }

    /// The Key Vault data plane: authenticate (before reading the body), check the api-version, find the vault,
    /// route, authorise, run.
    func serveDataPlane(_ request: Request, target: Addressing.Target, host: String, segments: [String], query: [String: String])
        async throws -> Response
    {
        let caller = try authenticate(request, target: target)
        try Self.checkApiVersion(query["api-version"])
        let vaultName: VaultName
        switch target {
        case .vault(let name, _): vaultName = try VaultName(name)
        case .server: vaultName = addressing.defaultVault
        case .hsm(let name, _): throw CoffreError.vaultNotFound(name)
        }
        let vault = try await services.vaults.get(vaultName)
        let method = Self.effectiveMethod(request)
        guard let (route, parameters) = dataPlane.match(method, segments) else {
            throw CoffreError.badParameter(
                "The operation \(method) /\(segments.joined(separator: "/")) is not supported"
                    + (dataPlane.hasPath(segments) ? " with this method." : "."))
        }
        try services.authorizer.authorize(caller, route.operation, in: vault)
        let body = try await request.body.collect(upTo: maxBodySize)
        return try await route.handler(
            DataPlaneRequest(
                vault: vault, url: VaultURL(base: "https://\(host)"), parameters: parameters, query: query, body: body, caller: caller,
                apiVersion: query["api-version"] ?? ""))
    }

    /// The caller behind the request's bearer token; a missing or invalid token is a 401 with the challenge.
    func authenticate(_ request: Request, target: Addressing.Target) throws -> Caller {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
        }
        return try services.verifier.verify(
            String(header.dropFirst(7)), audiences: [addressing.resource(for: target)], now: services.clock.now)
    }

    /// `POST` with `X-HTTP-Method` (or `X-HTTP-Method-Override`) tunnels PATCH, PUT and DELETE.
    static func effectiveMethod(_ request: Request) -> HTTPRequest.Method {
        guard request.method == .post else { return request.method }
        for name in ["X-HTTP-Method", "X-HTTP-Method-Override", "X-HTTP-REQUEST"] {
            if let value = request.headers[HTTPField.Name(name)!], let method = HTTPRequest.Method(value.uppercased()) {
                return method
            }
        }
        return .post
    }

    /// Every api-version a client sends is accepted (`2016-10-01`, `7.0`…`7.6`, `2025-07-01`, previews); a missing or
    /// malformed one is a 400, as the service answers.
    static func checkApiVersion(_ version: String?) throws {
        guard let version, !version.isEmpty else {
            throw CoffreError.badParameter("The api-version query parameter is required for all requests.")
        }
        let base = version.split(separator: "-preview", maxSplits: 1).first.map(String.init) ?? version
        let dated = base.count == 10 && base.split(separator: "-").count == 3 && base.allSatisfy { $0.isNumber || $0 == "-" }
        let numbered = base.split(separator: ".").count == 2 && base.allSatisfy { $0.isNumber || $0 == "." }
        guard dated || numbered else {
            throw CoffreError.badParameter("The specified version (\(version)) is not recognized.")
        }
    }

    func errorResponse(_ error: any Error, target: Addressing.Target, context: Context) -> Response {
        let mapped = ErrorResponse.from(error)
        if mapped.status == .internalServerError {
            context.logger.error("request failed", metadata: ["error": "\(type(of: error))"])
        }
        var headers: HTTPFields = [.cacheControl: "no-cache"]
        if mapped.status == .unauthorized {
            headers[.wwwAuthenticate] =
                "Bearer authorization=\"\(addressing.authority)\", resource=\"\(addressing.resource(for: target))\""
        }
        if let retryAfter = mapped.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return (try? JSON.response(mapped.envelope, status: mapped.status, headers: headers)) ?? Response(status: mapped.status)
    }
}
