import CoffreAuth
import CoffreBlob
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import CoffreStorageConformance
import CoffreStorageSQLite
import Foundation
import Synchronization
import Testing

@testable import CoffreCore

/// Services over a storage that fails on request (``FaultyStorage``), to put a failure between an operation's writes.
struct FaultyFixture {
    /// The backend under the failures: each test runs on every one that runs in process.
    enum Backend: CaseIterable, Sendable { case memory, sqlite }

    let storage: FaultyStorage
    /// The services over ``storage``.
    let services: CertificateFixture
    var clock: ManualClock { services.clock }
    var keys: KeyService { services.keys }
    var secrets: SecretService { services.secrets }
    var certificates: CertificateService { services.certificates }
    var vaults: VaultDirectory { services.vaults }
    var vault: VaultRecord { services.vault }

    /// Runs `body` with a fixture on `backend` (a SQLite file in a temporary directory, removed afterwards).
    static func with(_ backend: Backend, _ body: (FaultyFixture) async throws -> Void) async throws {
        switch backend {
        case .memory: try await body(FaultyFixture(storage: MemoryStorage()))
        case .sqlite: try await withTemporaryDirectory { try await body(FaultyFixture(storage: try SQLiteStorage(path: $0 + "/coffre.db"))) }
        }
    }

    private init(storage base: any StorageBackend) async throws {
        storage = FaultyStorage(base)
        services = try await CertificateFixture(storage: storage, vault: "vlt")
    }

    /// Runs `operation` with a failure at the next access to a key containing `fragment`: the operation must fail with
    /// the storage's error and leave every stored entry as it was; then it runs again without the failure.
    func expectAllOrNothing<T>(
        failingAt fragment: String, _ access: FaultyStorage.Access = .any, sourceLocation: SourceLocation = #_sourceLocation,
        _ operation: () async throws -> T
    ) async throws -> T {
        let before = try await storage.snapshot()
        storage.failNext(access, keyContaining: fragment)
        let injected = storage.injected
        await #expect(throws: StorageError.self, sourceLocation: sourceLocation) { _ = try await operation() }
        #expect(storage.injected == injected + 1, "no access reached \(fragment)", sourceLocation: sourceLocation)
        #expect(try await storage.snapshot() == before, "a write stayed behind", sourceLocation: sourceLocation)
        return try await operation()
    }

    /// The server's administration over the same storage.
    func administration() async throws -> ServerAdministration {
        let unused: @Sendable () async throws -> Void = {}
        let directory = Directory(storage: storage, clock: clock)
        let roleAssignments = RoleAssignments(storage: storage, clock: clock)
        let resources = ResourceManager(
            storage: storage, clock: clock, vaults: vaults, roleAssignments: roleAssignments,
            storageAccounts: StorageAccountDirectory(storage: storage, clock: clock),
            managedHSMs: ManagedHSMDirectory(storage: storage, clock: clock), principals: directory.principals,
            groups: GroupExpansion(groups: directory.groups, ownIssuer: "i"), tenantId: "tid")
        return ServerAdministration(
            vaults: vaults, roleAssignments: roleAssignments, directory: directory, resources: resources,
            signingKeys: try await SigningKeyring(storage: storage, clock: clock),
            operations: ServerOperations(rotateKeyring: { 1 }, rewrap: { 0 }, terms: { [1] }, backup: { [] }, ping: unused),
            managedHSMs: ManagedHSMDirectory(storage: storage, clock: clock), blob: BlobService(storage: storage, clock: clock), tenantId: "tid",
            clock: clock)
    }

    static func policy(actions: [CertificatePolicy.LifetimeAction]? = nil) -> CertificatePolicy {
        var policy = CertificateFixture.policy()
        policy.lifetimeActions = actions
        return policy
    }
}

/// Issue 27, point 1: every operation writes all of its records in one transaction or none, whatever fails between them.
@Suite struct AllOrNothingTests {
    @Test(arguments: FaultyFixture.Backend.allCases) func aCertificateIsWrittenWithItsKeyAndSecretOrNotAtAll(_ backend: FaultyFixture.Backend)
        async throws
    {
        try await FaultyFixture.with(backend) { f in
            let pending = try await f.expectAllOrNothing(failingAt: "v/vlt/secret-ver/web/", .write) {
                try await f.certificates.create(in: f.vault.name, name: "web", policy: FaultyFixture.policy(), properties: .init())
            }
            #expect(pending.status == .completed)
        }
    }

