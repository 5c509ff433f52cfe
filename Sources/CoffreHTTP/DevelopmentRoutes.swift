import CoffreCore
import CoffreModel
import Hummingbird

/// The development controls of the management API (`coffre clock …`, `coffre faults …`): administrators only, and
/// refused by Core unless the server runs with `--dev`.
struct DevelopmentRoutes: Sendable {
    let administration: ServerAdministration

    struct ShiftClock: Decodable {
        var seconds: Int64
        var vault: String?
    }

    struct SetClock: Decodable {
        /// ISO 8601 (`2030-01-01T00:00:00Z`, `2030-01-01`) or seconds since 1970.
        var time: Time
        var vault: String?

        enum Time: Decodable {
            case seconds(Int64)
            case text(String)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let seconds = try? container.decode(Int64.self) {
                    self = .seconds(seconds)
                } else {
                    self = .text(try container.decode(String.self))
                }
            }
        }
    }

    struct ClockView: Encodable {
        struct Shifted: Encodable {
            var vault: String?
            var offsetSeconds: Int64
            var now: String
            var unixTime: Int64
        }
        var realTime: String
        var server: Shifted
        var vaults: [Shifted]
    }

    struct FaultView: Encodable {
        var id: String
        var vault: String?
        var operation: String?
        var status: Int?
        var retryAfter: Int?
        var rate: Double?
        var count: Int?
        var remaining: Int?
        var latencyMs: Int?
        var hits: Int
    }

    typealias Request = RouteRequest<ManagementRoutes.AdministratorScope>

    var routes: [Route<OperationName, ManagementRoutes.AdministratorScope>] {
        [
            Route(.get, "clock", "ClockGet") { _ in try view(try administration.clockStatus()) },
            Route(.post, "clock/shift", "ClockShift") {
                let shift = try $0.decode(ShiftClock.self)
                return try view(try await administration.shiftClock(by: shift.seconds, vault: try shift.vault.map(VaultName.init)))
            },
            Route(.put, "clock", "ClockSet") {
                let set = try $0.decode(SetClock.self)
                return try view(try await administration.setClock(to: try Self.seconds(set.time), vault: try set.vault.map(VaultName.init)))
            },
            Route(.delete, "clock", "ClockReset") { try view(try administration.resetClock(vault: try $0.query["vault"].map(VaultName.init))) },
            Route(.get, "faults", "FaultList") { _ in try JSON.response(try administration.faults().map(Self.view)) },
            Route(.post, "faults", "FaultAdd") {
                try JSON.response(Self.view(try await administration.addFault(try $0.decode(FaultSpec.self))), status: .created)
            },
            Route(.delete, "faults", "FaultClear") { _ in try JSON.response(try administration.clearFaults().map(Self.view)) },
            Route(.delete, "faults/{id}", "FaultRemove") { try JSON.response(Self.view(try administration.removeFault(id: $0.parameter("id")))) },
        ]
    }

    private func view(_ status: ClockStatus) throws -> Response {
        func shifted(_ clock: ClockStatus.Shifted) -> ClockView.Shifted {
            .init(vault: clock.vault?.value, offsetSeconds: clock.offset, now: ISOTime.format(clock.now), unixTime: clock.now)
        }
        return try JSON.response(
            ClockView(realTime: ISOTime.format(status.realTime), server: shifted(status.server), vaults: status.vaults.map(shifted)))
    }

    static func view(_ rule: FaultRule) -> FaultView {
        FaultView(
            id: rule.id, vault: rule.spec.vault, operation: rule.spec.operation, status: rule.spec.status, retryAfter: rule.spec.retryAfter,
            rate: rule.spec.rate, count: rule.spec.count, remaining: rule.remaining, latencyMs: rule.spec.latencyMilliseconds, hits: rule.hits)
    }

    /// Seconds since 1970 from a number or an ISO 8601 date or date-time.
    static func seconds(_ time: SetClock.Time) throws -> Int64 {
        switch time {
        case .seconds(let seconds): return seconds
        case .text(let text):
            guard let seconds = ISOTime.parse(text) else {
                throw CoffreError.badParameter("The time must be ISO 8601 (2030-01-01T00:00:00Z or 2030-01-01) or seconds since 1970.")
            }
            return seconds
        }
    }
}
