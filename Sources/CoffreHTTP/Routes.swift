import CoffreCore
import CoffreCrypto
import CoffreModel
import HTTPTypes
import Hummingbird
import NIOCore

/// One authenticated, authorised data-plane request, as a route handler sees it.
struct DataPlaneRequest: Sendable {
    var vault: VaultRecord
    var url: VaultURL
    var parameters: [String: String]
    var query: [String: String]
    var body: ByteBuffer
    var caller: Caller
    var apiVersion: String

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

    /// A list page with the absolute `nextLink` the SDKs follow.
    func page<Item: Encodable>(_ items: [Item], next cursor: String?, path: String, limit: Int) throws -> Response {
        let nextLink = cursor.map {
            "\(url.base)/\(path)?api-version=\(apiVersion)&$skiptoken=\(Base64.urlEncoded(Array($0.utf8)))&maxresults=\(limit)"
        }
        return try JSON.response(ListResult(value: items, nextLink: nextLink))
    }
}

/// A data-plane route: method, path pattern, the operation it performs (for authorisation and audit) and its handler.
/// Immutable and shared by the requests it serves, so a class (a match hands out a reference, not a copy).
final class Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        /// A path parameter; `optional` ones may be empty (`/secrets/{name}/` means the latest version).
        case parameter(String, optional: Bool)
    }

    let method: HTTPRequest.Method
    let pattern: [Segment]
    let operation: VaultOperation
    let handler: @Sendable (DataPlaneRequest) async throws -> Response

    /// `pattern` reads like `secrets/{name}/{version?}`.
    init(
        _ method: HTTPRequest.Method, _ pattern: String, _ operation: VaultOperation,
        _ handler: @escaping @Sendable (DataPlaneRequest) async throws -> Response
    ) {
        self.method = method
        self.pattern = pattern.split(separator: "/").map { segment in
            guard segment.hasPrefix("{") else { return .literal(String(segment)) }
            let name = segment.dropFirst().dropLast()
            return name.hasSuffix("?") ? .parameter(String(name.dropLast()), optional: true) : .parameter(String(name), optional: false)
        }
        self.operation = operation
        self.handler = handler
    }

    func match(_ method: HTTPRequest.Method, _ segments: [String]) -> [String: String]? {
        guard method == self.method, segments.count == pattern.count else { return nil }
        for (segment, expected) in zip(segments, pattern) {
            switch expected {
            case .literal(let literal):
                guard Self.equalIgnoringASCIICase(segment, literal) else { return nil }
            case .parameter(_, let optional):
                guard optional || !segment.isEmpty else { return nil }
            }
        }
        var parameters: [String: String] = [:]
        for (segment, expected) in zip(segments, pattern) {
            if case .parameter(let name, _) = expected { parameters[name] = segment }
        }
        return parameters
    }

    /// Whether `segment` is `literal` (lower-case ASCII) in any case, without building a lower-cased copy per route.
    static func equalIgnoringASCIICase(_ segment: String, _ literal: String) -> Bool {
        segment.utf8.elementsEqual(literal.utf8) { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == expected : byte == expected
        }
    }
}

/// The data-plane routes, tried in order.
struct RouteTable: Sendable {
    let routes: [Route]
    /// The routes of each method and path length, in order: a request tries only the few routes of its shape.
    private let byShape: [Shape: [Route]]

    private struct Shape: Hashable {
        var method: HTTPRequest.Method
        var segments: Int
    }

    init(routes: [Route]) {
        self.routes = routes
        byShape = Dictionary(grouping: routes) { Shape(method: $0.method, segments: $0.pattern.count) }
    }

    /// The first route matching; a trailing slash is ignored when nothing matches with it.
    func match(_ method: HTTPRequest.Method, _ segments: [String]) -> (Route, [String: String])? {
        for route in byShape[Shape(method: method, segments: segments.count)] ?? [] {
            if let parameters = route.match(method, segments) { return (route, parameters) }
        }
        if segments.last == "", segments.count > 1 { return match(method, Array(segments.dropLast())) }
        return nil
    }

    /// Whether some route has this path with another method (405 rather than 404).
    func hasPath(_ segments: [String]) -> Bool {
        routes.contains { route in
            HTTPRequest.Method.allDataPlane.contains { route.match($0, segments) != nil }
        }
    }
}

extension HTTPRequest.Method {
    static let allDataPlane: [HTTPRequest.Method] = [.get, .put, .post, .patch, .delete]
}
