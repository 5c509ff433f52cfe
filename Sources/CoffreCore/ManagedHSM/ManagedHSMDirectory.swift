import CoffreModel
import CoffreStorage

/// The server's Managed HSM pools (`sys/hsms/{name}`), stored as ``VaultDirectory`` stores vaults: through the
/// barrier, read through the record cache, under `sys/` whose changes a shared backend announces. Each write is one
/// transaction.
public struct ManagedHSMDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    public struct Settings: Sendable {
        public var tenantId: String
        /// Object ids given Administrator at `/`.
        public var administrators: [String]
        public var retentionDays: Int
        public var purgeProtection: Bool
        /// The pool's resource group, location and tags (nil: group `default`).
        public var resource: ManagedHSMResource?

        public init(
            tenantId: String, administrators: [String], retentionDays: Int = 90, purgeProtection: Bool = false, resource: ManagedHSMResource? = nil
        ) {
            self.tenantId = tenantId
            self.administrators = administrators
            self.retentionDays = retentionDays
            self.purgeProtection = purgeProtection
            self.resource = resource
        }
    }

    /// Creates a pool, not activated unless `activated` (which gives it a new root at once: for tests and development).
    /// Each administrator is assigned Administrator at `/`, in the same transaction.
    public func create(_ name: ManagedHSMName, settings: Settings, activated: Bool = false) async throws -> ManagedHSMPool {
        guard ManagedHSMPool.retentionRange.contains(settings.retentionDays) else {
            throw CoffreError.badParameter(
                "The retention period must be between \(ManagedHSMPool.retentionRange.lowerBound) and "
                    + "\(ManagedHSMPool.retentionRange.upperBound) days.")
        }
        let administrators = settings.administrators.map { $0.lowercased() }.reduce(into: [String]()) { unique, id in
            if !unique.contains(id) { unique.append(id) }
        }
        guard !administrators.isEmpty else { throw CoffreError.badParameter("A Managed HSM needs at least one administrator.") }
        let now = clock.now
        let pool = ManagedHSMPool(
            name: name, tenantId: settings.tenantId, administrators: administrators, retentionDays: settings.retentionDays,
            purgeProtection: settings.purgeProtection, created: now, activation: activated ? .active(since: now) : .notActivated,
            securityDomain: activated ? .generate() : nil, resource: settings.resource)
        let assignments = administrators.map { ManagedHSMAccessControl.administratorAssignment(for: $0, at: now) }
        return try await storage.transaction { transaction in
            guard try await transaction.get(ManagedHSMPaths.pool(name)) == nil else {
                throw CoffreError.conflict("A Managed HSM named \(name) already exists.")
            }
            guard try await transaction.get(ManagedHSMPaths.vault(name)) == nil,
                try await transaction.get(ManagedHSMPaths.deletedVault(name)) == nil
            else {
                throw CoffreError.conflict("A vault is named \(name) (or deleted and not purged): a Managed HSM cannot take its name.")
            }
            try await transaction.write(pool, at: ManagedHSMPaths.pool(name))
            for assignment in assignments { try await transaction.write(assignment, at: ManagedHSMPaths.assignment(name, assignment)) }
            return pool
        }
    }

    public func get(_ name: ManagedHSMName) async throws -> ManagedHSMPool {
        guard let pool = try await storage.read(ManagedHSMPool.self, at: ManagedHSMPaths.pool(name)) else {
            throw ManagedHSMError.poolNotFound(name.value)
        }
        return pool
    }

    public func list() async throws -> [ManagedHSMPool] {
        try await storage.readAll(ManagedHSMPool.self, prefix: ManagedHSMPaths.poolsPrefix).map(\.record)
    }

    /// Deletes the pool with its keys, roles, assignments, settings and keys of its own.
    public func delete(_ name: ManagedHSMName) async throws {
        try await storage.transaction { transaction in
            guard try await transaction.get(ManagedHSMPaths.pool(name)) != nil else { throw ManagedHSMError.poolNotFound(name.value) }
            try await transaction.delete(ManagedHSMPaths.pool(name))
            try await transaction.deletePrefix(ManagedHSMPaths.administration(name))
            try await transaction.deletePrefix(ManagedHSMPaths.objects(name))
        }
    }

    /// Applies an activation event in one transaction. Beginning one needs the root the pool will hold (`root`),
    /// made by a download or received by an upload; completing one keeps it; failing one forgets it.
    @discardableResult
    public func activation(_ event: PoolActivation.Event, root: SecurityDomainRoot? = nil, of name: ManagedHSMName) async throws
        -> ManagedHSMPool
    {
        if case .begin = event, root == nil { throw CoffreError.badParameter("An activation begins with the pool's root.") }
        let now = clock.now
        return try await storage.transaction { transaction in
            guard var pool = try await transaction.read(ManagedHSMPool.self, at: ManagedHSMPaths.pool(name)) else {
                throw ManagedHSMError.poolNotFound(name.value)
            }
            pool.activation = try pool.activation.applying(event, at: now, pool: name)
            switch event {
            case .begin: pool.securityDomain = root
            case .fail: pool.securityDomain = nil
            case .complete: break
            }
            try await transaction.write(pool, at: ManagedHSMPaths.pool(name))
            return pool
        }
    }
}
