import CoffreModel
import CoffreStorage

/// Certificate contacts of a vault.
public struct CertificateContact: Codable, Sendable, Equatable {
    public var email: String?
    public var name: String?
    public var phone: String?

    public init(email: String?, name: String?, phone: String?) {
        self.email = email
        self.name = name
        self.phone = phone
    }
}

/// The certificate contacts of a vault (`/certificates/contacts`): whom `EmailContacts` lifetime actions notify.
public struct CertificateContacts: Sendable {
    let storage: any StorageBackend

    func key(_ vault: VaultName) -> String { "v/\(vault)/certificate-contacts" }

    public func get(in vault: VaultName) async throws -> [CertificateContact] {
        guard let contacts = try await storage.read([CertificateContact].self, at: key(vault)) else { throw CoffreError.contactsNotFound }
        return contacts
    }

    /// The vault's contacts, none when it has none.
    func stored(in vault: VaultName) async throws -> [CertificateContact] {
        try await storage.read([CertificateContact].self, at: key(vault)) ?? []
    }

    public func set(_ contacts: [CertificateContact], in vault: VaultName) async throws -> [CertificateContact] {
        for contact in contacts where (contact.email ?? "").isEmpty || !(contact.email ?? "").contains("@") {
            throw CoffreError.badParameter("Each certificate contact needs a valid email address.")
        }
        try await storage.transaction { try await $0.write(contacts, at: key(vault)) }
        return contacts
    }

    public func delete(in vault: VaultName) async throws -> [CertificateContact] {
        let key = key(vault)
        return try await storage.transaction { transaction in
            guard let contacts = try await transaction.read([CertificateContact].self, at: key) else { throw CoffreError.contactsNotFound }
            try await transaction.delete(key)
            return contacts
        }
    }
}