    /// Each of a certificate's changes reaches its key and secret legs: a failure at the second leg fails it all (it was
    /// once swallowed, leaving the certificate changed and its key or secret not).
    @Test(arguments: FaultyFixture.Backend.allCases) func everyChangeOfACertificateReachesBothLegsOrNone(_ backend: FaultyFixture.Backend)
        async throws
    {
        try await FaultyFixture.with(backend) { f in
            _ = try await f.certificates.create(in: f.vault.name, name: "web", policy: FaultyFixture.policy(), properties: .init())
            _ = try await f.expectAllOrNothing(failingAt: "v/vlt/secret-ver/web/") {
                try await f.certificates.update(in: f.vault.name, name: "web", version: nil, enabled: false, tags: nil, policy: nil)
            }
            #expect(
                try await f.secrets.store.get(in: f.vault.name, name: ObjectName("web", kind: .secret), version: nil).record.attributes.enabled
                    == false)
            _ = try await f.expectAllOrNothing(failingAt: "v/vlt/key/web") { try await f.certificates.delete(in: f.vault, name: "web") }
            _ = try await f.expectAllOrNothing(failingAt: "v/vlt/deleted-secret/web") {
                try await f.certificates.recover(in: f.vault.name, name: "web")
            }
            _ = try await f.certificates.delete(in: f.vault, name: "web")
            try await f.expectAllOrNothing(failingAt: "v/vlt/key-ver/web/") { try await f.certificates.purge(in: f.vault, name: "web") }
            #expect(try await f.storage.scan(prefix: "v/vlt/", after: nil, limit: 10).isEmpty)
        }
    }

    @Test(arguments: FaultyFixture.Backend.allCases) func aScheduledPurgeTakesTheWholeCertificate(_ backend: FaultyFixture.Backend) async throws {
        try await FaultyFixture.with(backend) { f in
            _ = try await f.certificates.create(in: f.vault.name, name: "web", policy: FaultyFixture.policy(), properties: .init())
            _ = try await f.certificates.delete(in: f.vault, name: "web")
            f.clock.advance(seconds: 8 * Seconds.day)
            let sweeper = PurgeSweeper(storage: f.storage, clock: f.clock, secrets: f.secrets, keys: f.keys, certificates: f.certificates)
            let purged = try await f.expectAllOrNothing(failingAt: "v/vlt/secret-ver/web/") { try await sweeper.sweep() }
            #expect(purged >= 1)
            #expect(try await f.storage.scan(prefix: "v/vlt/", after: nil, limit: 10).isEmpty)
        }
    }

    @Test(arguments: FaultyFixture.Backend.allCases) func aRestoredKeyComesBackWithItsRotationPolicy(_ backend: FaultyFixture.Backend) async throws {
        try await FaultyFixture.with(backend) { f in
            _ = try await f.keys.create(in: f.vault.name, name: "k", spec: .init(type: .ec, curve: .p256), properties: .init())
            let policy = KeyRotationPolicy(
                lifetimeActions: [.init(timeAfterCreate: "P30D", timeBeforeExpiry: nil, action: "Rotate")], expiryTime: nil)
            _ = try await f.keys.setRotationPolicy(in: f.vault.name, name: "k", policy: policy)
            let blob = try await f.keys.backup(in: f.vault.name, name: "k")
            _ = try await f.keys.delete(in: f.vault, name: "k")
            try await f.keys.purge(in: f.vault, name: "k")
            _ = try await f.expectAllOrNothing(failingAt: "v/vlt/key-rotationpolicy/k", .write) {
                try await f.keys.restore(in: f.vault.name, blob: blob)
            }
            #expect(try await f.keys.rotationPolicy(in: f.vault.name, name: "k").lifetimeActions.count == 1)
        }
    }

    /// A rotation is claimed in the new version's transaction: a failure between the claim and the version leaves the
    /// version claimable, and the next sweep rotates it (the claim once committed alone, and the version never rotated).
    @Test(arguments: FaultyFixture.Backend.allCases) func aRotationThatFailsIsCarriedOutAtTheNextSweep(_ backend: FaultyFixture.Backend) async throws
    {
        try await FaultyFixture.with(backend) { f in
            _ = try await f.keys.create(in: f.vault.name, name: "auto", spec: .init(type: .ec, curve: .p256), properties: .init())
            _ = try await f.keys.setRotationPolicy(
                in: f.vault.name, name: "auto",
                policy: KeyRotationPolicy(lifetimeActions: [.init(timeAfterCreate: "P30D", timeBeforeExpiry: nil, action: "Rotate")], expiryTime: nil)
            )
            let service = KeyRotationService(keys: f.keys, vaults: f.vaults, clock: f.clock) { _, _, _, _ in }
            f.clock.advance(seconds: 31 * Seconds.day)
            let sweep = try await f.expectAllOrNothing(failingAt: "v/vlt/key-ver/auto/", .write) { try await service.sweep() }
            #expect(sweep.rotated == ["vlt/auto"])
            #expect(try await service.sweep().rotated.isEmpty)
            #expect(try await f.keys.versions(in: f.vault.name, name: "auto", after: nil, limit: 25).items.count == 2)
        }
    }

    @Test(arguments: FaultyFixture.Backend.allCases) func aRenewalThatFailsIsCarriedOutAtTheNextSweep(_ backend: FaultyFixture.Backend) async throws {
        try await FaultyFixture.with(backend) { f in
            let policy = FaultyFixture.policy(actions: [.init(lifetimePercentage: 50, action: "AutoRenew")])
            _ = try await f.certificates.create(in: f.vault.name, name: "auto", policy: policy, properties: .init())
            let service = CertificateLifecycleService(certificates: f.certificates, vaults: f.vaults, clock: f.clock) { _ in }
            f.clock.advance(seconds: 190 * Seconds.day)
            let sweep = try await f.expectAllOrNothing(failingAt: "v/vlt/key-ver/auto/", .write) { try await service.sweep() }
            #expect(sweep.renewed == ["vlt/auto"])
            #expect(try await service.sweep().renewed.isEmpty)
            #expect(try await f.certificates.versions(in: f.vault.name, name: "auto", after: nil, limit: 25).items.count == 2)
        }
    }

    /// A notification that could not be delivered (the audit log failed, the node died) is made again once its claim's
    /// lease ends; never twice while it holds, never again once delivered.
    @Test(arguments: FaultyFixture.Backend.allCases) func aNotificationIsDeliveredAtLeastOnce(_ backend: FaultyFixture.Backend) async throws {
        try await FaultyFixture.with(backend) { f in
            _ = try await f.keys.create(
                in: f.vault.name, name: "n", spec: .init(type: .ec, curve: .p256),
                properties: .init(attributes: .init(expires: .some(f.clock.now + 60 * Seconds.day))))
            _ = try await f.keys.setRotationPolicy(
                in: f.vault.name, name: "n",
                policy: KeyRotationPolicy(lifetimeActions: [.init(timeAfterCreate: nil, timeBeforeExpiry: "P45D", action: "Notify")], expiryTime: nil)
            )
            struct Undeliverable: Error {}
            let attempts = Mutex(0)
            let service = KeyRotationService(keys: f.keys, vaults: f.vaults, clock: f.clock) { _, _, _, _ in
                let attempt = attempts.withLock { count in
                    count += 1
                    return count
                }
                if attempt == 1 { throw Undeliverable() }
            }
            f.clock.advance(seconds: 16 * Seconds.day)
            await #expect(throws: Undeliverable.self) { try await service.sweep() }
            #expect(try await service.sweep().notified.isEmpty) // the lease holds
            f.clock.advance(seconds: 301)
            #expect(try await service.sweep().notified == ["vlt/n"])
            #expect(try await service.sweep().notified.isEmpty)
            #expect(attempts.withLock { $0 } == 2)
        }
    }

    /// A vault made with RBAC comes with its creator's role assignment, or not at all; deleted, it takes its
    /// assignments along (a vault made later under its name does not inherit them).
    @Test(arguments: FaultyFixture.Backend.allCases) func aVaultIsCreatedWithItsCreatorsRoleOrNotAtAll(_ backend: FaultyFixture.Backend) async throws
    {
        try await FaultyFixture.with(backend) { f in
            let administration = try await f.administration()
            let creator = Caller(objectId: "creator", appId: "app", tenantId: "tid", issuer: "iss")
            let name = try VaultName("rbac-vault")
            _ = try await f.expectAllOrNothing(failingAt: "sys/rbac/rbac-vault/", .write) {
                try await administration.createVault(name, settings: .init(retentionDays: 7, rbacAuthorization: true), by: creator)
            }
            #expect(try await administration.roleAssignments(in: name).map(\.principalId) == ["creator"])
            try await administration.deleteVault(name)
            #expect(try await f.storage.scan(prefix: "sys/rbac/rbac-vault/", after: nil, limit: 10).isEmpty)
        }
    }

    /// A principal is stored with all its credentials at once: one without a secret never had one stored.
    @Test(arguments: FaultyFixture.Backend.allCases) func aPrincipalIsCreatedWithItsCredentialsOrNotAtAll(_ backend: FaultyFixture.Backend)
        async throws
    {
        try await FaultyFixture.with(backend) { f in
            let administration = try await f.administration()
            let created = try await f.expectAllOrNothing(failingAt: "sys/principals/", .write) {
                try await administration.createPrincipal(name: "app", managedIdentity: false, certificate: nil, withSecret: false)
            }
            #expect(created.secret == nil)
            #expect(try await administration.principal(created.principal.clientId).secrets.isEmpty)
        }
    }
}
