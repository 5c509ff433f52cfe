import CoffreModel
import HTTPTypes
import Hummingbird

/// The one router: every request of the server, whatever its host and path, is dispatched here to a route of a
/// route group.
///
/// A request's host kind (vault, Managed HSM, or the server's own host) picks the groups that may serve it; among
/// them, only the routes of the request's method and number of path segments are tried, in the order the groups were
/// given and, within a group, the order of its routes. With no route matching, the group that claims the path (the one
/// with the longest claiming prefix) refuses it in its own way, after its own authentication.
///
/// Adding an endpoint is one line in its group's route list plus its handler:
/// ```swift
/// Route(.post, "keys/{name}/{version?}/sign", .keySign, sign),
/// ```
/// Adding a group is a `RouteGroup` with its hosts, prefix, policy (authentication, api-version, body limit, error
/// shape, audit) and admission, added to the list `CoffreResponder` gives the table (see `CoffreResponder.init`).
final class RouteTable: Sendable {
    private struct Shape: Hashable {
        var method: HTTPRequest.Method
        var segments: Int
    }

    private struct Entry: Sendable {
        var pattern: RoutePattern
        var group: Int
        var route: Int
    }

    private struct Table: Sendable {
        /// The routes of each method and path length, in order: a request tries only the few routes of its shape.
        var byShape: [Shape: [Entry]] = [:]
        /// The routes whose pattern takes the rest of the path (`{name*}`), by method: tried after those of the shape.
        var takingRest: [HTTPRequest.Method: [Entry]] = [:]
        /// The groups that refuse unmatched requests under their prefix, longest prefix first.
        var claimants: [Int] = []
    }

    let addressing: Addressing?
    let groups: [any AnyRouteGroup]
    /// One table per host kind.
    private let tables: [Table]

    /// - Parameter addressing: how hosts map to vaults and pools; nil when every request is the server's (sealed).
    init(addressing: Addressing?, groups: [any AnyRouteGroup]) {
        self.addressing = addressing
        self.groups = groups
        tables = HostKind.allCases.map { kind in
            var table = Table()
            for (index, group) in groups.enumerated() where group.hosts.contains(kind) {
                for (route, endpoint) in group.endpoints.enumerated() {
                    let entry = Entry(pattern: endpoint.pattern, group: index, route: route)
                    if endpoint.pattern.takesRest {
                        table.takingRest[endpoint.method, default: []].append(entry)
                    } else {
                        table.byShape[Shape(method: endpoint.method, segments: endpoint.pattern.count), default: []].append(entry)
                    }
                }
            }
            let claimants = groups.indices.filter { groups[$0].claimsUnmatched && groups[$0].hosts.contains(kind) }
            table.claimants = claimants.enumerated().sorted { a, b in
                let (left, right) = (groups[a.element].prefix.count, groups[b.element].prefix.count)
                return left != right ? left > right : a.offset < b.offset
            }.map(\.element)
            return table
        }
    }

    /// A matched route (`route` nil: the group claims the path but no route matches it).
    struct Match {
        var group: Int
        var route: Int?
        var parameters: RouteParameters
    }

    /// The first route matching; a trailing slash is ignored when nothing matches with it.
    func match(_ incoming: IncomingRequest) -> Match? {
        let table = tables[incoming.target.kind.rawValue]
        var segments = incoming.segments
        while true {
            for entry in table.byShape[Shape(method: incoming.method, segments: segments.count)] ?? [] where entry.pattern.matches(segments) {
                return Match(group: entry.group, route: entry.route, parameters: RouteParameters(pattern: entry.pattern, segments: segments))
            }
            guard segments.count > 1, segments.last == "" else { break }
            segments.removeLast()
        }
        for entry in table.takingRest[incoming.method] ?? [] where entry.pattern.matches(incoming.segments) {
            return Match(group: entry.group, route: entry.route, parameters: RouteParameters(pattern: entry.pattern, segments: incoming.segments))
        }
        let claimant = table.claimants.first { groups[$0].prefix.isPrefix(of: incoming.segments) }
        return claimant.map { Match(group: $0, route: nil, parameters: .none) }
    }

    /// Routes the request and answers it, with the request id (and the client's, if it sent one) on every response.
    func respond(to request: Request, context: CoffreRequestContext) async -> Response {
        let incoming = IncomingRequest(request, addressing: addressing)
        var response: Response
        if let match = match(incoming) {
            response = await groups[match.group].respond(
                to: request, incoming: incoming, route: match.route, parameters: match.parameters, context: context)
        } else {
            response = ErrorResponse.from(CoffreError.badParameter("The operation \(incoming.method) \(incoming.path) is not supported."))
                .response(challenge: nil, logger: context.logger)
        }
        response.headers[.msRequestId] = context.requestId
        if let clientRequestId = request.headers[.msClientRequestId] {
            response.headers[.msClientRequestId] = clientRequestId
        }
        return response
    }
}

/// What kind of host a request addresses (from its `Host` header); each route group serves some kinds.
enum HostKind: Int, CaseIterable, Sendable {
    /// `{vault}.{vault-zone}`.
    case vault
    /// `{pool}.{hsm-zone}`.
    case hsm
    /// The server's own host (the token service's authority, `localhost`, an IP address): the default vault.
    case server
    /// `{account}.{blob-zone}`: Coffre's Blob service.
    case blob

    /// The hosts of the Key Vault API and the server's own endpoints: every kind but the Blob service's, whose paths
    /// are all its own (a container may be named `healthz`).
    static let keyVault: Set<HostKind> = [.vault, .hsm, .server]
}

extension Addressing.Target {
    var kind: HostKind {
        switch self {
        case .vault: .vault
        case .hsm: .hsm
        case .server: .server
        case .blob: .blob
        }
    }
}
