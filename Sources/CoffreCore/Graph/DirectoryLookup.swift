import CoffreDirectory
import CoffreModel

/// The read-only Microsoft Graph subset the Azure CLI and the SDKs use to turn names into object ids: the signed-in
/// user (`/me`), users by object id or user principal name, service principals by object id or application id, groups
/// by object id or name, and several objects by id at once. Any caller of the server's own tenant may read the
/// directory, as members of an Entra tenant may; callers of other issuers' tenants may not.
public struct DirectoryLookup: Sendable {
    let directory: Directory
    let tenantId: String

    public init(directory: Directory, tenantId: String) {
        self.directory = directory
        self.tenantId = tenantId
    }

    /// A user, a group or an application (a service principal) of the directory.
    public enum Object: Sendable, Equatable {
        case user(UserRecord)
        case group(GroupRecord)
        case servicePrincipal(PrincipalRecord)

        public var objectId: String {
            switch self {
            case .user(let user): user.objectId
            case .group(let group): group.objectId
            case .servicePrincipal(let principal): principal.objectId
            }
        }

        /// The value of a property a filter names; several for multi-valued ones (`servicePrincipalNames`).
        func values(of property: Filter.Property) -> [String] {
            switch (self, property) {
            case (_, .id): [objectId]
            case (.user(let user), .userPrincipalName): [user.userPrincipalName]
            case (.user(let user), .displayName): [user.displayName]
            case (.group(let group), .displayName): [group.displayName]
            case (.servicePrincipal(let principal), .displayName): [principal.displayName]
            case (.servicePrincipal(let principal), .appId), (.servicePrincipal(let principal), .servicePrincipalNames): [principal.clientId]
            default: []
            }
        }
    }

    /// The kinds of objects a lookup by ids may return.
    public enum Kind: String, Sendable, CaseIterable {
        case user, group, servicePrincipal
    }

    /// A conjunction of the clauses Graph's `$filter` takes here: `property eq 'value'`, `startswith(property,'value')`
    /// and `servicePrincipalNames/any(c:c eq 'value')`. Comparisons ignore case, as Graph's do for these properties.
    public struct Filter: Sendable, Equatable {
        public enum Property: String, Sendable, CaseIterable {
            case id, userPrincipalName, displayName, appId, servicePrincipalNames
        }

        public enum Clause: Sendable, Equatable {
            case equals(Property, String)
            case startsWith(Property, String)
        }

        public var clauses: [Clause]

        public init(_ clauses: [Clause]) { self.clauses = clauses }

        func matches(_ object: Object) -> Bool {
            clauses.allSatisfy { clause in
                switch clause {
                case .equals(let property, let value): object.values(of: property).contains { $0.lowercased() == value.lowercased() }
                case .startsWith(let property, let value): object.values(of: property).contains { $0.lowercased().hasPrefix(value.lowercased()) }
                }
            }
        }
    }

    // MARK: - Operations

    /// The signed-in user; a refusal for applications (Graph's `/me` needs a delegated token).
    public func me(_ caller: Caller) async throws -> UserRecord {
        try checkReader(caller)
        guard let user = try await directory.users.get(objectId: caller.objectId) else {
            throw GraphError.badRequest(code: "BadRequest", message: "/me request is only valid with delegated authentication flow.")
        }
        return user
    }

    public func users(_ caller: Caller, matching filter: Filter?) async throws -> [UserRecord] {
        try checkReader(caller)
        return try await directory.users.list().filter { filter?.matches(.user($0)) ?? true }
    }

    /// A user by object id or user principal name.
    public func user(_ caller: Caller, _ reference: String) async throws -> UserRecord {
        try checkReader(caller)
        if let user = try await directory.users.get(objectId: reference) { return user }
        if let user = try await directory.users.get(userPrincipalName: reference) { return user }
        throw GraphError.notFound(reference)
    }

    public func servicePrincipals(_ caller: Caller, matching filter: Filter?) async throws -> [PrincipalRecord] {
        try checkReader(caller)
        return try await directory.principals.list().filter { filter?.matches(.servicePrincipal($0)) ?? true }
    }

    /// A service principal by object id.
    public func servicePrincipal(_ caller: Caller, _ objectId: String) async throws -> PrincipalRecord {
        try checkReader(caller)
        guard let principal = try await directory.principals.list().first(where: { $0.objectId == objectId.lowercased() }) else {
            throw GraphError.notFound(objectId)
        }
        return principal
    }

    public func groups(_ caller: Caller, matching filter: Filter?) async throws -> [GroupRecord] {
        try checkReader(caller)
        return try await directory.groups.list().filter { filter?.matches(.group($0)) ?? true }
    }

    /// A group by object id.
    public func group(_ caller: Caller, _ objectId: String) async throws -> GroupRecord {
        try checkReader(caller)
        guard let group = try await directory.groups.get(objectId: objectId) else { throw GraphError.notFound(objectId) }
        return group
    }

    /// The objects of the given kinds among `ids` (`directoryObjects/getByIds`); unknown ids are left out.
    public func objects(_ caller: Caller, ids: [String], kinds: Set<Kind>) async throws -> [Object] {
        try checkReader(caller)
        guard ids.count <= 1000 else {
            throw GraphError.badRequest(code: "Request_BadRequest", message: "At most 1000 ids may be looked up at once.")
        }
        let principals = try await directory.principals.list()
        var found: [Object] = []
        for id in ids {
            if kinds.contains(.user), let user = try await directory.users.get(objectId: id) {
                found.append(.user(user))
            } else if kinds.contains(.group), let group = try await directory.groups.get(objectId: id) {
                found.append(.group(group))
            } else if kinds.contains(.servicePrincipal), let principal = principals.first(where: { $0.objectId == id.lowercased() }) {
                found.append(.servicePrincipal(principal))
            }
        }
        return found
    }

    func checkReader(_ caller: Caller) throws {
        guard caller.tenantId == tenantId else { throw GraphError.authorizationDenied }
    }
}

/// The errors of the Graph subset, in Graph's vocabulary; the HTTP adapter's error table gives each its status.
public enum GraphError: Error, Equatable, Sendable {
    /// 401 `InvalidAuthenticationToken`: no token, or one that is not for Graph.
    case invalidAuthenticationToken(String)
    /// 403 `Authorization_RequestDenied`.
    case authorizationDenied
    /// 404 `Request_ResourceNotFound`.
    case notFound(String)
    /// 400 with the given Graph code (`BadRequest`, `Request_UnsupportedQuery`, …).
    case badRequest(code: String, message: String)

    public var code: String {
        switch self {
        case .invalidAuthenticationToken: "InvalidAuthenticationToken"
        case .authorizationDenied: "Authorization_RequestDenied"
        case .notFound: "Request_ResourceNotFound"
        case .badRequest(let code, _): code
        }
    }
}

extension GraphError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidAuthenticationToken(let detail): detail
        case .authorizationDenied: "Insufficient privileges to complete the operation."
        case .notFound(let id):
            "Resource '\(id)' does not exist or one of its queried reference-property objects are not present."
        case .badRequest(_, let message): message
        }
    }
}
