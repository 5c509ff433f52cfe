import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// The identity of the server, written once on first start (`sys/server`).
public struct ServerIdentity: Codable, Sendable {
    public var tenantId: String
    public var adminObjectId: String
    public var adminClientId: String
    public var created: Int64
    /// Set once the first start completed (admin, default vault): later starts never recreate a deleted default vault.
    public var initialized: Bool
}

/// The unsealed state a server runs on: sealed storage, the server identity and its long-lived keys.
public struct UnsealedState: Sendable {
    public var storage: SealedStorage
    public var identity: ServerIdentity
    public var certificateAuthority: LocalCertificateAuthority
    public var backupKey: AEADKey
}

/// First start and every start: unseal the barrier with the root key, then make sure the server identity, the admin
/// principal, the default vault, the backup key, the CA and the token-signing key exist. Each step is idempotent, so
/// a start interrupted half-way completes on the next start.
public enum Bootstrap {
    static let identityKey = "sys/server"
    static let backupKeyKey = "sys/backup-key"
    static let caKey = "sys/ca"

    /// Unseals the barrier over `backend` with `rootKey` (creating the keyring on first use) and makes sure the
    /// server's identity and long-lived keys exist.
    public static func open(
        _ backend: any StorageBackend, rootKey: [UInt8], configuration: ServerConfiguration, clock: any WallClock
    ) async throws -> UnsealedState {
        let storage = try await SealedStorage.unseal(backend, rootKey: try AEADKey(bytes: rootKey), now: clock.now)

        let identity: ServerIdentity = try await storage.transaction { transaction in
            if let identity = try await transaction.read(ServerIdentity.self, at: identityKey) { return identity }
            let identity = ServerIdentity(
                tenantId: configuration.tenantId ?? SecureRandom.uuid(), adminObjectId: SecureRandom.uuid(),
                adminClientId: SecureRandom.uuid(), created: clock.now, initialized: false)
            try await transaction.write(identity, at: identityKey)
            return identity
        }
        let backupKey = try await ensure(storage, at: backupKeyKey) { AEADKey.generate() }
        let caRecord = try await ensure(storage, at: caKey) {
            let ca = try LocalCertificateAuthority.generate()
            return CARecord(certificateDER: ca.certificateDER, privateKeyDER: ca.privateKeyDER)
        }

        var state = UnsealedState(
            storage: storage, identity: identity,
            certificateAuthority: try LocalCertificateAuthority(certificateDER: caRecord.certificateDER, privateKeyDER: caRecord.privateKeyDER),
            backupKey: try AEADKey(bytes: backupKey))
        if !identity.initialized { state.identity = try await initialise(state, configuration: configuration, clock: clock) }
        return state
    }

    struct CARecord: Codable {
        var certificateDER: [UInt8]
        var privateKeyDER: [UInt8]
    }

    /// The record at `key`, created with `make` when absent.
    static func ensure<T: Codable & Sendable>(_ storage: SealedStorage, at key: String, make: @Sendable () throws -> T) async throws -> T {
        if let existing = try await storage.read(T.self, at: key) { return existing }
        let created = try make()
        return try await storage.transaction { transaction in
            if let existing = try await transaction.read(T.self, at: key) { return existing }
            try await transaction.write(created, at: key)
            return created
        }
    }

    /// The first start: the admin principal (a Coffre administrator) and the default vault, where it holds every permission.
    static func initialise(_ state: UnsealedState, configuration: ServerConfiguration, clock: any WallClock) async throws -> ServerIdentity {
        let identity = state.identity
        let principals = PrincipalDirectory(storage: state.storage, clock: clock)
        if try await principals.get(clientId: identity.adminClientId) == nil {
            _ = try await principals.create(
                displayName: "coffre-admin", administrator: true, objectId: identity.adminObjectId, clientId: identity.adminClientId)
        }
        let vaults = VaultDirectory(storage: state.storage, clock: clock)
        let defaultVault = try VaultName(configuration.defaultVault)
        if (try? await vaults.get(defaultVault)) == nil {
            _ = try await vaults.create(
                defaultVault, settings: .init(),
                owner: .all(tenantId: identity.tenantId, objectId: identity.adminObjectId))
        }
        var initialised = identity
        initialised.initialized = true
        try await state.storage.transaction { [initialised] in try await $0.write(initialised, at: identityKey) }
        return initialised
    }
}
