import CoffreModel
import CoffreStorage
import Foundation
import Synchronization

/// Wall-clock time in milliseconds since 1970, injected so tests control time: jobs report whole seconds, but their
/// rules (a job shows as finished ~1.5 s after submission) need finer.
public protocol JobClock: Sendable {
    var milliseconds: Int64 { get }
}

extension SystemClock: JobClock {
    public var milliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Long-running jobs of one kind of output: it records each job in storage (so any node sharing the storage answers
/// its polls, and a restart forgets none), runs their work while `run()` runs, and answers polls by the rules of
/// `JobStateMachine`.
///
/// A job whose node stops gracefully is failed as interrupted as `run()` ends; one whose node crashes, or whose last
/// write failed (storage down, or already stopped), is failed as interrupted by the first poll `timing.abandonAfter`
/// after its last heartbeat.
/// Finished jobs stay readable (they are small and not pruned).
public final class JobStore<Output: Codable & Sendable & Equatable>: Sendable {
    /// A job's work: what it produces, or why it failed (as its pollers will read it).
    public typealias Work = @Sendable (JobID) async throws(JobFailure) -> Output

    private struct Submission: Sendable {
        let id: JobID
        let work: Work
    }

    private let storage: any StorageBackend
    private let prefix: String
    private let clock: any JobClock
    private let timing: JobTiming
    private let submissions: AsyncStream<Submission>
    private let submit: AsyncStream<Submission>.Continuation
    /// The jobs this node is running now (their heartbeats).
    private let running = Mutex<Set<JobID>>([])

    /// - Parameters:
    ///   - storage: where jobs are recorded (the sealed storage: job records pass the barrier like everything else).
    ///   - prefix: the storage keys of this store's jobs (`{prefix}{job id}`).
    public init(storage: any StorageBackend, prefix: String = "jobs/", clock: any JobClock = SystemClock(), timing: JobTiming = JobTiming()) {
        self.storage = storage
        self.prefix = prefix
        self.clock = clock
        self.timing = timing
        (submissions, submit) = AsyncStream.makeStream()
    }

    /// Records a new job and hands `work` to `run()`; returns the job as the submission's answer shows it (in progress).
    public func submit(_ kind: JobKind, scope: String, work: @escaping Work) async throws -> JobView<Output> {
        let machine = JobStateMachine<Output>(submitting: kind, scope: scope, at: clock.milliseconds, timing: timing)
        let record = machine.record
        try await storage.transaction { [prefix] in try await $0.write(record, at: prefix + record.id.value) }
        submit.yield(Submission(id: record.id, work: work))
        return machine.submittedView
    }

    /// The job as a poll sees it, or nil when there is no such job in `scope`.
    public func poll(_ id: JobID, scope: String) async throws -> JobView<Output>? {
        guard let record = try await storage.read(JobRecord<Output>.self, at: prefix + id.value), record.scope == scope else { return nil }
        var machine = JobStateMachine(record, timing: timing)
        switch machine.poll(at: clock.milliseconds) {
        case .answer(let view):
            return view
        case .persistAndAnswer:
            // Counted again in a transaction: polls on other nodes may have been counted meanwhile.
            let now = clock.milliseconds
            return try await transition(id) { machine in
                switch machine.poll(at: now) {
                case .answer(let view): (false, view)
                case .persistAndAnswer(let view): (true, view)
                }
            }
        }
    }

    /// Runs the submitted jobs until cancelled; the jobs still running then end as interrupted. Call it once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.keepAlive() }
            for await submission in submissions {
                group.addTask { await self.execute(submission) }
            }
        }
    }

    private func execute(_ submission: Submission) async {
        let id = submission.id
        let started = clock.milliseconds
        let start = try? await transition(id) { machine in
            let action = machine.start(at: started)
            return (action == .persistAndRun, action)
        }
        guard start == .persistAndRun else { return }
        running.withLock { _ = $0.insert(id) }
        defer { running.withLock { _ = $0.remove(id) } }
        let result: Result<Output, JobFailure>
        do { result = .success(try await submission.work(id)) } catch { result = .failure(error) }
        let ended = clock.milliseconds
        // Work that failed once the runner was cancelled failed because the server is stopping, not on its own.
        let stopped = if case .failure = result { Task.isCancelled } else { false }
        // Not written (storage down or stopping): the record keeps its last heartbeat, and polls find it interrupted.
        _ = try? await transition(id) { machine in
            ((stopped ? machine.interrupt(at: ended) : machine.finish(result, at: ended)) == .persist, ())
        }
    }

    /// Refreshes the heartbeat of this node's running jobs, until cancelled.
    private func keepAlive() async {
        while (try? await Task.sleep(for: timing.heartbeat)) != nil {
            for id in running.withLock({ $0 }) {
                let now = clock.milliseconds
                _ = try? await transition(id) { ($0.heartbeat(at: now) == .persist, ()) }
            }
        }
    }

    /// Applies one event to a stored job in a transaction, writing the record back when the event says so.
    private func transition<T: Sendable>(
        _ id: JobID, _ event: @escaping @Sendable (inout JobStateMachine<Output>) -> (persist: Bool, T)
    ) async throws -> T? {
        let key = prefix + id.value
        return try await storage.transaction { [timing] transaction in
            guard let record = try await transaction.read(JobRecord<Output>.self, at: key) else { return nil }
            var machine = JobStateMachine(record, timing: timing)
            let (persist, result) = event(&machine)
            if persist { try await transaction.write(machine.record, at: key) }
            return result
        }
    }
}
