import CoffreStorage
import Synchronization

/// Holds operations back until something they need is ready (the migrated schema; a chosen server's client), hands
/// them its value, and fails them fast once the storage has stopped: the I/O owner of `ReadinessStateMachine`, holding
/// the waiters' continuations.
final class ReadinessGate<Value: Sendable>: Sendable {
    private let machine = Mutex(ReadinessStateMachine<Value, CheckedContinuation<Value, any Error>>())

    /// Returns the value once the gate is open; throws the stop reason once it is closed, or `CancellationError`.
    func wait() async throws -> Value {
        let id: Int
        switch machine.withLock({ $0.arrive() }) {
        case .proceed(let value): return value
        case .fail(let reason): throw reason
        case .park(let parkID): id = parkID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                // Cancellation is checked under the lock that `onCancel` takes too, so it is never missed.
                let action = machine.withLock { $0.park(continuation, id: id, cancelled: Task.isCancelled) }
                if case .resume(let waiter, let result) = action { waiter.resume(with: result) }
            }
        } onCancel: {
            machine.withLock { $0.cancel(id) }?.resume(throwing: CancellationError())
        }
    }

    /// Opens the gate with `value` (replacing the one it had).
    func open(_ value: Value) {
        for waiter in machine.withLock({ $0.open(value) }) { waiter.resume(returning: value) }
    }

    /// Makes later waiters wait again, until the next `open`.
    func withdraw() {
        machine.withLock { $0.withdraw() }
    }

    func close(_ reason: StorageError) {
        for waiter in machine.withLock({ $0.close(reason) }) { waiter.resume(throwing: reason) }
    }
}

extension ReadinessGate where Value == Void {
    func open() { open(()) }
}

/// Readiness without I/O: waiting (operations park) ⇄ ready with a value (they pass, with it) → stopped (they fail),
/// stopped being final. A waiter is parked under an id, so that its cancellation can find it.
struct ReadinessStateMachine<Value, Waiter> {
    private enum Phase {
        case waiting
        case ready(Value)
        case stopped(StorageError)
    }

    private var phase = Phase.waiting
    private var waiters: [Int: Waiter] = [:]
    private var lastID = 0

    enum ArriveAction {
        case proceed(Value)
        case fail(StorageError)
        /// Park the waiter under this id.
        case park(id: Int)
    }

    mutating func arrive() -> ArriveAction {
        switch phase {
        case .ready(let value): return .proceed(value)
        case .stopped(let reason): return .fail(reason)
        case .waiting:
            lastID += 1
            return .park(id: lastID)
        }
    }

    enum ParkAction {
        /// Parked until the gate opens or closes, or the wait is cancelled.
        case parked
        /// Resume the waiter at once (the gate moved since `arrive`, or the wait was cancelled before parking).
        case resume(Waiter, Result<Value, any Error>)
    }

    mutating func park(_ waiter: Waiter, id: Int, cancelled: Bool) -> ParkAction {
        switch phase {
        case .ready(let value): return .resume(waiter, .success(value))
        case .stopped(let reason): return .resume(waiter, .failure(reason))
        case .waiting:
            if cancelled { return .resume(waiter, .failure(CancellationError())) }
            waiters[id] = waiter
            return .parked
        }
    }

    /// The wait `id` was cancelled: its waiter, to resume with `CancellationError`, if still parked.
    mutating func cancel(_ id: Int) -> Waiter? {
        waiters.removeValue(forKey: id)
    }

    /// Ready with `value`: the parked waiters, to resume with it. Opening a stopped gate changes nothing.
    mutating func open(_ value: Value) -> [Waiter] {
        if case .stopped = phase { return [] }
        phase = .ready(value)
        return takeWaiters()
    }

    /// No longer ready: later arrivals park again. A waiting or stopped gate stays as it is.
    mutating func withdraw() {
        if case .ready = phase { phase = .waiting }
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
