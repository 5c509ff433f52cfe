import CoffreStorage
import Synchronization

/// What an optimistic transaction read (a key's value, or `nil` for an absent key) and would write (`nil`: delete).
struct Change: Sendable {
    var reads: [String: [UInt8]?]
    var writes: [String: [UInt8]?]
}

/// Group commit for optimistic transactions: their ends (see `OptimisticTransaction`) go to PostgreSQL together, in
/// one call of `coffre_apply_batch` and one commit, instead of one call and one commit each.
///
/// At most `maxInFlight` calls run at once. A change that finds them all busy waits; when a call returns, the changes
/// that waited meanwhile leave together, sent by one of them (with its `send`). Under light load a change is thus sent
/// at once, alone; under heavy load the batches grow by themselves.
final class ApplyQueue: Sendable {
    private struct Waiter: Sendable {
        var change: Change
        var continuation: CheckedContinuation<Turn, Never>
    }

    private enum Turn: Sendable {
        case applied(Bool)
        case failed(PostgresFailure)
        /// Send these changes (the receiver's own first).
        case lead([Waiter])
    }

    private let maxInFlight: Int
    private let state = Mutex<(inFlight: Int, waiting: [Waiter])>((0, []))

    init(maxInFlight: Int = 2) { self.maxInFlight = maxInFlight }

    /// Sends changes to PostgreSQL in one call (`KV.apply`): whether each applied.
    typealias Send = @Sendable ([Change]) async throws -> [Bool]

    /// Applies `change` if what it read is unchanged; returns whether it did. A lost connection fails with the outcome
    /// unknown, unless the change read nothing (applying the same writes again is then safe, so it may be retried).
    /// - Parameter send: how this caller sends a call when its turn comes.
    func apply(_ change: Change, send: @escaping Send) async throws -> Bool {
        let leadsAtOnce = state.withLock { state in
            guard state.inFlight < maxInFlight else { return false }
            state.inFlight += 1
            return true
        }
        let others: [Waiter]
        if leadsAtOnce {
            others = []
        } else {
            switch await wait(with: change) {
            case .applied(let applied): return applied
            case .failed(let failure): throw failure
            case .lead(let waiters): others = Array(waiters.dropFirst())
            }
        }
        defer { handOver() }
        let applied: [Bool]
        do {
            // The call carries other requests' changes: the sender's cancellation must not cut it short.
            let changes = [change] + others.map(\.change)
            applied = try await Task { try await send(changes) }.value
        } catch {
            let classified = PostgresFailure(classifying: error)
            let failure = classified ?? PostgresFailure(.connectionLost, .unavailable("the group commit was interrupted"))
            for waiter in others { waiter.continuation.resume(returning: .failed(Self.ending(failure, of: waiter.change, own: false))) }
            // The sender's own error passes through unchanged when it did not come from PostgreSQL.
            throw classified.map { Self.ending($0, of: change, own: true) } ?? error
        }
        for (waiter, applied) in zip(others, applied.dropFirst()) { waiter.continuation.resume(returning: .applied(applied)) }
        return applied[0]
    }

    /// Waits for the result of a call that carries `change`, or for the turn to send it (with the others that waited).
    private func wait(with change: Change) async -> Turn {
        await withCheckedContinuation { continuation in
            let leads = state.withLock { state in
                guard state.inFlight < maxInFlight else {
                    state.waiting.append(Waiter(change: change, continuation: continuation))
                    return false
                }
                state.inFlight += 1
                return true
            }
            if leads { continuation.resume(returning: .lead([Waiter(change: change, continuation: continuation)])) }
        }
    }

    /// Ends a call: the changes that waited meanwhile leave together, sent by the first of them; else a slot frees.
    private func handOver() {
        let next = state.withLock { state -> [Waiter] in
            defer { state.waiting.removeAll() }
            if state.waiting.isEmpty { state.inFlight -= 1 }
            return state.waiting
        }
        next.first?.continuation.resume(returning: .lead(next))
    }

    /// How a failed call ends for one of its changes. Lost on the way, the call may have committed: a change that read
    /// nothing may be applied again (the same writes, later); any other must not run twice. Only the sender's own
    /// connection broke.
    private static func ending(_ failure: PostgresFailure, of change: Change, own: Bool) -> PostgresFailure {
        var ending = change.reads.isEmpty ? failure : failure.atCommit
        if !own { ending.connectionBroke = false }
        return ending
    }
}
