import CoffreModel
import Testing

@Suite struct TimeTravelTests {
    let real = ManualClock(1_800_000_000)

    @Test func shiftsMoveTheServerAndOneVaultOnTopOfIt() throws {
        let clock = TimeTravelClock(base: real)
        let (a, b) = (try VaultName("alpha"), try VaultName("bravo"))
        #expect(clock.now == real.now && clock.now(in: a) == real.now && clock.latest == real.now)
        clock.shift(by: 3 * Seconds.day)
        clock.shift(by: 3600, vault: a)
        #expect(clock.now == real.now + 3 * Seconds.day)
        #expect(clock.now(in: a) == real.now + 3 * Seconds.day + 3600)
        #expect(clock.now(in: b) == clock.now)
        #expect(clock.latest == clock.now(in: a))
        // Real time runs on under the shifts.
        real.advance(seconds: 10)
        #expect(clock.now(in: a) == real.now + 3 * Seconds.day + 3600)
        // Vault names are case-insensitive.
        #expect(clock.now(in: try VaultName("ALPHA")) == clock.now(in: a))
    }

    @Test func setPutsTheClockAtATimeFromWhichItRunsOn() throws {
        let clock = TimeTravelClock(base: real)
        let vault = try VaultName("alpha")
        clock.shift(by: 100)
        clock.set(to: 2_000_000_000, vault: vault)
        #expect(clock.now(in: vault) == 2_000_000_000)
        #expect(clock.now == real.now + 100)
        real.advance(seconds: 5)
        #expect(clock.now(in: vault) == 2_000_000_005)
        clock.set(to: 1_900_000_000)
        #expect(clock.now == 1_900_000_000)
    }

    @Test func resetForgetsOneVaultOrEverything() throws {
        let clock = TimeTravelClock(base: real)
        let (a, b) = (try VaultName("alpha"), try VaultName("bravo"))
        clock.shift(by: 50)
        clock.shift(by: 10, vault: a)
        clock.shift(by: 20, vault: b)
        clock.reset(vault: a)
        #expect(clock.shifts == ClockShifts(server: 50, vaults: ["bravo": 20]))
        clock.reset()
        #expect(clock.shifts == ClockShifts())
        #expect(clock.now(in: b) == real.now)
    }

    @Test func aVaultShiftedBackDoesNotHoldBackTheLatestTime() throws {
        let clock = TimeTravelClock(base: real)
        clock.shift(by: -Seconds.day, vault: try VaultName("alpha"))
        #expect(clock.latest == real.now)
        // A vault moved back to zero leaves the table.
        clock.shift(by: Seconds.day, vault: try VaultName("alpha"))
        #expect(clock.shifts.vaults.isEmpty)
    }

    @Test func everyChangeIsCountedSoThatBackgroundServicesWake() {
        let clock = TimeTravelClock(base: real)
        let before = clock.generation
        clock.shift(by: 1)
        clock.reset()
        #expect(clock.generation == before + 2)
    }

    @Test func aPlainClockIsTheSameInEveryVault() throws {
        #expect(real.now(in: try VaultName("alpha")) == real.now)
        #expect(real.latest == real.now)
    }
}
