import CoffreCrypto
import CoffreModel
import CoffreStorage
import Foundation

/// A security group (`sys/groups/{objectId}`): its direct members are users, applications and other groups.
public struct GroupRecord: Codable, Sendable, Equatable {
    public var objectId: String
    public var displayName: String
    public var created: Int64
    /// Object ids of the direct members, in the order they were added.
    public var members: [String]
}

/// The groups an object is a direct member of (`sys/memberships/{objectId}`), kept with the groups' member lists in
/// the same transactions, so that a caller's groups are found by reading from the caller upwards.
struct Membership: Codable, Sendable, Equatable {
    var groups: [String]
}

/// The groups of the directory, their members, and group expansion: the groups whose grants apply to an object,
/// through nested groups. Group names are unique without regard to case (`sys/group-names/{name}`), so a group is
/// named by its name or its object id. Memberships never form a cycle.
public struct GroupDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    static let prefix = "sys/groups/"
    static func key(_ objectId: String) -> String { prefix + objectId.lowercased() }
    static func nameKey(_ name: String) -> String { "sys/group-names/" + name.lowercased() }
    static func membershipKey(_ objectId: String) -> String { "sys/memberships/" + objectId.lowercased() }
    /// More groups than this above one object is a directory mistake, not a grant to honour.
    static let expansionLimit = 1000

    public func create(name: String) async throws -> GroupRecord {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 256, !trimmed.contains("/") else {
            throw CoffreError.badParameter("A group's name must be 1-256 characters long, without '/'.")
        }
        let group = GroupRecord(objectId: SecureRandom.uuid(), displayName: trimmed, created: clock.now, members: [])
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.nameKey(trimmed)) == nil else {
                throw CoffreError.conflict("A group named \(trimmed) already exists.")
            }
            try await transaction.write(group.objectId, at: Self.nameKey(trimmed))
            try await transaction.write(group, at: Self.key(group.objectId))
        }
        return group
    }

    public func get(objectId: String) async throws -> GroupRecord? {
        try await storage.read(GroupRecord.self, at: Self.key(objectId))
    }

    /// A group by name or object id.
    public func find(_ reference: String) async throws -> GroupRecord {
        if let objectId = try await storage.read(String.self, at: Self.nameKey(reference)), let group = try await get(objectId: objectId) {
            return group
        }
        if let group = try await get(objectId: reference) { return group }
        throw CoffreError.principalNotFound(reference)
    }

    public func list() async throws -> [GroupRecord] {
        try await storage.readAll(GroupRecord.self, prefix: Self.prefix).map(\.record)
    }

    /// Adds `member` (the object id of a user, an application or a group, checked by `exists`) to a group.
    /// Adding a group that contains this group, directly or not, is refused: memberships never form a cycle.
    public func addMember(_ member: String, to reference: String, exists: @escaping @Sendable (String) async throws -> Bool)
        async throws -> GroupRecord
    {
        let member = member.lowercased()
        let group = try await find(reference)
        if try await get(objectId: member) == nil {
            guard try await exists(member) else { throw CoffreError.principalNotFound(member) }
        }
        return try await storage.transaction { transaction in
            guard var record = try await transaction.read(GroupRecord.self, at: Self.key(group.objectId)) else {
                throw CoffreError.principalNotFound(reference)
            }
            guard !record.members.contains(member) else { return record }
            let above = try await Self.groups(above: [record.objectId], reader: transaction)
            guard member != record.objectId, !above.contains(member) else {
                throw CoffreError.badParameter("Group \(record.displayName) is inside \(member): adding it as a member would make a cycle.")
            }
            record.members.append(member)
            var membership = try await transaction.read(Membership.self, at: Self.membershipKey(member)) ?? Membership(groups: [])
            membership.groups.append(record.objectId)
            try await transaction.write(membership, at: Self.membershipKey(member))
            try await transaction.write(record, at: Self.key(record.objectId))
            return record
        }
    }

    public func removeMember(_ member: String, from reference: String) async throws -> GroupRecord {
        let member = member.lowercased()
        let group = try await find(reference)
        return try await storage.transaction { transaction in
            guard var record = try await transaction.read(GroupRecord.self, at: Self.key(group.objectId)) else {
                throw CoffreError.principalNotFound(reference)
            }
            guard record.members.contains(member) else {
                throw CoffreError.badParameter("\(member) is not a member of group \(record.displayName).")
            }
            record.members.removeAll { $0 == member }
            try await Self.leave(member, group: record.objectId, in: transaction)
            try await transaction.write(record, at: Self.key(record.objectId))
            return record
        }
    }

    /// Deletes a group: it leaves the groups it was in, and its members leave it. Grants naming it stay, and grant nothing.
    public func delete(_ reference: String) async throws -> GroupRecord {
        let group = try await find(reference)
        try await storage.transaction { transaction in
            guard let record = try await transaction.read(GroupRecord.self, at: Self.key(group.objectId)) else {
                throw CoffreError.principalNotFound(reference)
            }
            for member in record.members { try await Self.leave(member, group: record.objectId, in: transaction) }
            try await Self.detach(record.objectId, in: transaction)
            try await transaction.delete(Self.nameKey(record.displayName))
            try await transaction.delete(Self.key(record.objectId))
        }
        return group
    }

    /// Every group `objectIds` are in, directly or through nested groups (the ids themselves excluded), read through
    /// the storage's record cache: a change of membership applies to the next request.
    public func groups(above objectIds: [String]) async throws -> [String] {
        try await Self.groups(above: objectIds, reader: storage)
    }

    static func groups(above objectIds: [String], reader: some StorageReader) async throws -> [String] {
        var seen = Set(objectIds.map { $0.lowercased() })
        var found: [String] = []
        var frontier = Array(seen)
        while let next = frontier.popLast() {
            for group in try await reader.read(Membership.self, at: membershipKey(next))?.groups ?? [] where seen.insert(group).inserted {
                guard found.count < expansionLimit else {
                    throw CoffreError.badParameter("\(objectIds.joined(separator: ", ")) is in more than \(expansionLimit) groups.")
                }
                found.append(group)
                frontier.append(group)
            }
        }
        return found
    }

    /// Takes `objectId` out of every group it is a direct member of (the object is being deleted).
    static func detach(_ objectId: String, in transaction: any StorageTransaction) async throws {
        let id = objectId.lowercased()
        for groupId in try await transaction.read(Membership.self, at: membershipKey(id))?.groups ?? [] {
            guard var group = try await transaction.read(GroupRecord.self, at: key(groupId)) else { continue }
            group.members.removeAll { $0 == id }
            try await transaction.write(group, at: key(groupId))
        }
        try await transaction.delete(membershipKey(id))
    }

    /// Removes `group` from `member`'s memberships.
    private static func leave(_ member: String, group: String, in transaction: any StorageTransaction) async throws {
        guard var membership = try await transaction.read(Membership.self, at: membershipKey(member)) else { return }
        membership.groups.removeAll { $0 == group }
        if membership.groups.isEmpty {
            try await transaction.delete(membershipKey(member))
        } else {
            try await transaction.write(membership, at: membershipKey(member))
        }
    }
}
