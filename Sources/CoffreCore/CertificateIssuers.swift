import CoffreModel
import CoffreStorage

/// A certificate issuer of a vault (`/certificates/issuers/{name}`).
public struct CertificateIssuerRecord: Codable, Sendable, Equatable {
    public struct Administrator: Codable, Sendable, Equatable {
        public var firstName: String?
        public var lastName: String?
        public var email: String?
        public var phone: String?

        public init(firstName: String?, lastName: String?, email: String?, phone: String?) {
            self.firstName = firstName
            self.lastName = lastName
            self.email = email
            self.phone = phone
        }
    }

    public var name: String
    public var provider: String
    public var accountId: String?
    /// The password is kept inside the barrier and never returned.
    public var password: String?
    public var organizationId: String?
    public var administrators: [Administrator]?
    public var enabled: Bool
    public var created: Int64
    public var updated: Int64

    /// Coffre's own provider: a CA certificate held in the same vault (named by `accountId`) issues and renews.
    public static let coffreProvider = "Coffre"

    public var isCoffre: Bool { provider.lowercased() == Self.coffreProvider.lowercased() }
}

/// The certificate issuers of a vault (`/certificates/issuers/{name}`). `Self` and `Unknown` are built in; an issuer of
/// provider `Coffre` issues with a CA certificate of the same vault; other providers are recorded but reach no CA.
public struct CertificateIssuers: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    static func prefix(_ vault: VaultName) -> String { "v/\(vault)/certificate-issuer/" }
    func key(_ vault: VaultName, _ name: String) -> String { Self.prefix(vault) + name.lowercased() }

    public func get(in vault: VaultName, name: String) async throws -> CertificateIssuerRecord {
        guard let issuer = try await storage.read(CertificateIssuerRecord.self, at: key(vault, name)) else {
            throw CoffreError.issuerNotFound(name)
        }
        return issuer
    }

    public func list(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<CertificateIssuerRecord> {
        let prefix = Self.prefix(vault)
        let entries = try await storage.readAll(CertificateIssuerRecord.self, prefix: prefix, after: cursor.map { prefix + $0 }, limit: limit + 1)
        return Page(
            items: entries.prefix(limit).map(\.record),
            next: entries.count > limit ? String(entries[limit - 1].key.dropFirst(prefix.count)) : nil)
    }

    /// Sets (`replace`) or updates an issuer. `change` receives the current record (or a new one) to modify.
    public func set(
        in vault: VaultName, name: String, replace: Bool, change: @escaping @Sendable (inout CertificateIssuerRecord) throws -> Void
    ) async throws -> CertificateIssuerRecord {
        guard (1...127).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw CoffreError.badParameter("An issuer name must be 1-127 letters, digits and hyphens.")
        }
        guard !["self", "unknown"].contains(name.lowercased()) else {
            throw CoffreError.badParameter("\(name) is a reserved issuer name.")
        }
        let key = key(vault, name)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            let existing = try await transaction.read(CertificateIssuerRecord.self, at: key)
            if !replace, existing == nil { throw CoffreError.issuerNotFound(name) }
            var record =
                (replace ? nil : existing)
                ?? CertificateIssuerRecord(
                    name: name, provider: "", accountId: nil, password: nil, organizationId: nil, administrators: nil, enabled: true,
                    created: existing?.created ?? now, updated: now)
            try change(&record)
            record.updated = now
            guard !record.provider.isEmpty else { throw CoffreError.badParameter("An issuer needs a provider.") }
            try await transaction.write(record, at: key)
            return record
        }
    }

    public func delete(in vault: VaultName, name: String) async throws -> CertificateIssuerRecord {
        let key = key(vault, name)
        return try await storage.transaction { transaction in
            guard let issuer = try await transaction.read(CertificateIssuerRecord.self, at: key) else { throw CoffreError.issuerNotFound(name) }
            try await transaction.delete(key)
            return issuer
        }
    }
}
