import Synchronization

/// How far time travel has moved the clock: an offset for the whole server and, on top of it, one per vault.
public struct ClockShifts: Sendable, Equatable {
    /// Seconds added to real time for the whole server.
    public var server: Int64 = 0
    /// Seconds added, on top of `server`, for one vault (by its lower-case name).
    public var vaults: [String: Int64] = [:]

    public init(server: Int64 = 0, vaults: [String: Int64] = [:]) {
        self.server = server
        self.vaults = vaults
    }

    /// The offset of a vault: the server's plus its own.
    public func offset(of vault: VaultName) -> Int64 { server + (vaults[vault.value] ?? 0) }

    /// The largest offset of any vault (the server's when no vault moved further).
    public var largest: Int64 { server + max(0, vaults.values.max() ?? 0) }
}

/// The clock Core services use: a real clock, moved (in development mode only) for the whole server or one vault.
///
/// `coffre clock shift|set|reset` change the shifts; every time-driven behaviour of a vault (dates in answers, nbf/exp,
/// scheduled purge, rotation policies, certificate lifetime actions) reads `now(in:)`. Tokens are verified on the
/// real clock, never this one. Background services watch ``generation`` so that a shift wakes them.
public final class TimeTravelClock: WallClock {
    private struct State {
        var shifts = ClockShifts()
        var generation = 0
    }

    /// The real clock.
    public let base: any WallClock
    private let state = Mutex(State())

    public init(base: any WallClock = SystemClock()) { self.base = base }

    public var now: Int64 { base.now + shifts.server }

    public func now(in vault: VaultName) -> Int64 { base.now + shifts.offset(of: vault) }

    public var latest: Int64 { base.now + shifts.largest }

    public var shifts: ClockShifts { state.withLock { $0.shifts } }

    /// Moves the server's clock (or one vault's) by `seconds` (negative: back).
    public func shift(by seconds: Int64, vault: VaultName? = nil) {
        change { shifts in
            if let vault { shifts.vaults[vault.value, default: 0] += seconds } else { shifts.server += seconds }
        }
    }

    /// Sets the server's clock (or one vault's) to `time` (seconds since 1970); it runs on from there.
    public func set(to time: Int64, vault: VaultName? = nil) {
        let real = base.now
        change { shifts in
            if let vault { shifts.vaults[vault.value] = time - real - shifts.server } else { shifts.server = time - real }
        }
    }

    /// Back to real time: one vault's own shift, or (no vault) every shift.
    public func reset(vault: VaultName? = nil) {
        change { shifts in
            if let vault { shifts.vaults[vault.value] = nil } else { shifts = ClockShifts() }
        }
    }

    /// Counts the changes of the shifts: a background service that saw it change runs at once.
    public var generation: Int { state.withLock { $0.generation } }

    private func change(_ body: (inout ClockShifts) -> Void) {
        state.withLock { state in
            body(&state.shifts)
            state.shifts.vaults = state.shifts.vaults.filter { $0.value != 0 }
            state.generation += 1
        }
    }
}
