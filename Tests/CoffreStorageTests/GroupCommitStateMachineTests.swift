import CoffreStorage
import Testing

@testable import CoffreStorageSQLite

/// SQLite's group commit without I/O: jobs are names, statements' results are given, and the tests check what each
/// caller would be told.
@Suite struct GroupCommitStateMachineTests {
    typealias Machine = GroupCommitStateMachine<String>
    typealias Batch = Machine.Batch

    struct DiskFull: Error, Equatable {}
    struct BodyFailed: Error, Equatable { let name: String }

    /// The batch `nextBatch()` hands out, or nil.
    static func batch(_ machine: inout Machine) -> Batch? {
        guard case .run(let batch) = machine.nextBatch() else { return nil }
        return batch
    }

    /// Runs `batch` as the writer does, with each body's and statement's result as given; returns what the callers
    /// are told (job: value or error description) and whether a `ROLLBACK` ran.
    static func outcomes(
        of batch: Batch, begin: Result<Void, any Error> = .success(()), body: (String) -> Result<any Sendable, any Error> = { .success("ok:\($0)") },
        commit: Result<Void, any Error> = .success(())
    ) -> (told: [String: String], rolledBack: Bool, bodiesRun: [String]) {
        var batch = batch
        var action = batch.start()
        var bodiesRun: [String] = []
        while true {
            switch action {
            case .begin: action = batch.began(begin)
            case .runBody(let job):
                bodiesRun.append(job)
                action = batch.bodyEnded(body(job))
            case .commit: action = batch.committed(commit)
            case .resume(let outcomes): return (told(outcomes), false, bodiesRun)
            case .rollbackAndResume(let outcomes): return (told(outcomes), true, bodiesRun)
            }
        }
    }

