import CoffreStorage
import Synchronization

/// Holds operations back until `run()` has migrated the schema, and fails them fast once the storage has stopped.
final class ReadinessGate: Sendable {
    private enum Phase {
        case starting
        case ready
        case stopped(StorageError)
    }

    private struct State {
        var phase = Phase.starting
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Returns once the gate is open; throws the stop reason once it is closed, or `CancellationError`.
    func wait() async throws {
        let id = try state.withLock { state -> Int? in
            switch state.phase {
            case .ready: return nil
            case .stopped(let reason): throw reason
            case .starting:
                state.nextID += 1
                return state.nextID
            }
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = state.withLock { state -> Result<Void, any Error>? in
                    switch state.phase {
                    case .ready: return .success(())
                    case .stopped(let reason): return .failure(reason)
                    case .starting:
                        // Checked under the lock that `onCancel` takes too, so a cancellation is never missed.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.waiters[id] = continuation
                        return nil
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    func open() { settle(.ready) }

    func close(_ reason: StorageError) { settle(.stopped(reason)) }

    private func settle(_ phase: Phase) {
        let waiters = state.withLock { state in
            state.phase = phase
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            if case .stopped(let reason) = phase { waiter.resume(throwing: reason) } else { waiter.resume() }
        }
    }
}
