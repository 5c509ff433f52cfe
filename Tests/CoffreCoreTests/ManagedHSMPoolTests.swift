import CoffreModel
import CoffreStorage
import Testing

@testable import CoffreCore

@Suite struct PoolActivationTests {
    let pool = try! ManagedHSMName("pool")

    @Test func aDownloadOrAnUploadActivatesOnceCompleted() throws {
        for source in [PoolActivation.ActivationSource.download, .upload] {
            let activating = try PoolActivation.notActivated.applying(.begin(source), at: 10, pool: pool)
            #expect(activating == .activating(source, since: 10))
            #expect(!activating.isActive)
            let active = try activating.applying(.complete, at: 12, pool: pool)
            #expect(active == .active(since: 12))
            #expect(active.isActive)
        }
    }

    @Test func aFailedActivationMayStartAgain() throws {
        let failed = try PoolActivation.activating(.download, since: 1).applying(.fail(reason: "job lost"), at: 2, pool: pool)
        #expect(failed == .failed(reason: "job lost", at: 2))
        #expect(try failed.applying(.begin(.upload), at: 3, pool: pool) == .activating(.upload, since: 3))
    }

    @Test func anActivePoolNeverActivatesAgain() {
        #expect(throws: ManagedHSMError.alreadyActivated("pool")) {
            try PoolActivation.active(since: 1).applying(.begin(.download), at: 2, pool: pool)
        }
        #expect(throws: ManagedHSMError.alreadyActivated("pool")) {
            try PoolActivation.active(since: 1).applying(.begin(.upload), at: 2, pool: pool)
        }
    }

    @Test func oneActivationAtATime() {
        #expect(throws: CoffreError.self) { try PoolActivation.activating(.download, since: 1).applying(.begin(.upload), at: 2, pool: pool) }
    }

    @Test(arguments: [PoolActivation.notActivated, .active(since: 1), .failed(reason: "x", at: 1)])
    func onlyAnActivationInProgressCompletesOrFails(_ state: PoolActivation) {
        #expect(throws: CoffreError.self) { try state.applying(.complete, at: 2, pool: pool) }
        #expect(throws: CoffreError.self) { try state.applying(.fail(reason: "x"), at: 2, pool: pool) }
    }
}

@Suite struct ManagedHSMDirectoryTests {
    @Test(arguments: ["ContosoHSM", "a-b-c", "abc123"])
    func validNames(_ name: String) throws {
        #expect(try ManagedHSMName(name).value == name.lowercased())
    }

    @Test(arguments: ["ab", "1abc", "abc-", "a--b", String(repeating: "a", count: 25), "abc_d"])
    func invalidNames(_ name: String) {
        #expect(throws: CoffreError.self) { try ManagedHSMName(name) }
    }

    @Test func aNewPoolIsNotActivatedAndItsAdministratorsHoldAdministrator() async throws {
        let fixture = try PoolFixture()
        let name = try ManagedHSMName("pool")
        let pool = try await fixture.directory.create(
            name, settings: .init(tenantId: "t", administrators: ["A-1", "b-2", "a-1"], retentionDays: 7, purgeProtection: true))
        #expect(pool.activation == .notActivated)
        #expect(pool.securityDomain == nil)
        #expect(pool.administrators == ["a-1", "b-2"])
        #expect(pool.recoveryLevel == RecoveryLevel(retentionDays: 7, purgeProtection: true))
        #expect(throws: ManagedHSMError.notActivated("pool")) { try pool.requireActive() }
        #expect(try await fixture.directory.get(name) == pool)

        let assignments = try await fixture.access.assignments(in: name)
        #expect(Set(assignments.compactMap(\.principalId)) == ["a-1", "b-2"])
        #expect(assignments.allSatisfy { $0.scope == .global && $0.roleDefinitionName == ManagedHSMRoleDefinition.administratorName })
        try await fixture.access.authorize(.init(objectId: "A-1"), .securityDomainDownload, at: .global, in: name)
    }

