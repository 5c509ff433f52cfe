import CoffreAuth
import CoffreCore
import CoffreModel
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// An operation a route performs, as the audit log and the metrics name it.
protocol RouteOperation: Sendable {
    var auditName: String { get }
    /// Whether it may change something when its method is not GET or HEAD (see ``Auditor/recordsBeforehand(_:_:)``).
    var mayChange: Bool { get }
}

extension RouteOperation {
    var mayChange: Bool { true }
}

extension VaultOperation: RouteOperation {
    var auditName: String { name }

    /// The key operations are POSTs that change nothing: their result is computed, never stored.
    var mayChange: Bool { !Self.computations.contains(self) }

    private static let computations: Set<VaultOperation> = [.keySign, .keyVerify, .keyEncrypt, .keyDecrypt, .keyWrap, .keyUnwrap]
}

/// An operation known by its audit name only (management API, token service).
struct OperationName: RouteOperation, ExpressibleByStringLiteral {
    let auditName: String

    init(stringLiteral name: String) { auditName = name }
}

/// One endpoint of a route group: its method, its path pattern (after the group's prefix), the operation it performs
/// and its handler, which parses the request, makes one call into a service and formats the answer.
struct Route<Operation: RouteOperation, Scope: Sendable>: Sendable {
    let method: HTTPRequest.Method
    let pattern: RoutePattern
    let operation: Operation
    let handler: @Sendable (RouteRequest<Scope>) async throws -> Response

    /// - Parameters:
    ///   - pattern: see ``RoutePattern`` (`keys/{name}/{version?}/sign`).
    ///   - accepting: predicates narrowing parameters by name; a refused segment lets the next route try.
    init(
        _ method: HTTPRequest.Method, _ pattern: String, _ operation: Operation, accepting: [String: @Sendable (String) -> Bool] = [:],
        _ handler: @escaping @Sendable (RouteRequest<Scope>) async throws -> Response
    ) {
        self.method = method
        self.pattern = RoutePattern(pattern, accepting: accepting)
        self.operation = operation
        self.handler = handler
    }
}

/// What a group's admission is told about the request's route.
enum RouteMatch<Operation: RouteOperation, Scope: Sendable>: Sendable {
    case route(Route<Operation, Scope>)
    /// No route of the group matches; `otherMethods` when one does with another method (405 rather than 404).
    case unmatched(otherMethods: Bool)
}

/// How the requests of a group are received, the same way for each of its routes: who the caller is, whether an
/// api-version is required, how large a body may be, how errors are written and whether requests are audited.
struct RoutePolicy: Sendable {
    var authentication: any RequestAuthenticator
    /// A missing or malformed `api-version` is a 400 before anything else is looked at.
    var requiresApiVersion: Bool
    var maxBodySize: Int
    var errors: any ErrorShape
    /// Audited groups write one audit record and one metrics sample per request.
    var auditor: Auditor?
    /// Development mode's injected faults, for the groups that take them (the data plane).
    var faults: FaultStage? = nil
}

/// The fault-injection stage: after authentication, before admission, the body and any effect, a request that a
/// fault matches (by the vault its host names and the route's audit operation name) is delayed, then answered with
/// the fault's error, or let through for a latency-only fault.
struct FaultStage: Sendable {
    let injector: FaultInjector
    /// The vault the server's bare host reaches.
    let defaultVault: VaultName

    func apply(to request: RouteRequest<Void>, operation: String) async throws {
        let vault: VaultName? =
            switch request.target {
            case .vault(let name, _), .hsm(let name, _): try? VaultName(name)
            case .server: defaultVault
            case .blob: nil
            }
        guard let fault = injector.fault(vault: vault, operation: operation) else { return }
        if fault.latencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(fault.latencyMilliseconds)) }
        if fault.status != nil { throw fault }
    }
}

extension RoutePolicy {
    /// Anyone may call (token endpoints, health, the seal endpoints): no api-version, small bodies, not audited.
    static func open(errors: any ErrorShape = KeyVaultErrors()) -> RoutePolicy {
        RoutePolicy(authentication: NoAuthentication(), requiresApiVersion: false, maxBodySize: 64 * 1024, errors: errors, auditor: nil)
    }
}

/// How a group finds out who is calling. Throws to refuse the request (401); `nil` when the group authenticates no one.
protocol RequestAuthenticator: Sendable {
    func authenticate(_ request: RouteRequest<Void>) async throws -> Caller?
    /// The `WWW-Authenticate` value of this group's 401 answers.
    func challenge(for target: Addressing.Target) -> String?
}

/// Token endpoints, health and the seal endpoints: anyone may call.
struct NoAuthentication: RequestAuthenticator {
    func authenticate(_ request: RouteRequest<Void>) async throws -> Caller? { nil }
    func challenge(for target: Addressing.Target) -> String? { nil }
}

/// How a group writes its errors, from the one error table's mapping (``ErrorResponse/from(_:)``).
protocol ErrorShape: Sendable {
    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response
}

