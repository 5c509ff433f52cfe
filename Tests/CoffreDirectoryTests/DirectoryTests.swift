import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Testing

/// A directory over in-memory storage; passwords hashed with a cheap scrypt cost (the real cost has its own test).
struct DirectoryFixture {
    let storage = MemoryStorage()
    let clock = ManualClock(1_800_000_000)
    let directory: Directory

    init() {
        directory = Directory(
            principals: PrincipalDirectory(storage: storage, clock: clock),
            users: UserDirectory(storage: storage, clock: clock, cost: Scrypt.Cost(n: 1 << 10, r: 8, p: 1)),
            groups: GroupDirectory(storage: storage, clock: clock))
    }

    var users: UserDirectory { directory.users }
    var groups: GroupDirectory { directory.groups }
}

@Suite struct UserTests {
    @Test func passwordsAreKeptOnlyAsScryptHashes() async throws {
        let fixture = DirectoryFixture()
        let (user, generated) = try await fixture.users.create(userPrincipalName: "Alice@Example.test", password: "correct horse")
        #expect(generated == nil)
        #expect(user.password.algorithm == "scrypt" && user.password.salt.count == 16 && user.password.hash.count == 32)
        for entry in try await fixture.storage.scan(prefix: "", after: nil, limit: .max) {
            #expect(!String(decoding: entry.value, as: UTF8.self).contains("correct horse"))
        }
        #expect(try await fixture.users.authenticate(userPrincipalName: "alice@example.TEST", password: "correct horse")?.objectId == user.objectId)
        #expect(try await fixture.users.authenticate(userPrincipalName: "alice@example.test", password: "correct horsE") == nil)
        #expect(try await fixture.users.authenticate(userPrincipalName: "bob@example.test", password: "correct horse") == nil)
    }

    @Test func aGeneratedPasswordIsReturnedOnceAndWorks() async throws {
        let fixture = DirectoryFixture()
        let (user, generated) = try await fixture.users.create(userPrincipalName: "bob@example.test", password: nil)
        let password = try #require(generated)
        #expect(password.count >= 16)
        #expect(try await fixture.users.authenticate(userPrincipalName: "bob@example.test", password: password) == user)
    }

    @Test func namesAreUniqueWithoutRegardToCaseAndMustLookLikeUPNs() async throws {
        let fixture = DirectoryFixture()
        _ = try await fixture.users.create(userPrincipalName: "carol@example.test", password: "password-1")
        await #expect(throws: CoffreError.self) { try await fixture.users.create(userPrincipalName: "CAROL@example.test", password: "password-2") }
        for bad in ["carol", "carol@", "@example.test", "a b@example.test", "carol@example..test", "x@y@z"] {
            await #expect(throws: CoffreError.self) { try await fixture.users.create(userPrincipalName: bad, password: "password-3") }
        }
        await #expect(throws: CoffreError.self) { try await fixture.users.create(userPrincipalName: "dan@example.test", password: "short") }
    }

    @Test func deletingAUserEndsItsMembershipsAndSessions() async throws {
        let fixture = DirectoryFixture()
        let (user, _) = try await fixture.users.create(userPrincipalName: "erin@example.test", password: "password-1")
        let group = try await fixture.groups.create(name: "readers")
        _ = try await fixture.directory.addMember(user.userPrincipalName, to: "readers")
        try await fixture.storage.transaction { try await $0.put(UserDirectory.sessionsPrefix(user.objectId) + "token", [1]) }
        _ = try await fixture.users.delete("erin@example.test")
        #expect(try await fixture.groups.find(group.objectId).members.isEmpty)
        #expect(try await fixture.groups.groups(above: [user.objectId]).isEmpty)
        #expect(try await fixture.storage.scan(prefix: "sts/", after: nil, limit: .max).isEmpty)
        #expect(try await fixture.users.get(userPrincipalName: "erin@example.test") == nil)
        await #expect(throws: CoffreError.principalNotFound("erin@example.test")) { try await fixture.users.delete("erin@example.test") }
    }

    @Test func theRealCostIsOWASPs() async throws {
        let users = UserDirectory(storage: MemoryStorage(), clock: ManualClock())
        let (user, _) = try await users.create(userPrincipalName: "frank@example.test", password: "a long passphrase")
        #expect(user.password.cost == Scrypt.Cost(n: 1 << 17, r: 8, p: 1))
        #expect(try await users.authenticate(userPrincipalName: "frank@example.test", password: "a long passphrase") != nil)
    }
}

@Suite struct GroupTests {
    @Test func membershipIsTransitiveThroughNestedGroups() async throws {
        let fixture = DirectoryFixture()
        let (user, _) = try await fixture.users.create(userPrincipalName: "alice@example.test", password: "password-1")
        let (app, _) = try await fixture.directory.principals.create(displayName: "app")
        let inner = try await fixture.groups.create(name: "inner")
        let outer = try await fixture.groups.create(name: "Outer Group")
        _ = try await fixture.directory.addMember(user.objectId, to: "inner")
        _ = try await fixture.directory.addMember(app.clientId, to: inner.objectId)
        _ = try await fixture.directory.addMember("inner", to: "outer group")
        #expect(Set(try await fixture.groups.groups(above: [user.objectId])) == [inner.objectId, outer.objectId])
        #expect(Set(try await fixture.groups.groups(above: [app.objectId])) == [inner.objectId, outer.objectId])
        #expect(try await fixture.groups.groups(above: [inner.objectId]) == [outer.objectId])

        _ = try await fixture.directory.removeMember("inner", from: outer.objectId)
        #expect(try await fixture.groups.groups(above: [user.objectId]) == [inner.objectId])
        await #expect(throws: CoffreError.self) { try await fixture.directory.removeMember("inner", from: outer.objectId) }
    }

