/// Group commit without I/O: which transaction bodies go into the next database transaction, and what each caller is
/// told when it ends. `GroupCommitWriter` owns the connection and the callers' continuations; it feeds this machine the
/// events (a submission, a statement's result, a body's result) and carries out the actions it returns.
///
/// Bodies that arrive while a batch runs wait, and all of them form the next batch. A batch is `BEGIN IMMEDIATE`, each
/// body in a savepoint of its own (a failing body rolls back alone and fails alone), then one `COMMIT` and its single
/// `fsync`. If `BEGIN` or `COMMIT` fails (a full disk, an I/O error), every body of the batch fails with that error,
/// including those that succeeded: nothing of a batch is half-applied, and no caller is told of an effect that did not
/// happen. The bodies queued meanwhile run in the next batch, unaffected.
///
/// Closing lets the batch in flight and the bodies accepted before the close run; later submissions are refused; the
/// writer thread stops once nothing is left.
struct GroupCommitStateMachine<Job> {
    private enum Loop {
        /// No batch loop runs: the next submission starts one.
        case idle
        /// A batch loop runs on the writer thread; it takes the queue when its batch ends.
        case running
        /// Closed and drained: the writer thread is stopping or stopped.
        case stopped
    }

    private var loop = Loop.idle
    private var queue: [Job] = []
    private var closing = false

    enum SubmitAction {
        /// Queued; start the batch loop (it was idle).
        case startLoop
        /// Queued; the running loop takes it with its next batch.
        case none
        /// Closed: fail this job at once.
        case refuse(Job)
    }

    mutating func submit(_ job: Job) -> SubmitAction {
        guard !closing else { return .refuse(job) }
        queue.append(job)
        guard case .idle = loop else { return .none }
        loop = .running
        return .startLoop
    }

    enum NextBatchAction {
        case run(Batch)
        /// Nothing is queued: the loop ends (the next submission starts another).
        case stopLoop
        /// Nothing is queued and the writer is closed: the loop ends and so does the writer thread.
        case stopLoopAndThread
    }

    /// The loop asks for its next batch (when it starts, and after each batch).
    mutating func nextBatch() -> NextBatchAction {
        guard queue.isEmpty else {
            defer { queue.removeAll(keepingCapacity: true) }
            return .run(Batch(queue))
        }
        if closing {
            loop = .stopped
            return .stopLoopAndThread
        }
        loop = .idle
        return .stopLoop
    }

    enum CloseAction {
        /// No loop runs: stop the writer thread now.
        case stopThread
        /// The running loop stops the thread once it has drained the queue (or it is stopped already).
        case none
    }

    mutating func close() -> CloseAction {
        closing = true
        guard case .idle = loop else { return .none }
        loop = .stopped
        return .stopThread
    }

    /// One batch's statements and bodies, in order.
    struct Batch {
        private let jobs: [Job]
        private var results: [Result<any Sendable, any Error>] = []

        init(_ jobs: [Job]) {
            precondition(!jobs.isEmpty, "a batch has at least one body")
            self.jobs = jobs
        }

        var count: Int { jobs.count }

        enum Action {
            /// Run `BEGIN IMMEDIATE`, then report with `began`.
            case begin
            /// Run this body in a savepoint of its own (released if it succeeds, rolled back to if it fails), then
            /// report with `bodyEnded`.
            case runBody(Job)
            /// Run `COMMIT`, then report with `committed`.
            case commit
            /// Tell each caller its outcome; the batch is over.
            case resume([(Job, Result<any Sendable, any Error>)])
            /// Run `ROLLBACK` (the transaction may still be open), then tell each caller its outcome; the batch is over.
            case rollbackAndResume([(Job, Result<any Sendable, any Error>)])
        }

        func start() -> Action { .begin }

        mutating func began(_ result: Result<Void, any Error>) -> Action {
            switch result {
            case .success: .runBody(jobs[0])
            case .failure(let error): .resume(failingAll(with: error))
            }
        }

        mutating func bodyEnded(_ result: Result<any Sendable, any Error>) -> Action {
            results.append(result)
            return results.count < jobs.count ? .runBody(jobs[results.count]) : .commit
        }

        func committed(_ result: Result<Void, any Error>) -> Action {
            switch result {
            case .success: .resume(Array(zip(jobs, results)))
            case .failure(let error): .rollbackAndResume(failingAll(with: error))
            }
        }

        private func failingAll(with error: any Error) -> [(Job, Result<any Sendable, any Error>)] {
            jobs.map { ($0, .failure(error)) }
        }
    }
}
