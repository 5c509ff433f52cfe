import CoffreModel
import CoffreStorage

/// Coffre's directory: people (users), groups, applications and managed identities (principals), in the storage
/// under the barrier. Every object has an object id; grants (access policies, role assignments) name object ids.
public struct Directory: Sendable {
    public let principals: PrincipalDirectory
    public let users: UserDirectory
    public let groups: GroupDirectory

    public init(principals: PrincipalDirectory, users: UserDirectory, groups: GroupDirectory) {
        self.principals = principals
        self.users = users
        self.groups = groups
    }

    /// All three over one storage.
    public init(storage: any StorageBackend, clock: any WallClock) {
        self.init(
            principals: PrincipalDirectory(storage: storage, clock: clock), users: UserDirectory(storage: storage, clock: clock),
            groups: GroupDirectory(storage: storage, clock: clock))
    }

    /// The object id a reference names: an application (client id, object id or name), a user (user principal name)
    /// or a group (name); any other text is taken as an object id (of a caller from a trusted external issuer).
    public func objectId(of reference: String) async throws -> String {
        if let principal = try? await principals.find(reference) { return principal.objectId }
        if let user = try await users.get(userPrincipalName: reference) { return user.objectId }
        if let group = try? await groups.find(reference) { return group.objectId }
        return reference.lowercased()
    }

    /// Whether a user, a group or an application has this object id.
    public func exists(objectId: String) async throws -> Bool {
        if try await users.get(objectId: objectId) != nil { return true }
        if try await groups.get(objectId: objectId) != nil { return true }
        return try await principals.list().contains { $0.objectId == objectId.lowercased() }
    }

    public func addMember(_ member: String, to group: String) async throws -> GroupRecord {
        try await groups.addMember(try await objectId(of: member), to: group) { [principals, users] objectId in
            if try await users.get(objectId: objectId) != nil { return true }
            return try await principals.list().contains { $0.objectId == objectId }
        }
    }

    public func removeMember(_ member: String, from group: String) async throws -> GroupRecord {
        try await groups.removeMember(try await objectId(of: member), from: group)
    }
}

/// Which groups' grants apply to a caller: for Coffre's own tokens, the groups the directory says the caller is in
/// now (through nested groups), so that a membership change applies to the next request; for a trusted external
/// issuer's token, the groups its `groups` claim names, and the Coffre groups those (and the caller) are in.
///
/// The one group-expansion rule of the server: vault access policies and role assignments, Managed HSM local RBAC and
/// ARM authorisation all ask it.
public struct GroupExpansion: Sendable {
    let groups: GroupDirectory
    /// The issuer of Coffre's own tokens.
    let ownIssuer: String

    public init(groups: GroupDirectory, ownIssuer: String) {
        self.groups = groups
        self.ownIssuer = ownIssuer
    }

    /// The object ids of the caller's groups (lower-case, without the caller's own id).
    public func groupIds(of caller: Caller) async throws -> [String] {
        let claimed = caller.issuer == ownIssuer ? [] : caller.groups.map { $0.lowercased() }
        let nested = try await groups.groups(above: [caller.objectId] + claimed)
        var seen = Set<String>()
        return (claimed + nested).filter { $0 != caller.objectId && seen.insert($0).inserted }
    }
}
