/// What an operation does after a failed attempt, without I/O: it runs again after a conflict (up to `maxAttempts`
/// attempts in all, each after a backoff) or at once after a lost connection (up to `maxReconnects` times: the pool may
/// hold several dead connections after a restart); otherwise it fails, with the storage error of a PostgreSQL failure
/// and with any other error unchanged.
struct RetryStateMachine {
    static let maxReconnects = 3

    let maxAttempts: Int
    /// The attempts made so far, the running one included.
    private var attempts = 1
    private var reconnects = 0

    init(maxAttempts: Int) { self.maxAttempts = maxAttempts }

    enum Action {
        /// Wait for the backoff after this many attempts, then run again.
        case backOffAndRetry(afterAttempt: Int)
        case retry
        case fail(any Error)
    }

    mutating func attemptFailed(_ error: any Error) -> Action {
        guard let failure = PostgresFailure(classifying: error) else { return .fail(error) }
        switch failure.kind {
        case .conflict where attempts < maxAttempts:
            defer { attempts += 1 }
            return .backOffAndRetry(afterAttempt: attempts)
        case .connectionLost where reconnects < Self.maxReconnects:
            reconnects += 1
            attempts += 1
            return .retry
        default:
            return .fail(failure.error)
        }
    }
}