    @Test func aCycleIsRefused() async throws {
        let fixture = DirectoryFixture()
        let a = try await fixture.groups.create(name: "a")
        let b = try await fixture.groups.create(name: "b")
        let c = try await fixture.groups.create(name: "c")
        _ = try await fixture.directory.addMember(a.objectId, to: "b")
        _ = try await fixture.directory.addMember(b.objectId, to: "c")
        await #expect(throws: CoffreError.self) { try await fixture.directory.addMember(c.objectId, to: "a") }
        await #expect(throws: CoffreError.self) { try await fixture.directory.addMember(a.objectId, to: "a") }
        #expect(try await fixture.groups.find("a").members.isEmpty)
    }

    @Test func membersMustExist() async throws {
        let fixture = DirectoryFixture()
        _ = try await fixture.groups.create(name: "g")
        await #expect(throws: CoffreError.principalNotFound("00000000-0000-0000-0000-000000000000")) {
            try await fixture.directory.addMember("00000000-0000-0000-0000-000000000000", to: "g")
        }
        await #expect(throws: CoffreError.principalNotFound("nope")) { try await fixture.directory.addMember("alice@example.test", to: "nope") }
    }

    @Test func deletingAGroupUntiesItFromParentsAndMembers() async throws {
        let fixture = DirectoryFixture()
        let (user, _) = try await fixture.users.create(userPrincipalName: "alice@example.test", password: "password-1")
        let middle = try await fixture.groups.create(name: "middle")
        let top = try await fixture.groups.create(name: "top")
        _ = try await fixture.directory.addMember(user.objectId, to: "middle")
        _ = try await fixture.directory.addMember("middle", to: "top")
        _ = try await fixture.groups.delete("middle")
        #expect(try await fixture.groups.groups(above: [user.objectId]).isEmpty)
        #expect(try await fixture.groups.find(top.objectId).members.isEmpty)
        await #expect(throws: CoffreError.principalNotFound(middle.objectId)) { try await fixture.groups.find(middle.objectId) }
        // The name is free again.
        _ = try await fixture.groups.create(name: "MIDDLE")
    }

    @Test func referencesResolveToObjectIds() async throws {
        let fixture = DirectoryFixture()
        let (user, _) = try await fixture.users.create(userPrincipalName: "alice@example.test", password: "password-1")
        let (app, _) = try await fixture.directory.principals.create(displayName: "my-app")
        let group = try await fixture.groups.create(name: "ops")
        #expect(try await fixture.directory.objectId(of: "alice@example.test") == user.objectId)
        #expect(try await fixture.directory.objectId(of: app.clientId) == app.objectId)
        #expect(try await fixture.directory.objectId(of: "my-app") == app.objectId)
        #expect(try await fixture.directory.objectId(of: "OPS") == group.objectId)
        #expect(try await fixture.directory.objectId(of: "ABCDEF") == "abcdef")
    }
}

@Suite struct GroupExpansionTests {
    static let own = "https://localhost:8443/tenant/v2.0"

    @Test func ownTokensUseTheDirectoryNowAndIgnoreTheirGroupsClaim() async throws {
        let fixture = DirectoryFixture()
        let (user, _) = try await fixture.users.create(userPrincipalName: "alice@example.test", password: "password-1")
        let group = try await fixture.groups.create(name: "g")
        let expansion = GroupExpansion(groups: fixture.groups, ownIssuer: Self.own)
        let caller = Caller(objectId: user.objectId, appId: nil, tenantId: "t", issuer: Self.own, groups: ["stale-group"])
        #expect(try await expansion.groupIds(of: caller).isEmpty)
        _ = try await fixture.directory.addMember(user.objectId, to: "g")
        #expect(try await expansion.groupIds(of: caller) == [group.objectId])
        _ = try await fixture.directory.removeMember(user.objectId, from: "g")
        #expect(try await expansion.groupIds(of: caller).isEmpty)
    }

    @Test func externalTokensBringTheirGroupsAndTheCoffreGroupsAroundThem() async throws {
        let fixture = DirectoryFixture()
        _ = try await fixture.groups.create(name: "entra-admins")
        let entraGroup = "AAAAAAAA-0000-0000-0000-000000000001"
        // An Entra group id cannot be added as a member (it is not in this directory): grants name it directly.
        await #expect(throws: CoffreError.self) { try await fixture.directory.addMember(entraGroup, to: "entra-admins") }
        let expansion = GroupExpansion(groups: fixture.groups, ownIssuer: Self.own)
        let caller = Caller(objectId: "ext-user", appId: nil, tenantId: "t", issuer: "https://login.example/t/v2.0", groups: [entraGroup])
        #expect(try await expansion.groupIds(of: caller) == [entraGroup.lowercased()])
    }
}
