import CoffreStorage
import Synchronization

/// What an optimistic transaction read (a key's value, or `nil` for an absent key) and would write (`nil`: delete).
struct Change: Sendable {
    var reads: [String: [UInt8]?]
    var writes: [String: [UInt8]?]
}

/// Group commit for optimistic transactions: their ends (see `OptimisticTransaction`) go to PostgreSQL together, in
/// one call of `coffre_apply_batch` and one commit, instead of one call and one commit each. Under light load a change
/// is sent at once, alone; under heavy load the batches grow by themselves. `ApplyQueueStateMachine` decides who sends
/// what and when, and `ApplyOutcome` what each transaction is told; this class carries it out.
final class ApplyQueue: Sendable {
    private struct Waiter: Sendable {
        var change: Change
        var continuation: CheckedContinuation<Turn, Never>
    }

    private enum Turn: Sendable {
        case told(ApplyOutcome)
        /// Send these changes (the receiver's own first).
        case lead([Waiter])
    }

    private let machine: Mutex<ApplyQueueStateMachine<Waiter>>

    init(maxInFlight: Int = 2) { machine = Mutex(ApplyQueueStateMachine(maxInFlight: maxInFlight)) }

    /// Sends changes to PostgreSQL in one call (`KV.apply`): whether each applied.
    typealias Send = @Sendable ([Change]) async throws -> [Bool]

    /// Applies `change` if what it read is unchanged; returns whether it did. A lost connection fails with the outcome
    /// unknown, unless the change read nothing (applying the same writes again is then safe, so it may be retried).
    /// - Parameter send: how this caller sends a call when its turn comes.
    func apply(_ change: Change, send: @escaping Send) async throws -> Bool {
        let others: [Waiter]
        switch machine.withLock({ $0.arrive() }) {
        case .fail(let reason): throw reason
        case .sendAlone: others = []
        case .park:
            switch await wait(with: change) {
            case .told(let outcome): return try outcome.get()
            case .lead(let waiters): others = Array(waiters.dropFirst())
            }
        }
        defer { handOver() }
        let changes = [change] + others.map(\.change)
        // The call carries other requests' changes: the sender's cancellation must not cut it short.
        let result: Result<[Bool], any Error>
        do { result = .success(try await Task { try await send(changes) }.value) } catch { result = .failure(error) }
        let outcomes = ApplyOutcome.of(result, for: changes)
        for (waiter, outcome) in zip(others, outcomes.dropFirst()) { waiter.continuation.resume(returning: .told(outcome)) }
        return try outcomes[0].get()
    }

    /// Refuses new changes and fails the waiting ones with `reason` (the storage has stopped).
    func stop(_ reason: StorageError) {
        for waiter in machine.withLock({ $0.stop(reason) }) { waiter.continuation.resume(returning: .told(.failed(reason))) }
    }

    /// Waits for the result of a call that carries `change`, or for the turn to send it (with the others that waited).
    private func wait(with change: Change) async -> Turn {
        await withCheckedContinuation { continuation in
            switch machine.withLock({ $0.park(Waiter(change: change, continuation: continuation)) }) {
            case .wait: break
            case .send(let waiter): waiter.continuation.resume(returning: .lead([waiter]))
            case .fail(let waiter, let reason): waiter.continuation.resume(returning: .told(.failed(reason)))
            }
        }
    }

    /// Ends a call: the changes that waited meanwhile leave together, sent by the first of them; else a slot frees.
    private func handOver() {
        if case .send(let next) = machine.withLock({ $0.callEnded() }) { next.first?.continuation.resume(returning: .lead(next)) }
    }
}
