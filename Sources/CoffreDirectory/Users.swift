import CoffreCrypto
import CoffreModel
import CoffreStorage
import Dispatch

/// A person who signs in with a user principal name and a password (`sys/users/{objectId}`).
public struct UserRecord: Codable, Sendable, Equatable {
    public var objectId: String
    /// `alice@example.test`, as it was given; unique without regard to case.
    public var userPrincipalName: String
    public var displayName: String
    public var created: Int64
    public var password: PasswordHash
}

/// A password kept as a slow salted hash (scrypt), never in clear.
public struct PasswordHash: Codable, Sendable, Equatable {
    public var algorithm: String
    public var cost: Scrypt.Cost
    public var salt: [UInt8]
    public var hash: [UInt8]

    static func make(_ password: String, cost: Scrypt.Cost) throws -> PasswordHash {
        let salt = SecureRandom.bytes(16)
        return PasswordHash(
            algorithm: "scrypt", cost: cost, salt: salt, hash: try Scrypt.derive(password: Array(password.utf8), salt: salt, cost: cost))
    }

    /// Whether `password` is this one (the comparison takes the same time wherever the hashes differ).
    func matches(_ password: String) throws -> Bool {
        guard algorithm == "scrypt" else { return false }
        return ConstantTime.equals(try Scrypt.derive(password: Array(password.utf8), salt: salt, cost: cost, length: hash.count), hash)
    }
}

/// The people of the directory. A user is found by object id or by user principal name (`sys/user-names/{upn}` names
/// the object id), and proves itself with its password, checked against a scrypt hash off the cooperative pool.
public struct UserDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    /// The scrypt cost of new password hashes (stored hashes keep their own).
    let cost: Scrypt.Cost

    public init(storage: any StorageBackend, clock: any WallClock, cost: Scrypt.Cost = .passwords) {
        self.storage = storage
        self.clock = clock
        self.cost = cost
    }

    static let prefix = "sys/users/"
    static func key(_ objectId: String) -> String { prefix + objectId.lowercased() }
    static func nameKey(_ userPrincipalName: String) -> String { "sys/user-names/" + userPrincipalName.lowercased() }

    /// Creates a user; without a password, one is generated and returned (shown once).
    public func create(userPrincipalName: String, password: String?, displayName: String? = nil) async throws
        -> (user: UserRecord, generatedPassword: String?)
    {
        let name = try Self.validated(userPrincipalName)
        let generated = password == nil ? SecureRandom.token(24) : nil
        let chosen = password ?? generated ?? ""
        guard (8...256).contains(chosen.count) else { throw CoffreError.badParameter("A password must be 8 to 256 characters long.") }
        let hash = try await Self.offPool { [cost] in try PasswordHash.make(chosen, cost: cost) }
        let user = UserRecord(
            objectId: SecureRandom.uuid(), userPrincipalName: name, displayName: displayName ?? String(name.prefix { $0 != "@" }),
            created: clock.now, password: hash)
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.nameKey(name)) == nil else {
                throw CoffreError.conflict("A user named \(name) already exists.")
            }
            try await transaction.write(user.objectId, at: Self.nameKey(name))
            try await transaction.write(user, at: Self.key(user.objectId))
        }
        return (user, generated)
    }

    public func get(objectId: String) async throws -> UserRecord? {
        try await storage.read(UserRecord.self, at: Self.key(objectId))
    }

    public func get(userPrincipalName: String) async throws -> UserRecord? {
        guard let objectId = try await storage.read(String.self, at: Self.nameKey(userPrincipalName)) else { return nil }
        return try await get(objectId: objectId)
    }

    /// A user by object id or user principal name.
    public func find(_ reference: String) async throws -> UserRecord {
        if let user = try await get(userPrincipalName: reference) { return user }
        if let user = try await get(objectId: reference) { return user }
        throw CoffreError.principalNotFound(reference)
    }

    public func list() async throws -> [UserRecord] {
        try await storage.readAll(UserRecord.self, prefix: Self.prefix).map(\.record)
    }

    /// The user whose name and password these are, or nil. An unknown name costs the same hash as a wrong password,
    /// so the answer's timing does not tell which names exist.
    public func authenticate(userPrincipalName: String, password: String) async throws -> UserRecord? {
        let user = try await get(userPrincipalName: userPrincipalName)
        let stored = user?.password ?? Self.decoy(cost)
        let matches = try await Self.offPool { try stored.matches(password) }
        return matches ? user : nil
    }

    /// Deletes a user, its group memberships and its refresh tokens (every sign-in it made ends) in one transaction.
    public func delete(_ reference: String) async throws -> UserRecord {
        let user = try await find(reference)
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(user.objectId)) != nil else { throw CoffreError.principalNotFound(reference) }
            try await GroupDirectory.detach(user.objectId, in: transaction)
            try await transaction.delete(Self.nameKey(user.userPrincipalName))
            try await transaction.delete(Self.key(user.objectId))
            try await transaction.deletePrefix(Self.sessionsPrefix(user.objectId))
        }
        return user
    }

    /// Where a user's sign-in state lives (refresh tokens), removed with the user.
    public static func sessionsPrefix(_ objectId: String) -> String { "sts/users/\(objectId.lowercased())/" }

    /// `local@domain`: letters, digits and `'._!#^~+-` before the `@`, a dotted DNS name after it.
    static func validated(_ name: String) throws -> String {
        let parts = name.split(separator: "@", omittingEmptySubsequences: false)
        let local = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'._!#^~+-")
        let domain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
        guard parts.count == 2, (1...64).contains(parts[0].count), parts[0].allSatisfy(local.contains), (1...255).contains(parts[1].count),
            parts[1].allSatisfy(domain.contains), !parts[1].split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else {
            throw CoffreError.badParameter("'\(name)' is not a user principal name (write it like alice@example.test).")
        }
        return name
    }

    /// A hash no password matches, for unknown names (computed like a real one).
    static func decoy(_ cost: Scrypt.Cost) -> PasswordHash {
        PasswordHash(algorithm: "scrypt", cost: cost, salt: [UInt8](repeating: 0, count: 16), hash: [UInt8](repeating: 0, count: 32))
    }

    private static let queue = DispatchQueue(label: "coffre.passwords", qos: .userInitiated, attributes: .concurrent)

    /// Runs a password hash on a worker thread: it takes a few hundred milliseconds and must not hold the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
