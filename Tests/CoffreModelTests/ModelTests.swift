import CoffreModel
import Testing

@Suite struct NameTests {
    @Test(arguments: ["a", "A-b-9", String(repeating: "x", count: 127), "-leading-dash-is-allowed"])
    func validObjectNames(_ name: String) throws {
        let parsed = try ObjectName(name, kind: .secret)
        #expect(parsed.display == name)
        #expect(parsed.key == name.lowercased())
    }

    @Test(arguments: ["", String(repeating: "x", count: 128), "with space", "under_score", "dot.ted", "ünïcode", "slash/"])
    func invalidObjectNames(_ name: String) {
        #expect(throws: CoffreError.self) { try ObjectName(name, kind: .secret) }
    }

    @Test func objectNamesCompareCaseInsensitively() throws {
        #expect(try ObjectName("MySecret", kind: .secret) == ObjectName("mysecret", kind: .secret))
    }

    @Test(arguments: ["abc", "my-vault-01", "Default", String(repeating: "a", count: 24)])
    func validVaultNames(_ name: String) throws {
        #expect(try VaultName(name).value == name.lowercased())
    }

    @Test(arguments: ["ab", String(repeating: "a", count: 25), "1vault", "vault-", "va--ult", "va_ult", "vault.x"])
    func invalidVaultNames(_ name: String) {
        #expect(throws: CoffreError.self) { try VaultName(name) }
    }

    @Test func versionIds() {
        #expect(VersionID.normalised("0123456789ABCDEF0123456789abcdef") == "0123456789abcdef0123456789abcdef")
        #expect(VersionID.normalised("versions") == nil)
        #expect(VersionID.normalised(String(repeating: "g", count: 32)) == nil)
        #expect(VersionID.from(randomBytes: Array(repeating: 0xab, count: 16)) == String(repeating: "ab", count: 16))
    }
}

@Suite struct AttributeTests {
    @Test func recoveryLevelFollowsRetentionAndPurgeProtection() {
        #expect(RecoveryLevel(retentionDays: 90, purgeProtection: false) == .recoverablePurgeable)
        #expect(RecoveryLevel(retentionDays: 90, purgeProtection: true) == .recoverable)
        #expect(RecoveryLevel(retentionDays: 7, purgeProtection: false) == .customizedRecoverablePurgeable)
        #expect(RecoveryLevel(retentionDays: 30, purgeProtection: true) == .customizedRecoverable)
    }

    @Test func activeWindow() {
        let attributes = ObjectAttributes(notBefore: 100, expires: 200, created: 0, updated: 0)
        #expect(!attributes.isActive(at: 99))
        #expect(attributes.isActive(at: 100))
        #expect(attributes.isActive(at: 199))
        #expect(!attributes.isActive(at: 200))
    }

    @Test func changesApplyOnlyWhatIsGiven() {
        let original = ObjectAttributes(enabled: true, notBefore: 5, expires: 50, created: 1, updated: 1)
        let changed = AttributeChanges(enabled: false, expires: .some(nil)).applied(to: original, at: 9)
        #expect(changed == ObjectAttributes(enabled: false, notBefore: 5, expires: nil, created: 1, updated: 9))
    }

    @Test func tagLimits() throws {
        try Tags.validate(Dictionary(uniqueKeysWithValues: (0..<15).map { ("k\($0)", "v") }))
        #expect(throws: CoffreError.self) { try Tags.validate(Dictionary(uniqueKeysWithValues: (0..<16).map { ("k\($0)", "v") })) }
        #expect(throws: CoffreError.self) { try Tags.validate(["k": String(repeating: "v", count: 257)]) }
        #expect(throws: CoffreError.self) { try Tags.validate([String(repeating: "k", count: 257): "v"]) }
        try Tags.validate(["k": String(repeating: "v", count: 256)])
    }
}

@Suite struct AccessPolicyTests {
    @Test func permissionsAreNormalisedAndChecked() throws {
        #expect(try AccessPolicy.permissions(["Get", "LIST"], in: .secrets) == ["get", "list"])
        #expect(try AccessPolicy.permissions(["all"], in: .secrets) == Set(PermissionArea.secrets.allPermissions))
        #expect(try AccessPolicy.permissions(["UnwrapKey"], in: .keys) == ["unwrapkey"])
        #expect(throws: CoffreError.self) { try AccessPolicy.permissions(["sign"], in: .secrets) }
    }

    @Test func allGrantsEveryArea() {
        let policy = AccessPolicy.all(tenantId: "t", objectId: "o")
        for area in PermissionArea.allCases {
            for permission in area.allPermissions { #expect(policy.allows(permission, in: area)) }
        }
    }
}

@Suite struct CivilTimeTests {
    @Test func secondsAndDatesConvertBothWays() {
        let epoch = CivilTime(seconds: 0)
        #expect((epoch.year, epoch.month, epoch.day, epoch.hour, epoch.weekday) == (1970, 1, 1, 0, 4))
        let leap = CivilTime(seconds: 1_709_208_000)
        #expect((leap.year, leap.month, leap.day, leap.hour) == (2024, 2, 29, 12))
        let before = CivilTime(seconds: -1)
        #expect(before == CivilTime(year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59))
        #expect(before.weekday == 3)
        for seconds in stride(from: Int64(-5_000_000_000), to: 5_000_000_000, by: 86_399 * 37) {
            #expect(CivilTime(seconds: seconds).seconds == seconds)
        }
        #expect(CivilTime(year: 2026, month: 2, day: 29) == nil)
        #expect(CivilTime(year: 2026, month: 12, day: 7, hour: 15, minute: 15, second: 39)?.seconds == 1_796_656_539)
        #expect(CivilTime(seconds: 1_796_656_539).weekday == 1)
    }

    @Test func percentEncodingIsPythonsQuote() {
        #expect(PercentEncoding.encode("a+b/c=d é~", keepingSlash: true) == "a%2Bb/c%3Dd%20%C3%A9~")
        #expect(PercentEncoding.encode("a/b", keepingSlash: false) == "a%2Fb")
        #expect(PercentEncoding.decode("a%2Bb+c", plusIsSpace: true) == "a+b c")
        #expect(PercentEncoding.decode("a+b", plusIsSpace: false) == "a+b")
        #expect(PercentEncoding.decode("%zz", plusIsSpace: false) == nil)
        #expect(PercentEncoding.decode("%C3", plusIsSpace: false) == nil)
    }
}