    static func told(_ outcomes: [(String, Result<any Sendable, any Error>)]) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: outcomes.map { job, result in
                switch result {
                case .success(let value): (job, "\(value)")
                case .failure(let error): (job, "error: \(error)")
                }
            })
    }

    @Test func theFirstSubmissionStartsTheLoopAndThoseDuringABatchFormTheNext() throws {
        var machine = Machine()
        guard case .startLoop = machine.submit("a") else { throw Failure("the idle writer starts its loop") }
        let first = try #require(Self.batch(&machine))
        #expect(first.count == 1)
        for job in ["b", "c", "d"] {
            guard case .none = machine.submit(job) else { throw Failure("a running loop takes later submissions itself") }
        }
        let second = try #require(Self.batch(&machine))
        #expect(Self.outcomes(of: second).bodiesRun == ["b", "c", "d"])
    }

    @Test func anEmptyQueueEndsTheLoopAndTheNextSubmissionStartsAnother() throws {
        var machine = Machine()
        _ = machine.submit("a")
        _ = try #require(Self.batch(&machine))
        guard case .stopLoop = machine.nextBatch() else { throw Failure("nothing queued: the loop ends") }
        // Not lost: the loop has ended, so this submission must start one.
        guard case .startLoop = machine.submit("b") else { throw Failure("the next submission restarts the loop") }
        #expect(Self.outcomes(of: try #require(Self.batch(&machine))).bodiesRun == ["b"])
    }

    @Test func aBodyThatThrowsFailsAloneAndTheOthersCommit() throws {
        var machine = Machine()
        for job in ["a", "b", "c"] { _ = machine.submit(job) }
        let batch = try #require(Self.batch(&machine))
        let result = Self.outcomes(of: batch) { job in job == "b" ? .failure(BodyFailed(name: job)) : .success("ok:\(job)") }
        #expect(result.told == ["a": "ok:a", "b": "error: \(BodyFailed(name: "b"))", "c": "ok:c"])
        #expect(!result.rolledBack)
        #expect(result.bodiesRun == ["a", "b", "c"])
    }

    @Test func aFailedCommitFailsEveryBodyOfTheBatchNeverHalf() throws {
        var machine = Machine()
        for job in ["a", "b", "c"] { _ = machine.submit(job) }
        let batch = try #require(Self.batch(&machine))
        let result = Self.outcomes(of: batch, body: { $0 == "b" ? .failure(BodyFailed(name: $0)) : .success("ok") }, commit: .failure(DiskFull()))
        #expect(result.told == ["a": "error: \(DiskFull())", "b": "error: \(DiskFull())", "c": "error: \(DiskFull())"])
        #expect(result.rolledBack)
    }

    @Test func aFailedBeginRunsNoBodyAndFailsThemAll() throws {
        var machine = Machine()
        for job in ["a", "b"] { _ = machine.submit(job) }
        let result = Self.outcomes(of: try #require(Self.batch(&machine)), begin: .failure(DiskFull()))
        #expect(result.bodiesRun.isEmpty)
        #expect(result.told == ["a": "error: \(DiskFull())", "b": "error: \(DiskFull())"])
        #expect(!result.rolledBack)
    }

    @Test func writesQueuedWhileACommitFailsRunInTheNextBatchUnaffected() throws {
        var machine = Machine()
        _ = machine.submit("a")
        let failing = try #require(Self.batch(&machine))
        _ = machine.submit("b")
        _ = machine.submit("c")
        #expect(Self.outcomes(of: failing, commit: .failure(DiskFull())).told == ["a": "error: \(DiskFull())"])
        let next = try #require(Self.batch(&machine))
        #expect(Self.outcomes(of: next).told == ["b": "ok:b", "c": "ok:c"])
        guard case .stopLoop = machine.nextBatch() else { throw Failure("drained") }
    }

    @Test func closingDuringABatchLetsAcceptedWorkRunThenStopsTheThread() throws {
        var machine = Machine()
        _ = machine.submit("a")
        let inFlight = try #require(Self.batch(&machine))
        _ = machine.submit("b")
        guard case .none = machine.close() else { throw Failure("the running loop stops the thread, not the close") }
        guard case .refuse(let refused) = machine.submit("late") else { throw Failure("a closed writer refuses") }
        #expect(refused == "late")
        #expect(Self.outcomes(of: inFlight).told == ["a": "ok:a"])
        #expect(Self.outcomes(of: try #require(Self.batch(&machine))).told == ["b": "ok:b"])
        guard case .stopLoopAndThread = machine.nextBatch() else { throw Failure("closed and drained: the thread stops") }
        guard case .none = machine.close() else { throw Failure("closing twice stops nothing twice") }
    }

    @Test func closingAnIdleWriterStopsTheThreadAtOnce() throws {
        var machine = Machine()
        guard case .stopThread = machine.close() else { throw Failure("no loop runs: the close stops the thread") }
        guard case .none = machine.close() else { throw Failure("stopped once") }
        guard case .refuse = machine.submit("late") else { throw Failure("a closed writer refuses") }
    }

    @Test func theWriterThreadWaitsOnAnEmptyQueueAndRunsWhatIsQueuedBeforeStopping() throws {
        var queue = WriterThreadQueue<Int>()
        guard case .wait = queue.take() else { throw Failure("nothing queued: wait") }
        // A spurious wake-up finds the queue still empty, and waits again.
        guard case .wait = queue.take() else { throw Failure("still nothing: wait again") }
        queue.enqueue(1)
        queue.enqueue(2)
        guard case .run(let first) = queue.take() else { throw Failure("queued jobs run") }
        #expect(first == [1, 2])
        queue.enqueue(3)
        queue.stop()
        queue.enqueue(4)
        guard case .run(let last) = queue.take() else { throw Failure("jobs queued around a stop still run") }
        #expect(last == [3, 4])
        guard case .exit = queue.take() else { throw Failure("stopped and drained: the thread ends") }
    }
}

/// A test's own failure, with what was expected.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