/// The routes of a family of endpoints, served under one policy on the hosts of `hosts`.
///
/// A request goes through the same stages in every group: authentication, the api-version, the group's own
/// admission (`admit`: the vault and its authorisation for the data plane, the administrator check for management),
/// then the body is read (no body is read for a refused request) and the route's handler runs. Errors from any stage
/// are written in the group's error shape; audited groups record each request.
final class RouteGroup<Operation: RouteOperation, Scope: Sendable>: AnyRouteGroup {
    let hosts: Set<HostKind>
    let prefix: RoutePattern
    let claimsUnmatched: Bool
    let policy: RoutePolicy
    let routes: [Route<Operation, Scope>]
    let endpoints: [(method: HTTPRequest.Method, pattern: RoutePattern)]
    let admit: @Sendable (RouteRequest<Void>, RouteMatch<Operation, Scope>) async throws -> Scope

    /// - Parameters:
    ///   - hosts: the host kinds this group serves.
    ///   - prefix: a pattern every route's path starts with (`coffre/v1`).
    ///   - claimsUnmatched: whether a request under `prefix` that no route matches is this group's to refuse (its
    ///     admission then gets `.unmatched`); otherwise it goes on to the groups that claim it.
    ///   - admit: the group's own checks before the body is read; it must throw for `.unmatched`.
    init(
        hosts: Set<HostKind>, prefix: String = "", claimsUnmatched: Bool = false, policy: RoutePolicy, routes: [Route<Operation, Scope>],
        admit: @escaping @Sendable (RouteRequest<Void>, RouteMatch<Operation, Scope>) async throws -> Scope
    ) {
        self.hosts = hosts
        self.prefix = RoutePattern.prefix(prefix)
        self.claimsUnmatched = claimsUnmatched
        self.policy = policy
        self.routes = routes
        self.endpoints = routes.map { ($0.method, $0.pattern.prefixed(by: RoutePattern.prefix(prefix))) }
        self.admit = admit
    }

    func respond(
        to request: Request, incoming: IncomingRequest, route index: Int?, parameters: RouteParameters, context: CoffreRequestContext
    ) async -> Response {
        let route = index.map { routes[$0] }
        let operation = route?.operation.auditName ?? "Unknown"
        let received = RouteRequest<Void>(
            incoming: incoming, headers: request.headers, parameters: parameters, context: context, caller: nil, apiVersion: "",
            audit: policy.auditor == nil ? nil : AuditTrail(operationName: operation), scope: (), body: ByteBuffer())
        guard let auditor = policy.auditor else { return await outcome(received, route: route, body: request.body) }
        return await auditor.audited(received, operation: operation) { await self.outcome($0, route: route, body: request.body) }
    }

    /// The route's response, or its failure written in the group's error shape.
    private func outcome(_ request: RouteRequest<Void>, route: Route<Operation, Scope>?, body: RequestBody) async -> Response {
        do {
            return try await run(request, route: route, body: body)
        } catch {
            return policy.errors.response(
                ErrorResponse.from(error), challenge: policy.authentication.challenge(for: request.target), logger: request.context.logger)
        }
    }

    private func run(_ received: RouteRequest<Void>, route: Route<Operation, Scope>?, body: RequestBody) async throws -> Response {
        var request = received
        let caller = try await policy.authentication.authenticate(request)
        request.caller = caller
        request.audit?.note { $0.caller = caller }
        if policy.requiresApiVersion {
            let version = request.query["api-version"]
            try ApiVersion.check(version)
            request.apiVersion = version ?? ""
            request.audit?.note { $0.apiVersion = version }
        }
        if let faults = policy.faults { try await faults.apply(to: request, operation: route?.operation.auditName ?? "Unknown") }
        let scope = try await admit(request, route.map { .route($0) } ?? .unmatched(otherMethods: hasPath(request.incoming.segments)))
        guard let route else { throw CoffreError.badParameter("The operation \(request.incoming.method) \(request.incoming.path) is not supported.") }
        let collected = try await body.collect(upTo: policy.maxBodySize)
        if let auditor = policy.auditor, Auditor.recordsBeforehand(request.incoming.method, route.operation) { try auditor.recordRequest(request) }
        return try await route.handler(request.with(scope: scope, body: collected))
    }

    /// Whether some route of the group has this path with any method.
    private func hasPath(_ segments: [String]) -> Bool {
        endpoints.contains { $0.pattern.matches(segments) }
    }
}

/// A route group whatever its scope, as the route table holds it.
protocol AnyRouteGroup: Sendable {
    var hosts: Set<HostKind> { get }
    var prefix: RoutePattern { get }
    var claimsUnmatched: Bool { get }
    /// Each route's method and whole pattern (the prefix included), in the order routes are tried.
    var endpoints: [(method: HTTPRequest.Method, pattern: RoutePattern)] { get }
    /// Serves a request the table gave to this group: `route` is the index of the matched route, nil if none matched.
    func respond(
        to request: Request, incoming: IncomingRequest, route: Int?, parameters: RouteParameters, context: CoffreRequestContext
    ) async -> Response
}