    @Test func anActivatedPoolHasARootAtOnce() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("ready", activated: true)
        #expect(pool.activation == .active(since: fixture.clock.now))
        #expect(try pool.requireActive() == pool.securityDomain)
    }

    @Test func creationRefusals() async throws {
        let fixture = try PoolFixture()
        try await fixture.pool("pool")
        await #expect(throws: CoffreError.self) { try await fixture.pool("pool") }
        let name = try ManagedHSMName("other")
        for retention in [6, 91] {
            await #expect(throws: CoffreError.self) {
                try await fixture.directory.create(name, settings: .init(tenantId: "t", administrators: ["a"], retentionDays: retention))
            }
        }
        await #expect(throws: CoffreError.self) { try await fixture.directory.create(name, settings: .init(tenantId: "t", administrators: [])) }
        #expect(try await fixture.directory.list().map(\.name.value) == ["pool"])
    }

    @Test func deletingAPoolDeletesEverythingItHolds() async throws {
        let fixture = try PoolFixture()
        let keep = try await fixture.pool("keep")
        let pool = try await fixture.pool("gone")
        _ = try await fixture.settings.update("AllowKeyManagementOperationsThroughARM", value: "true", in: pool.name)
        _ = try await fixture.access.setDefinition(named: "11111111-1111-4111-8111-111111111111", .init(roleName: "r"), in: pool.name)
        try await fixture.storage.transaction { try await $0.put("v/gone/key/k", [1]) }

        try await fixture.directory.delete(pool.name)
        #expect(try await fixture.directory.list().map(\.name) == [keep.name])
        #expect(try await fixture.storage.scan(prefix: "sys/hsm/gone/", after: nil, limit: 10).isEmpty)
        #expect(try await fixture.storage.scan(prefix: "v/gone/", after: nil, limit: 10).isEmpty)
        #expect(try await fixture.access.assignments(in: keep.name).count == 1)
        await #expect(throws: ManagedHSMError.poolNotFound("gone")) { try await fixture.directory.get(pool.name) }
        await #expect(throws: ManagedHSMError.poolNotFound("gone")) { try await fixture.directory.delete(pool.name) }
    }

    @Test func activationEventsAreAppliedAndStored() async throws {
        let fixture = try PoolFixture()
        let name = try await fixture.pool("pool").name
        let root = SecurityDomainRoot.generate()
        await #expect(throws: CoffreError.self) { try await fixture.directory.activation(.begin(.download), of: name) }

        fixture.clock.advance(seconds: 5)
        let activating = try await fixture.directory.activation(.begin(.download), root: root, of: name)
        #expect(activating.activation == .activating(.download, since: fixture.clock.now))
        #expect(activating.securityDomain == root)
        #expect(throws: ManagedHSMError.notActivated("pool")) { try activating.requireActive() }

        let failed = try await fixture.directory.activation(.fail(reason: "lost"), of: name)
        #expect(failed.securityDomain == nil)
        try await fixture.directory.activation(.begin(.upload), root: root, of: name)
        let active = try await fixture.directory.activation(.complete, of: name)
        #expect(try active.requireActive() == root)
        #expect(try await fixture.directory.get(name) == active)
        await #expect(throws: ManagedHSMError.alreadyActivated("pool")) {
            try await fixture.directory.activation(.begin(.download), root: .generate(), of: name)
        }
        #expect(try await fixture.directory.get(name).securityDomain == root)
    }

    @Test func theRootIsNeverPrinted() throws {
        let root = SecurityDomainRoot.generate()
        #expect("\(root)" == "SecurityDomainRoot(redacted)")
        #expect(String(reflecting: root) == "SecurityDomainRoot(redacted)")
        #expect(Mirror(reflecting: root).children.isEmpty)
    }

    @Test func derivedKeysDependOnTheRootAndThePurpose() throws {
        let root = SecurityDomainRoot.generate()
        let copy = try SecurityDomainRoot(items: root.items)
        #expect(copy.derivedKey(for: "backup") == root.derivedKey(for: "backup"))
        #expect(root.derivedKey(for: "backup") != root.derivedKey(for: "other"))
        #expect(SecurityDomainRoot.generate().derivedKey(for: "backup") != root.derivedKey(for: "backup"))
    }
}
