import CoffreCrypto
import CoffreModel
import HTTPTypes
import Hummingbird
import NIOCore

/// What the router reads of every request before choosing a route: the host's target, the path's segments
/// (percent-decoded), the query, and the method after `X-HTTP-Method` tunnelling.
struct IncomingRequest: Sendable {
    var host: String
    var target: Addressing.Target
    var path: String
    var segments: [String]
    var query: [String: String]
    /// The query string as received (still percent-encoded).
    var rawQuery: String
    /// The method, after `X-HTTP-Method` tunnelling.
    var method: HTTPRequest.Method

    init(_ request: Request, addressing: Addressing?) {
        host = request.head.authority ?? ""
        target = addressing?.target(forHost: host) ?? .server
        path = request.uri.path
        segments = path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map {
            PercentEncoding.decodeLeniently(Substring($0), plusIsSpace: false)
        }
        rawQuery = request.uri.query ?? ""
        query = Forms.parse(rawQuery, plusIsSpace: false)
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

/// A request as a route's handler sees it: what the router parsed, what the group's policy established (the caller,
/// the api-version, the group's `Scope`: a vault for the data plane) and the body, read once everything before it
/// passed. Members of the scope read as members of the request (`request.vault`).
@dynamicMemberLookup
struct RouteRequest<Scope: Sendable>: Sendable {
    let incoming: IncomingRequest
    let headers: HTTPFields
    let parameters: RouteParameters
    let context: CoffreRequestContext
    /// Who the group's authentication found (nil when the group authenticates no one).
    var caller: Caller?
    /// The request's api-version (empty when the group does not use one).
    var apiVersion: String
    /// The record being assembled for the audit log, when the group is audited.
    let audit: AuditTrail?
    let scope: Scope
    let body: ByteBuffer

    subscript<Value>(dynamicMember path: KeyPath<Scope, Value>) -> Value { scope[keyPath: path] }

    var query: [String: String] { incoming.query }
    var target: Addressing.Target { incoming.target }

    /// The segment bound to `{name}` in the route's pattern, or "".
    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSON.decode(type, from: body) }
    func decode<T: FlatJSONDecodable>(_ type: T.Type) throws -> T { try JSON.decode(type, from: body) }

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

    /// The same request with what the next stage established.
    func with<Next: Sendable>(scope: Next, body: ByteBuffer) -> RouteRequest<Next> {
        RouteRequest<Next>(
            incoming: incoming, headers: headers, parameters: parameters, context: context, caller: caller, apiVersion: apiVersion,
            audit: audit, scope: scope, body: body)
    }
}

extension HTTPField.Name {
    static let msRequestId = HTTPField.Name("x-ms-request-id")!
    static let msClientRequestId = HTTPField.Name("x-ms-client-request-id")!
    static let methodOverrides = ["X-HTTP-Method", "X-HTTP-Method-Override", "X-HTTP-REQUEST"].map { HTTPField.Name($0)! }
}
