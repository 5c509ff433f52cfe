import CoffreCore
import CoffreModel
import CoffreStorage
import Synchronization
import Testing

/// A job clock that moves only when told to.
final class ManualJobClock: JobClock {
    private let now = Mutex<Int64>(1_700_000_000_000)

    var milliseconds: Int64 { now.withLock { $0 } }

    func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

/// The job store over in-memory storage: the state machine's rules hold through storage, runners and restarts.
@Suite struct JobStoreTests {
    let storage = MemoryStorage()
    let clock = ManualJobClock()

    func store() -> JobStore<String> { JobStore(storage: storage, clock: clock) }

    /// Runs `body` while `jobs.run()` runs, then stops the runner as a graceful shutdown does and waits for it.
    func whileRunning<T: Sendable>(_ jobs: JobStore<String>, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await jobs.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Waits until the stored job is in `phase` (the runner works on its own tasks).
    func waitForPhase(of id: JobID, _ matches: (JobRecord<String>.Phase) -> Bool) async throws {
        for _ in 0..<2_000 {
            if let record = try await storage.read(JobRecord<String>.self, at: "jobs/\(id)"), matches(record.phase) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("job \(id) never reached the expected phase")
    }

    @Test func aJobRunsAndItsOutcomeShowsAfterTheInProgressPolls() async throws {
        let jobs = store()
        try await whileRunning(jobs) {
            let job = try await jobs.submit(.fullBackup, scope: "pool") { id in "folder-of-\(id)" }
            #expect(job.status == .inProgress)
            #expect(job.startTime == 1_700_000_000 && job.endTime == nil)
            try await waitForPhase(of: job.id) { if case .succeeded = $0 { true } else { false } }
            #expect(try await jobs.poll(job.id, scope: "pool")?.status == .inProgress)
            #expect(try await jobs.poll(job.id, scope: "pool")?.status == .inProgress)
            let done = try await jobs.poll(job.id, scope: "pool")
            #expect(done?.status == .succeeded("folder-of-\(job.id)"))
            #expect(done?.endTime == 1_700_000_000)
        }
    }

    @Test func aFailedJobShowsItsCodeAndMessage() async throws {
        let jobs = store()
        try await whileRunning(jobs) {
            let failure = JobFailure(code: "InvalidArgument", message: "The storage container is not reachable.")
            let job = try await jobs.submit(.fullRestore, scope: "pool") { _ throws(JobFailure) in throw failure }
            try await waitForPhase(of: job.id) { if case .failed = $0 { true } else { false } }
            _ = try await jobs.poll(job.id, scope: "pool")
            clock.advance(milliseconds: 1_500)
            #expect(try await jobs.poll(job.id, scope: "pool")?.status == .failed(failure))
        }
    }

    @Test func aJobIsFoundOnlyInItsScopeAndByItsId() async throws {
        let jobs = store()
        let job = try await jobs.submit(.fullBackup, scope: "pool") { _ in "folder" }
        #expect(try await jobs.poll(job.id, scope: "other-pool") == nil)
        #expect(try await jobs.poll(.random(), scope: "pool") == nil)
        #expect(try await jobs.poll(job.id, scope: "pool")?.id == job.id)
    }

    @Test func anotherStoreOverTheSameStorageAnswersForTheJob() async throws {
        let first = store()
        let job = try await whileRunning(first) {
            let job = try await first.submit(.preBackup, scope: "pool") { _ in "checked" }
            try await waitForPhase(of: job.id) { if case .succeeded = $0 { true } else { false } }
            #expect(try await first.poll(job.id, scope: "pool")?.status == .inProgress)
            return job
        }
        // Another node, or this one after a restart: the poll counted by the first store counts here too.
        let second = store()
        #expect(try await second.poll(job.id, scope: "pool")?.status == .inProgress)
        #expect(try await second.poll(job.id, scope: "pool")?.status == .succeeded("checked"))
    }

    @Test func aJobWhoseNodeCrashedIsReportedInterruptedAfterTheSilence() async throws {
        // Submitted on a node that crashed before running it: nothing but the record is left.
        let job = try await store().submit(.fullBackup, scope: "pool") { _ in "never" }
        let restarted = store()
        #expect(try await restarted.poll(job.id, scope: "pool")?.status == .inProgress)
        clock.advance(milliseconds: 60_000)
        #expect(try await restarted.poll(job.id, scope: "pool")?.status == .inProgress)
        clock.advance(milliseconds: 1)
        #expect(try await restarted.poll(job.id, scope: "pool")?.status == .failed(.interrupted))
    }

    @Test func aGracefulStopInterruptsTheRunningJobs() async throws {
        let jobs = store()
        let job = try await whileRunning(jobs) {
            let job = try await jobs.submit(.fullBackup, scope: "pool") { _ throws(JobFailure) in
                do { try await Task.sleep(for: .seconds(3_600)) } catch { throw JobFailure(code: "Cancelled", message: "the work saw the stop") }
                return "too late"
            }
            try await waitForPhase(of: job.id) { if case .running = $0 { true } else { false } }
            return job
        }
        _ = try await jobs.poll(job.id, scope: "pool")
        _ = try await jobs.poll(job.id, scope: "pool")
        #expect(try await jobs.poll(job.id, scope: "pool")?.status == .failed(.interrupted))
    }
}
