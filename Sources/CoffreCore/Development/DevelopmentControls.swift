import CoffreModel

/// The controls of development mode (`coffre serve --dev`): time travel and fault injection. A server started
/// without `--dev` has none, and its management API refuses them.
public struct DevelopmentControls: Sendable {
    /// The clock of every vault's time-driven behaviour.
    public let clock: TimeTravelClock
    public let faults: FaultInjector

    public init(clock: TimeTravelClock, faults: FaultInjector) {
        self.clock = clock
        self.faults = faults
    }

    /// Faults for the data plane's operations (names as the audit log writes them).
    public static func dataPlane(clock: TimeTravelClock) -> DevelopmentControls {
        let operations =
            VaultOperation.secretOperations + VaultOperation.keyOperations + VaultOperation.certificateOperations
            + VaultOperation.storageOperations + [.randomBytes]
        return DevelopmentControls(clock: clock, faults: FaultInjector(operations: operations.map(\.name)))
    }
}

/// What `coffre clock show` prints: real time, and each shifted clock.
public struct ClockStatus: Sendable, Equatable {
    public struct Shifted: Sendable, Equatable {
        /// nil for the whole server.
        public var vault: VaultName?
        public var offset: Int64
        public var now: Int64
    }

    public var realTime: Int64
    public var server: Shifted
    public var vaults: [Shifted]
}

extension ServerAdministration {
    /// The development controls, or a refusal for a server started without `--dev`.
    func developmentControls() throws -> DevelopmentControls {
        guard let development else {
            throw CoffreError.forbidden(
                .developmentModeRequired,
                message: "Time travel and fault injection are development controls: this server was not started with `coffre serve --dev`.")
        }
        return development
    }

    // MARK: - Time travel

    public func clockStatus() throws -> ClockStatus {
        let clock = try developmentControls().clock
        let shifts = clock.shifts
        let real = clock.base.now
        return ClockStatus(
            realTime: real, server: .init(vault: nil, offset: shifts.server, now: real + shifts.server),
            vaults: try shifts.vaults.keys.sorted().map { name in
                let vault = try VaultName(name)
                return .init(vault: vault, offset: shifts.offset(of: vault), now: real + shifts.offset(of: vault))
            })
    }

    /// Moves the clock of the server (or of one existing vault) by `seconds`.
    public func shiftClock(by seconds: Int64, vault: VaultName?) async throws -> ClockStatus {
        let clock = try developmentControls().clock
        if let vault { _ = try await vaults.get(vault) }
        clock.shift(by: seconds, vault: vault)
        return try clockStatus()
    }

    /// Sets the clock of the server (or of one existing vault) to `time` (seconds since 1970).
    public func setClock(to time: Int64, vault: VaultName?) async throws -> ClockStatus {
        let clock = try developmentControls().clock
        guard time >= 0 else { throw CoffreError.badParameter("The time must be after 1970-01-01T00:00:00Z.") }
        if let vault { _ = try await vaults.get(vault) }
        clock.set(to: time, vault: vault)
        return try clockStatus()
    }

    /// Back to real time for one vault, or for the server and every vault.
    public func resetClock(vault: VaultName?) throws -> ClockStatus {
        try developmentControls().clock.reset(vault: vault)
        return try clockStatus()
    }

    // MARK: - Faults

    public func faults() throws -> [FaultRule] { try developmentControls().faults.list }

    /// Puts a fault in force; a named vault must exist.
    public func addFault(_ spec: FaultSpec) async throws -> FaultRule {
        let faults = try developmentControls().faults
        if let vault = spec.vault { _ = try await vaults.get(try VaultName(vault)) }
        return try faults.add(spec)
    }

    public func removeFault(id: String) throws -> FaultRule { try developmentControls().faults.remove(id: id) }

    /// Takes every fault out of force; returns those that were.
    public func clearFaults() throws -> [FaultRule] { try developmentControls().faults.clear() }
}
