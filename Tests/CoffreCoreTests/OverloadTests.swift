import CoffreCore
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import Testing

/// The bounds that hold under overload: per-vault request windows (pure, at chosen instants) and the software custody's
/// queue, which refuses past its capacity instead of growing.
@Suite struct OverloadTests {
    typealias Machine = RequestWindowStateMachine

    static let start = ContinuousClock.now

    @Test func aVaultGetsItsLimitPerWindowThenWaitsForTheWindowToEnd() {
        var machine = Machine(limit: 3, window: .seconds(10))
        for offset in 0..<3 { #expect(machine.admit("a", at: Self.start + .seconds(offset)) == .admit) }
        #expect(machine.admit("a", at: Self.start + .milliseconds(4_500)) == .throttle(retryAfter: .milliseconds(5_500)))
        #expect(machine.admit("a", at: Self.start + .seconds(10)) == .admit)
        #expect(machine.admit("a", at: Self.start + .seconds(11)) == .admit)
    }

    @Test func eachVaultHasItsOwnWindow() {
        var machine = Machine(limit: 1, window: .seconds(10))
        #expect(machine.admit("a", at: Self.start) == .admit)
        #expect(machine.admit("b", at: Self.start + .seconds(1)) == .admit)
        #expect(machine.admit("a", at: Self.start + .seconds(2)) == .throttle(retryAfter: .seconds(8)))
        #expect(machine.admit("b", at: Self.start + .seconds(2)) == .throttle(retryAfter: .seconds(9)))
    }

    @Test func endedWindowsAreDroppedOnceManyVaultsAreTracked() {
        var machine = Machine(limit: 1, window: .seconds(10))
        for index in 0..<1024 { _ = machine.admit("vault\(index)", at: Self.start) }
        #expect(machine.trackedVaults == 1024)
        _ = machine.admit("late", at: Self.start + .seconds(10))
        #expect(machine.trackedVaults == 1)
    }

    @Test func theLimiterRefusesWithWholeSecondsToWait() throws {
        let limiter = VaultRequestLimiter(limit: 1, window: .seconds(10))
        try limiter.admit("a")
        #expect(throws: RequestLimitExceeded.self) { try limiter.admit("a") }
        do {
            try limiter.admit("a")
        } catch {
            #expect((1...10).contains(error.retryAfter) && error.limit == 1)
        }
    }

    @Test func softwareCustodyRefusesHeavyOperationsPastItsCapacity() async throws {
        let rsa = CustodyKey.software(try KeyMaterial.generate(.rsa, size: 2048))
        let digest = Digest.sha256([1, 2, 3])
        await #expect(throws: CoffreError.self) { try await SoftwareCustody(capacity: 0).sign(rsa, algorithm: "RS256", digest: digest) }
        // Light operations do not go through the queue, so they are not refused.
        let ec = CustodyKey.software(try KeyMaterial.generate(.ec, curve: .p256))
        _ = try await SoftwareCustody(capacity: 0).sign(ec, algorithm: "ES256", digest: digest)
        // An operation gives its place back when it ends.
        let custody = SoftwareCustody(capacity: 1)
        for _ in 0..<3 { _ = try await custody.sign(rsa, algorithm: "RS256", digest: digest) }
    }
}
