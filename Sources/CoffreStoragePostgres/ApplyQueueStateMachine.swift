import CoffreStorage

/// The PostgreSQL group commit without I/O: when a change is sent alone, when it waits to leave with others, who sends
/// the next call, and what each change's transaction is told when a call ends. `ApplyQueue` owns the callers'
/// continuations and feeds this machine their arrivals and the calls' results.
///
/// At most `maxInFlight` calls run at once. A change that finds them all busy waits; when a call ends, the changes
/// that waited meanwhile leave together in the next call, sent by the first of them. Once the storage has stopped, the
/// waiting changes fail with the stop reason (nothing was sent for them) and new ones are refused.
struct ApplyQueueStateMachine<Member> {
    private let maxInFlight: Int
    private var inFlight = 0
    private var waiting: [Member] = []
    private var stopped: StorageError?

    init(maxInFlight: Int) { self.maxInFlight = maxInFlight }

    enum ArriveAction {
        /// A call slot was free and is now the arrival's: send its change alone, at once.
        case sendAlone
        /// Every slot is busy: park the member (with `park`) until a call carries it.
        case park
        /// The storage has stopped.
        case fail(StorageError)
    }

    /// A change arrives (before its caller has anything to park).
    mutating func arrive() -> ArriveAction {
        if let stopped { return .fail(stopped) }
        guard inFlight < maxInFlight else { return .park }
        inFlight += 1
        return .sendAlone
    }

    enum ParkAction {
        /// A slot freed since `arrive`: the member sends its change alone after all.
        case send(Member)
        /// Parked: a later call carries it.
        case wait
        /// The storage stopped since `arrive`.
        case fail(Member, StorageError)
    }

    mutating func park(_ member: Member) -> ParkAction {
        if let stopped { return .fail(member, stopped) }
        guard inFlight < maxInFlight else {
            waiting.append(member)
            return .wait
        }
        inFlight += 1
        return .send(member)
    }

    enum CallEndedAction {
        /// Nobody waited: the slot is free.
        case none
        /// These waited: they leave together in the next call, which takes over the slot. The first sends it.
        case send([Member])
    }

    /// A call has ended (its members have been told their outcome).
    mutating func callEnded() -> CallEndedAction {
        guard !waiting.isEmpty else {
            inFlight -= 1
            return .none
        }
        defer { waiting.removeAll() }
        return .send(waiting)
    }

    /// The storage stops: the waiting members, to fail with `reason`. Calls in flight end as their sends do.
    mutating func stop(_ reason: StorageError) -> [Member] {
        stopped = stopped ?? reason
        defer { waiting.removeAll() }
        return waiting
    }
}

/// What a change's transaction is told when the call that carried it ends.
enum ApplyOutcome {
    /// Whether what it read was unchanged, so its writes applied.
    case applied(Bool)
    case failed(any Error)

    func get() throws -> Bool {
        switch self {
        case .applied(let applied): return applied
        case .failed(let error): throw error
        }
    }

    /// The outcome of each change of a call (the sender's first) from the call's `result`.
    ///
    /// Lost on the way, a call may have committed: a change that read nothing may be applied again (the same writes,
    /// later), so it keeps a retryable failure; any other must not run twice, and is told its outcome is unknown,
    /// unless the call was never sent (`PostgresFailure.unsent`). Only the sender's own connection broke. The sender's
    /// own error passes through unchanged when it did not come from PostgreSQL.
    static func of(_ result: Result<[Bool], any Error>, for changes: [Change]) -> [ApplyOutcome] {
        switch result {
        case .success(let applied):
            return applied.map { .applied($0) }
        case .failure(let error):
            let classified = PostgresFailure(classifying: error)
            let failure = classified ?? PostgresFailure(.connectionLost, .unavailable("the group commit was interrupted"))
            let sender = classified.map { ending($0, of: changes[0], own: true) } ?? error
            return [.failed(sender)] + changes.dropFirst().map { .failed(ending(failure, of: $0, own: false)) }
        }
    }

    private static func ending(_ failure: PostgresFailure, of change: Change, own: Bool) -> PostgresFailure {
        var ending = change.reads.isEmpty ? failure : failure.atCommit
        if !own { ending.connectionBroke = false }
        return ending
    }
}
