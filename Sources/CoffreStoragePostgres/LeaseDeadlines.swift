import Synchronization

/// One operation's wait for a pooled connection: settled once, by the connection arriving, by the wait failing, or
/// by its deadline passing, whichever comes first.
final class Lease: Sendable {
    enum Outcome { case waiting, acquired, abandoned, expired }

    let deadline: ContinuousClock.Instant
    private let state = Mutex<(outcome: Outcome, cancel: (@Sendable () -> Void)?)>((.waiting, nil))

    init(deadline: ContinuousClock.Instant) { self.deadline = deadline }

    var outcome: Outcome { state.withLock { $0.outcome } }

    /// What expiry cancels (the task that waits for the connection).
    func onExpiry(_ cancel: @escaping @Sendable () -> Void) { state.withLock { $0.cancel = cancel } }

    /// Settles a waiting lease as `outcome` (not `.expired`: see `expire`); false if it was settled already.
    func settle(_ outcome: Outcome) -> Bool {
        state.withLock { state in
            guard state.outcome == .waiting else { return false }
            state.outcome = outcome
            return true
        }
    }

    /// Settles a waiting lease as expired and cancels its wait.
    func expire() {
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.outcome == .waiting else { return nil }
            state.outcome = .expired
            return state.cancel
        }
        cancel?()
    }
}

/// Expires leases that wait past their deadline, with one timer for all of them: a task, started when there is
/// something to watch and ended when there is nothing left, looks at the waiting leases every `interval`, instead
/// of a timer per lease (which cost more than the lease itself when connections are free).
final class LeaseDeadlines: Sendable {
    private let interval: Duration
    private let state = Mutex<(waiting: [Lease], watching: Bool)>(([], false))

    init(interval: Duration = .milliseconds(50)) { self.interval = interval }

    func watch(_ lease: Lease) {
        let start = state.withLock { state -> Bool in
            state.waiting.append(lease)
            defer { state.watching = true }
            return !state.watching
        }
        if start { Task { await self.watchUntilIdle() } }
    }

    private func watchUntilIdle() async {
        while true {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let (expired, idle) = state.withLock { state -> ([Lease], Bool) in
                state.waiting.removeAll { $0.outcome != .waiting }
                let expired = state.waiting.filter { $0.deadline <= now }
                state.waiting.removeAll { $0.deadline <= now }
                if state.waiting.isEmpty { state.watching = false }
                return (expired, state.waiting.isEmpty)
            }
            for lease in expired { lease.expire() }
            if idle { return }
        }
    }
}
