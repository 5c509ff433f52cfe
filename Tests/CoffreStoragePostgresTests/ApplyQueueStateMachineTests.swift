import CoffreStorage
import Testing

@testable import CoffreStoragePostgres

/// The PostgreSQL group commit without I/O: members are names, calls end as the tests say.
@Suite struct ApplyQueueStateMachineTests {
    typealias Machine = ApplyQueueStateMachine<String>

    /// Two calls in flight, as `ApplyQueue` runs by default.
    static func busyMachine() -> Machine {
        var machine = Machine(maxInFlight: 2)
        for _ in 0..<2 {
            guard case .sendAlone = machine.arrive() else { preconditionFailure("free slots") }
        }
        return machine
    }

    static func park(_ member: String, in machine: inout Machine) -> Bool {
        guard case .park = machine.arrive(), case .wait = machine.park(member) else { return false }
        return true
    }

    @Test func aChangeIsSentAtOnceAloneWhileASlotIsFree() {
        var machine = Machine(maxInFlight: 2)
        guard case .sendAlone = machine.arrive() else {
            Issue.record("a free slot sends at once")
            return
        }
        guard case .none = machine.callEnded() else {
            Issue.record("nobody waited: the slot frees")
            return
        }
    }

    @Test func changesArrivingWhileCallsAreInFlightLeaveTogetherInTheNextCall() {
        var machine = Self.busyMachine()
        #expect(Self.park("a", in: &machine))
        #expect(Self.park("b", in: &machine))
        #expect(Self.park("c", in: &machine))
        guard case .send(let next) = machine.callEnded() else {
            Issue.record("the waiting changes leave when a call ends")
            return
        }
        #expect(next == ["a", "b", "c"])
        // That call took over the slot: a newcomer still waits, and leaves with the next call that ends.
        #expect(Self.park("d", in: &machine))
        guard case .send(let after) = machine.callEnded() else {
            Issue.record("d leaves next")
            return
        }
        #expect(after == ["d"])
        guard case .none = machine.callEnded(), case .none = machine.callEnded() else {
            Issue.record("then both slots free")
            return
        }
        guard case .sendAlone = machine.arrive() else {
            Issue.record("and the next change is sent at once")
            return
        }
    }

    @Test func aSlotFreedBetweenArrivingAndParkingIsTaken() {
        var machine = Self.busyMachine()
        guard case .park = machine.arrive() else {
            Issue.record("full")
            return
        }
        _ = machine.callEnded()
        guard case .send(let member) = machine.park("a") else {
            Issue.record("the freed slot is taken, not left while a waits")
            return
        }
        #expect(member == "a")
    }

    @Test func stoppingFailsTheWaitingChangesAndRefusesNewOnesWhileCallsInFlightEndAsTheyDo() {
        var machine = Self.busyMachine()
        #expect(Self.park("a", in: &machine))
        #expect(Self.park("b", in: &machine))
        let stopped = StorageError.unavailable("the PostgreSQL storage has stopped")
        #expect(machine.stop(stopped) == ["a", "b"])
        guard case .fail(let reason) = machine.arrive() else {
            Issue.record("a stopped queue refuses")
            return
        }
        #expect(reason == stopped)
        guard case .fail("c", stopped) = machine.park("c") else {
            Issue.record("a change parking after the stop fails too")
            return
        }
        guard case .none = machine.callEnded(), case .none = machine.callEnded() else {
            Issue.record("the calls in flight end; nobody is left to send")
            return
        }
    }

    // MARK: What each transaction is told

    static let reader = Change(reads: ["k": [1]], writes: ["k": [2]])
    static let blindWriter = Change(reads: [:], writes: ["k": [3]])

    static func failure(_ outcome: ApplyOutcome) -> PostgresFailure? {
        guard case .failed(let error) = outcome else { return nil }
        return error as? PostgresFailure
    }

    @Test func aCallThatReturnsTellsEachChangeWhetherItApplied() throws {
        let outcomes = ApplyOutcome.of(.success([true, false]), for: [Self.reader, Self.reader])
        #expect(try outcomes.map { try $0.get() } == [true, false])
    }

    @Test func aConnectionLostMidCallLeavesReadersWithAnUnknownOutcomeAndBlindWritersRetrying() throws {
        let lost = PostgresFailure(sqlState: "08006")
        let outcomes = ApplyOutcome.of(.failure(lost), for: [Self.reader, Self.blindWriter, Self.reader])
        let sender = try #require(Self.failure(outcomes[0]))
        #expect(sender.kind == .final && sender.connectionBroke)
        #expect(sender.error == .unavailable("the connection to PostgreSQL was lost during COMMIT; the transaction may or may not have been applied"))
        let blind = try #require(Self.failure(outcomes[1]))
        #expect(blind.kind == .connectionLost && !blind.connectionBroke)
        let otherReader = try #require(Self.failure(outcomes[2]))
        #expect(otherReader.kind == .final && !otherReader.connectionBroke)
    }

    @Test func aCallNeverSentIsRetriedByEveryChange() throws {
        let outcomes = ApplyOutcome.of(.failure(PostgresFailure.closedBeforeSending), for: [Self.reader, Self.reader])
        for outcome in outcomes {
            #expect(try #require(Self.failure(outcome)).kind == .connectionLost)
        }
    }

    @Test func aSerializationFailureMakesEveryChangeRunAgain() throws {
        let outcomes = ApplyOutcome.of(.failure(PostgresFailure(sqlState: "40001")), for: [Self.reader, Self.blindWriter])
        for outcome in outcomes {
            #expect(try #require(Self.failure(outcome)).kind == .conflict)
        }
    }

    @Test func theSendersOwnErrorPassesThroughAndTheOthersAreToldTheCallWasInterrupted() throws {
        struct SendersOwn: Error {}
        let outcomes = ApplyOutcome.of(.failure(SendersOwn()), for: [Self.reader, Self.reader, Self.blindWriter])
        guard case .failed(let own) = outcomes[0] else {
            Issue.record("the sender fails")
            return
        }
        #expect(own is SendersOwn)
        #expect(try #require(Self.failure(outcomes[1])).kind == .final)
        #expect(try #require(Self.failure(outcomes[2])).kind == .connectionLost)
    }
}
