import CoffreStorage
import Testing

@testable import CoffreStoragePostgres

/// The storage's readiness without I/O: waiters are names.
@Suite struct ReadinessStateMachineTests {
    typealias Machine = ReadinessStateMachine<Int, String>

    static let stopped = StorageError.unavailable("the PostgreSQL storage has stopped")

    static func parkedID(_ waiter: String, in machine: inout Machine) -> Int? {
        guard case .park(let id) = machine.arrive(), case .parked = machine.park(waiter, id: id, cancelled: false) else { return nil }
        return id
    }

    @Test func waitersParkWhileStartingAndPassOnceReady() {
        var machine = Machine()
        #expect(Self.parkedID("a", in: &machine) != nil)
        #expect(Self.parkedID("b", in: &machine) != nil)
        #expect(Set(machine.open(1)) == ["a", "b"])
        guard case .proceed(1) = machine.arrive() else {
            Issue.record("ready: pass, with the value")
            return
        }
    }

    /// The server gate: withdrawn while no server is chosen, opened again with the next one.
    @Test func aWithdrawnGateParksAgainUntilOpenedWithANewValue() {
        var machine = Machine()
        _ = machine.open(1)
        machine.withdraw()
        #expect(Self.parkedID("a", in: &machine) != nil)
        #expect(machine.open(2) == ["a"])
        guard case .proceed(2) = machine.arrive() else {
            Issue.record("reopened: pass, with the new value")
            return
        }
        _ = machine.close(Self.stopped)
        machine.withdraw()
        #expect(machine.open(3).isEmpty)
        guard case .fail(Self.stopped) = machine.arrive() else {
            Issue.record("stopped stays stopped")
            return
        }
    }

    @Test func closingFailsTheParkedAndEveryLaterWaiterAndIsFinal() {
        var machine = Machine()
        #expect(Self.parkedID("a", in: &machine) != nil)
        #expect(machine.close(Self.stopped) == ["a"])
        guard case .fail(Self.stopped) = machine.arrive() else {
            Issue.record("stopped: fail")
            return
        }
        #expect(machine.open(1).isEmpty)
        #expect(machine.close(.unavailable("another reason")).isEmpty)
        guard case .fail(Self.stopped) = machine.arrive() else {
            Issue.record("the gate stays stopped, for the first reason")
            return
        }
    }

    @Test func aGateThatMovesBetweenArrivingAndParkingResumesTheWaiterAtOnce() {
        var opened = Machine()
        guard case .park(let id) = opened.arrive() else {
            Issue.record("a starting gate parks")
            return
        }
        _ = opened.open(1)
        guard case .resume("a", .success(1)) = opened.park("a", id: id, cancelled: false) else {
            Issue.record("opened meanwhile: resume")
            return
        }
        var closed = Machine()
        guard case .park(let closedID) = closed.arrive() else {
            Issue.record("a starting gate parks")
            return
        }
        _ = closed.close(Self.stopped)
        guard case .resume("a", .failure) = closed.park("a", id: closedID, cancelled: false) else {
            Issue.record("closed meanwhile: fail")
            return
        }
    }

    @Test func aWaitCancelledBeforeOrAfterParkingEndsAndIsNotResumedTwice() {
        var machine = Machine()
        guard case .park(let early) = machine.arrive() else {
            Issue.record("a starting gate parks")
            return
        }
        guard case .resume("early", .failure(let error)) = machine.park("early", id: early, cancelled: true) else {
            Issue.record("a wait cancelled before parking ends at once")
            return
        }
        #expect(error is CancellationError)
        #expect(machine.cancel(early) == nil)
        guard let late = Self.parkedID("late", in: &machine) else {
            Issue.record("a starting gate parks")
            return
        }
        #expect(machine.cancel(late) == "late")
        #expect(machine.open(1).isEmpty)
        #expect(machine.cancel(late) == nil)
    }
}
