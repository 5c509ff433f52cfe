import CoffreAuth
import CoffreCore
import CoffreDirectory
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird

/// Who a Graph request comes from (every Graph route needs a caller).
struct GraphScope: Sendable {
    let caller: Caller
}

typealias GraphRequest = RouteRequest<GraphScope>
typealias GraphRoute = Route<OperationName, GraphScope>

/// The Microsoft Graph subset on the server's own host under `/v1.0` (the cloud metadata's `microsoftGraphResourceId`
/// is the authority, which is both where the Azure CLI sends Graph calls and the audience of their tokens): the
/// lookups `az` makes for `--upn`, `--spn`, `--object-id`, `--assignee` and the signed-in user. Read-only.
struct GraphRoutes: Sendable {
    let lookup: DirectoryLookup
    let policy: RoutePolicy

    init(services: CoffreServices, addressing: Addressing) {
        lookup = DirectoryLookup(directory: services.directory, tenantId: services.tokens.tenantId)
        policy = RoutePolicy(
            authentication: AudienceAuthentication(
                services, addressing, audience: addressing.graphResource,
                challenge: "Bearer authorization_uri=\"\(addressing.authority)\", error=\"invalid_token\""
            ) { missing, reason in
                GraphError.invalidAuthenticationToken(missing ? "Access token is empty." : "Access token validation failure. \(reason)")
            },
            requiresApiVersion: false, maxBodySize: 256 * 1024, errors: CodeAndMessageErrors(),
            auditor: Auditor(sink: services.audit, metrics: services.metrics))
    }

    var group: RouteGroup<OperationName, GraphScope> {
        RouteGroup(
            hosts: [.server], prefix: "v1.0", claimsUnmatched: true, policy: policy,
            routes: [
                Route(.get, "me", "GraphMeGet") { request in try JSON.response(Graph.User(try await lookup.me(request.scope.caller), entity: true)) },
                Route(.get, "users", "GraphUserList") { request in
                    let users = try await lookup.users(request.scope.caller, matching: try Self.filter(request))
                    return try JSON.response(Graph.List(context: "users", value: users.map { Graph.User($0) }))
                },
                Route(.get, "users/{user}", "GraphUserGet") { request in
                    try JSON.response(Graph.User(try await lookup.user(request.scope.caller, Self.key(request.parameter("user"))), entity: true))
                },
                Route(.get, "servicePrincipals", "GraphServicePrincipalList") { request in
                    let principals = try await lookup.servicePrincipals(request.scope.caller, matching: try Self.filter(request))
                    return try JSON.response(Graph.List(context: "servicePrincipals", value: principals.map { Graph.ServicePrincipal($0) }))
                },
                Route(.get, "servicePrincipals/{id}", "GraphServicePrincipalGet") { request in
                    let principal = try await lookup.servicePrincipal(request.scope.caller, Self.key(request.parameter("id")))
                    return try JSON.response(Graph.ServicePrincipal(principal, entity: true))
                },
                Route(.get, "groups", "GraphGroupList") { request in
                    let groups = try await lookup.groups(request.scope.caller, matching: try Self.filter(request))
                    return try JSON.response(Graph.List(context: "groups", value: groups.map { Graph.Group($0) }))
                },
                Route(.get, "groups/{id}", "GraphGroupGet") { request in
                    try JSON.response(Graph.Group(try await lookup.group(request.scope.caller, Self.key(request.parameter("id"))), entity: true))
                },
                Route(.post, "directoryObjects/getByIds", "GraphDirectoryObjectsGetByIds") { request in
                    let body = try request.decode(Graph.GetByIdsBody.self)
                    var kinds = Set(DirectoryLookup.Kind.allCases)
                    if let types = body.types {
                        kinds = Set(
                            types.compactMap { type in DirectoryLookup.Kind.allCases.first { $0.rawValue.lowercased() == type.lowercased() } })
                    }
                    let objects = try await lookup.objects(request.scope.caller, ids: body.ids, kinds: kinds)
                    return try JSON.response(Graph.List(context: "directoryObjects", value: objects.map(Graph.DirectoryObject.init)))
                },
            ],
            admit: { request, match in
                guard let caller = request.caller else { throw GraphError.invalidAuthenticationToken("Access token is empty.") }
                guard case .route = match else {
                    let segment = request.incoming.segments.dropFirst().first ?? ""
                    throw GraphError.badRequest(code: "BadRequest", message: "Resource not found for the segment '\(segment)'.")
                }
                return GraphScope(caller: caller)
            })
    }

    /// A key segment as Graph takes it: `abc` or `('abc')` (the CLI writes user principal names starting with `$` so).
    static func key(_ segment: String) -> String {
        guard segment.hasPrefix("('"), segment.hasSuffix("')"), segment.count >= 4 else { return segment }
        return String(segment.dropFirst(2).dropLast(2)).replacingOccurrences(of: "''", with: "'")
    }

    // MARK: - $filter

    /// Graph's `$filter`, as far as lookups use it: clauses joined by `and`, each `property eq 'value'`,
    /// `startswith(property,'value')` or `servicePrincipalNames/any(c:c eq 'value')`.
    static func filter(_ request: GraphRequest) throws -> DirectoryLookup.Filter? {
        guard let text = request.query["$filter"], !text.isEmpty else { return nil }
        return DirectoryLookup.Filter(try ResourceManagerRoutes.filterClauses(text).map(clause))
    }

    static func clause(_ text: String) throws -> DirectoryLookup.Filter.Clause {
        func property(_ name: String) throws -> DirectoryLookup.Filter.Property {
            guard let property = DirectoryLookup.Filter.Property.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw unsupported(text)
            }
            return property
        }
        let lowered = text.lowercased()
        if lowered.hasPrefix("startswith("), text.hasSuffix(")") {
            let arguments = text.dropFirst("startswith(".count).dropLast()
            guard let comma = arguments.firstIndex(of: ","), let value = quoted(arguments[arguments.index(after: comma)...]) else {
                throw unsupported(text)
            }
            return .startsWith(try property(arguments[..<comma].trimmingCharacters(in: .whitespaces)), value)
        }
        if lowered.hasPrefix("serviceprincipalnames/any("), text.hasSuffix(")") {
            // `any(c:c eq 'value')`: the lambda's variable is whatever the client named it.
            let lambda = text.dropFirst("servicePrincipalNames/any(".count).dropLast()
            guard let colon = lambda.firstIndex(of: ":"),
                let (_, value) = ResourceManagerRoutes.equality(String(lambda[lambda.index(after: colon)...]))
            else { throw unsupported(text) }
            return .equals(.servicePrincipalNames, value)
        }
        guard let (name, value) = ResourceManagerRoutes.equality(text) else { throw unsupported(text) }
        return .equals(try property(name), value)
    }

    static func quoted(_ text: Substring) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 2, trimmed.hasPrefix("'"), trimmed.hasSuffix("'") else { return nil }
        return trimmed.dropFirst().dropLast().replacingOccurrences(of: "''", with: "'")
    }

    static func unsupported(_ clause: String) -> GraphError {
        .badRequest(code: "Request_UnsupportedQuery", message: "Unsupported query: the filter clause '\(clause)' is not supported.")
    }
}
