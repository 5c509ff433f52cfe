import CoffreStorage
import Testing

@testable import CoffreStoragePostgres

/// What an operation does after each failed attempt, without I/O.
@Suite struct RetryStateMachineTests {
    static let conflict = PostgresFailure(sqlState: "40001")
    static let lost = PostgresFailure(sqlState: "08006")

    @Test func conflictsAreRetriedWithBackoffUntilTheAttemptsRunOut() {
        var retries = RetryStateMachine(maxAttempts: 3)
        guard case .backOffAndRetry(1) = retries.attemptFailed(Self.conflict),
            case .backOffAndRetry(2) = retries.attemptFailed(Self.conflict),
            case .fail(let error) = retries.attemptFailed(Self.conflict)
        else {
            Issue.record("two retries after backoffs, then the storage error")
            return
        }
        #expect(error as? StorageError == Self.conflict.error)
    }

    @Test func aLostConnectionIsRetriedAtOnceThreeTimesAndTheseCountAsAttempts() {
        var retries = RetryStateMachine(maxAttempts: 5)
        for _ in 0..<3 {
            guard case .retry = retries.attemptFailed(Self.lost) else {
                Issue.record("a lost connection is retried at once")
                return
            }
        }
        guard case .fail(let error) = retries.attemptFailed(Self.lost) else {
            Issue.record("the fourth lost connection fails")
            return
        }
        #expect(error as? StorageError == Self.lost.error)
        // After the three reconnects (and the first attempt), one attempt of five is left for conflicts.
        guard case .backOffAndRetry(4) = retries.attemptFailed(Self.conflict), case .fail = retries.attemptFailed(Self.conflict) else {
            Issue.record("reconnects count as attempts")
            return
        }
    }

    @Test func aCommitOfUnknownOutcomeIsNotRetried() {
        var retries = RetryStateMachine(maxAttempts: 5)
        guard case .fail(let error) = retries.attemptFailed(Self.lost.atCommit) else {
            Issue.record("an outcome that may have been applied must not run twice")
            return
        }
        #expect(error as? StorageError == Self.lost.atCommit.error)
        var unsent = RetryStateMachine(maxAttempts: 5)
        guard case .retry = unsent.attemptFailed(PostgresFailure.closedBeforeSending.atCommit) else {
            Issue.record("a COMMIT never sent is run again")
            return
        }
    }

    @Test func otherErrorsPassThroughUnchangedAtOnce() {
        struct BodysOwn: Error {}
        var retries = RetryStateMachine(maxAttempts: 5)
        guard case .fail(let error) = retries.attemptFailed(BodysOwn()) else {
            Issue.record("not a PostgreSQL failure: not retried")
            return
        }
        #expect(error is BodysOwn)
        guard case .fail(let final) = retries.attemptFailed(PostgresFailure(sqlState: "53100")) else {
            Issue.record("a final failure is not retried")
            return
        }
        #expect(final as? StorageError == .notWritable("PostgreSQL is out of disk space (SQLSTATE 53100)"))
    }
}
