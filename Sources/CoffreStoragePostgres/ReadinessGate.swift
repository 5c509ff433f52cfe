import CoffreStorage
import Synchronization

/// Holds operations back until `run()` has migrated the schema, and fails them fast once the storage has stopped:
/// the I/O owner of `ReadinessStateMachine`, holding the waiters' continuations.
final class ReadinessGate: Sendable {
    private let machine = Mutex(ReadinessStateMachine<CheckedContinuation<Void, any Error>>())

    /// Returns once the gate is open; throws the stop reason once it is closed, or `CancellationError`.
    func wait() async throws {
        let id: Int
        switch machine.withLock({ $0.arrive() }) {
        case .proceed: return
        case .fail(let reason): throw reason
        case .park(let parkID): id = parkID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Cancellation is checked under the lock that `onCancel` takes too, so it is never missed.
                let action = machine.withLock { $0.park(continuation, id: id, cancelled: Task.isCancelled) }
                if case .resume(let waiter, let result) = action { waiter.resume(with: result) }
            }
        } onCancel: {
            machine.withLock { $0.cancel(id) }?.resume(throwing: CancellationError())
        }
    }

    func open() {
        for waiter in machine.withLock({ $0.open() }) { waiter.resume() }
    }

    func close(_ reason: StorageError) {
        for waiter in machine.withLock({ $0.close(reason) }) { waiter.resume(throwing: reason) }
    }
}

/// The storage's readiness without I/O: starting (operations wait) → ready (they pass) → stopped (they fail), stopped
/// being final. A waiter is parked under an id, so that its cancellation can find it.
struct ReadinessStateMachine<Waiter> {
    private enum Phase {
        case starting
        case ready
        case stopped(StorageError)
    }

    private var phase = Phase.starting
    private var waiters: [Int: Waiter] = [:]
    private var lastID = 0

    enum ArriveAction {
        case proceed
        case fail(StorageError)
        /// Park the waiter under this id.
        case park(id: Int)
    }

    mutating func arrive() -> ArriveAction {
        switch phase {
        case .ready: return .proceed
        case .stopped(let reason): return .fail(reason)
        case .starting:
            lastID += 1
            return .park(id: lastID)
        }
    }

    enum ParkAction {
        /// Parked until the gate opens or closes, or the wait is cancelled.
        case parked
        /// Resume the waiter at once (the gate moved since `arrive`, or the wait was cancelled before parking).
        case resume(Waiter, Result<Void, any Error>)
    }

    mutating func park(_ waiter: Waiter, id: Int, cancelled: Bool) -> ParkAction {
        switch phase {
        case .ready: return .resume(waiter, .success(()))
        case .stopped(let reason): return .resume(waiter, .failure(reason))
        case .starting:
            if cancelled { return .resume(waiter, .failure(CancellationError())) }
            waiters[id] = waiter
            return .parked
        }
    }

    /// The wait `id` was cancelled: its waiter, to resume with `CancellationError`, if still parked.
    mutating func cancel(_ id: Int) -> Waiter? {
        waiters.removeValue(forKey: id)
    }

    /// The schema is ready: the parked waiters, to resume. Opening a stopped gate changes nothing.
    mutating func open() -> [Waiter] {
        guard case .starting = phase else { return [] }
        phase = .ready
        return takeWaiters()
    }

    /// The storage stopped: the parked waiters, to fail with `reason`. The first reason stays.
    mutating func close(_ reason: StorageError) -> [Waiter] {
        if case .stopped = phase { return [] }
        phase = .stopped(reason)
        return takeWaiters()
    }

    private mutating func takeWaiters() -> [Waiter] {
        defer { waiters = [:] }
        return Array(waiters.values)
    }
}
