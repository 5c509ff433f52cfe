/// A path pattern such as `keys/{name}/{version?}/sign`, matched segment by segment.
///
/// - Literal segments match in any ASCII case (Azure's paths are case-insensitive), compared byte by byte without
///   building a lower-cased copy of the request's segment.
/// - `{name}` matches one non-empty segment; `{name?}` may be empty (`/secrets/{name}/` means the latest version).
/// - An empty segment is a literal empty segment: `"/providers/x"` matches `//providers/x`, `"keys/{name}//release"`
///   matches an empty version segment.
/// - A parameter may be narrowed by a predicate (`accepting:`), so that a path it refuses goes on to the next route.
/// - A last segment `{name*}` takes the rest of the path, any number of segments (a blob's name, slashes included).
struct RoutePattern: Sendable {
    enum Segment: Sendable {
        /// Lower-case ASCII.
        case literal(String)
        case parameter(String, optional: Bool, accepts: (@Sendable (String) -> Bool)?)
        case rest(String)
    }

    let segments: [Segment]

    /// - Parameters:
    ///   - text: the pattern, without a leading slash (`secrets/{name}`; `""` is the root path `/`).
    ///   - predicates: predicates narrowing parameters by name.
    init(_ text: String, accepting predicates: [String: @Sendable (String) -> Bool] = [:]) {
        segments = text.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return .literal(segment.lowercased()) }
            let inner = segment.dropFirst().dropLast()
            if inner.hasSuffix("*") { return .rest(String(inner.dropLast())) }
            let optional = inner.hasSuffix("?")
            let name = String(optional ? inner.dropLast() : inner)
            return .parameter(name, optional: optional, accepts: predicates[name])
        }
    }

    var count: Int { segments.count }

    /// Whether the last segment takes the rest of the path (`{name*}`): such a pattern matches paths of any length.
    var takesRest: Bool {
        if case .rest = segments.last { return true }
        return false
    }

    /// Whether the request's path segments (already percent-decoded) match, segment for segment.
    func matches(_ path: [String]) -> Bool {
        guard takesRest else { return path.count == segments.count && matchesSegments(path) }
        return path.count >= segments.count - 1 && matchesSegments(path.prefix(segments.count - 1))
    }

    /// Whether `path` starts with this pattern's segments (a route group's prefix).
    func isPrefix(of path: [String]) -> Bool {
        path.count >= segments.count && matchesSegments(path.prefix(segments.count))
    }

    private func matchesSegments(_ path: some Sequence<String>) -> Bool {
        for (segment, expected) in zip(path, segments) {
            switch expected {
            case .literal(let literal):
                guard Self.equalIgnoringASCIICase(segment, literal) else { return false }
            case .parameter(_, let optional, let accepts):
                guard optional || !segment.isEmpty else { return false }
                if let accepts, !accepts(segment) { return false }
            case .rest:
                return true
            }
        }
        return true
    }

    private init(segments: [Segment]) { self.segments = segments }

    /// A group's prefix: `""` is no segment at all (as a route's pattern, `""` is the root path `/`).
    static func prefix(_ text: String) -> RoutePattern { text.isEmpty ? RoutePattern(segments: []) : RoutePattern(text) }

    /// The pattern `prefix/self`.
    func prefixed(by prefix: RoutePattern) -> RoutePattern {
        RoutePattern(segments: prefix.segments + segments)
    }

    /// The index of the parameter `name`.
    func index(of name: String) -> Int? {
        segments.firstIndex { segment in
            switch segment {
            case .parameter(let parameter, _, _), .rest(let parameter): parameter == name
            case .literal: false
            }
        }
    }

    /// Whether `segment` is `literal` (lower-case ASCII) in any case, without building a lower-cased copy.
    static func equalIgnoringASCIICase(_ segment: some StringProtocol, _ literal: String) -> Bool {
        segment.utf8.elementsEqual(literal.utf8) { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == expected : byte == expected
        }
    }
}

/// The parameters of a matched route, read from the request's segments by the pattern's parameter names.
struct RouteParameters: Sendable {
    let pattern: RoutePattern?
    let segments: [String]

    static let none = RouteParameters(pattern: nil, segments: [])

    /// The segment bound to `{name}` (the segments taken by `{name*}`, joined by slashes), if the pattern has that parameter.
    subscript(_ name: String) -> String? {
        guard let pattern, let index = pattern.index(of: name) else { return nil }
        return pattern.takesRest && index == pattern.count - 1 ? segments[index...].joined(separator: "/") : segments[index]
    }
}
