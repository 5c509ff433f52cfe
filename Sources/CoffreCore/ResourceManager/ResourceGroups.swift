import CoffreModel
import CoffreStorage

/// An Azure resource group (`sys/resource-groups/{lower-case name}`): a named container of vaults. Vaults say which
/// group they belong to (``VaultRecord/resourceGroup``).
public struct ResourceGroupRecord: Codable, Sendable, Equatable {
    /// As first written (names compare in any case).
    public var name: String
    public var location: String
    public var tags: [String: String]?
    public var created: Int64

    public init(name: String, location: String, tags: [String: String]?, created: Int64) {
        self.name = name
        self.location = location
        self.tags = tags
        self.created = created
    }
}

/// The resource groups of the subscription. The default group (``VaultRecord/defaultResourceGroup``) always exists.
public struct ResourceGroups: Sendable {
    let storage: any StorageBackend
    /// The location of the default group.
    let location: String

    static let prefix = "sys/resource-groups/"
    static func key(_ name: String) -> String { prefix + name.lowercased() }

    public init(storage: any StorageBackend, location: String) {
        self.storage = storage
        self.location = location
    }

    /// The default group as it stands before anyone wrote it.
    var defaultGroup: ResourceGroupRecord {
        ResourceGroupRecord(name: VaultRecord.defaultResourceGroup, location: location, tags: nil, created: 0)
    }

    /// Azure's rule: 1–90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending with a period.
    public static func checkName(_ name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || $0.properties.numericType != nil || "_-.()".unicodeScalars.contains($0)
        }
        guard (1...90).contains(name.count), allowed, !name.hasSuffix(".") else {
            throw ResourceManagerError.badRequest(
                code: "InvalidResourceGroupName",
                message: "Resource group names only allow alphanumeric characters, periods, underscores, hyphens and parenthesis and cannot end "
                    + "in a period; they are 1 to 90 characters long.")
        }
    }

    public func get(_ name: String) async throws -> ResourceGroupRecord? { try await get(name, in: storage) }

    public func get(_ name: String, in reader: any StorageReader) async throws -> ResourceGroupRecord? {
        if let record = try await reader.read(ResourceGroupRecord.self, at: Self.key(name)) { return record }
        return name.lowercased() == VaultRecord.defaultResourceGroup ? defaultGroup : nil
    }

    public func list() async throws -> [ResourceGroupRecord] {
        let stored = try await storage.readAll(ResourceGroupRecord.self, prefix: Self.prefix).map(\.record)
        let hasDefault = stored.contains { $0.name.lowercased() == VaultRecord.defaultResourceGroup }
        return (hasDefault ? [] : [defaultGroup]) + stored
    }

    /// Creates a group, or updates its tags; its location cannot change. Returns the record and whether it is new.
    public func createOrUpdate(_ name: String, location: String, tags: [String: String]?, now: Int64) async throws
        -> (group: ResourceGroupRecord, created: Bool)
    {
        try Self.checkName(name)
        return try await storage.transaction { transaction in
            let existing = try await get(name, in: transaction)
            if let existing, Self.normalized(existing.location) != Self.normalized(location) {
                throw ResourceManagerError.resourceGroupLocation(name: existing.name, location: location)
            }
            let record = ResourceGroupRecord(
                name: existing?.name ?? name, location: existing?.location ?? location, tags: tags, created: existing?.created ?? now)
            try await transaction.write(record, at: Self.key(name))
            return (record, existing == nil)
        }
    }

    /// Azure writes locations in several ways (`West Europe`, `westeurope`).
    public static func normalized(_ location: String) -> String { location.lowercased().filter { $0 != " " } }
}
