import Foundation

/// A dedicated thread that runs the tasks preferring it (`Task(executorPreference:)`), one job after another.
///
/// The SQLite writer runs each batch's transaction bodies and its `COMMIT` here: the bodies do not queue behind
/// HTTP work on an event loop, and no thread hop separates a batch's bodies from its commit (whose `fsync` may
/// block this thread, and only this thread).
final class WriterThread: TaskExecutor, @unchecked Sendable {
    /// Guards `jobs` and `stopping`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false

    init(name: String) {
        // Named from inside: Foundation names a thread's OS thread only when the name is set on that thread.
        Thread { [self] in
            Thread.current.name = name
            run()
        }.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread finish the jobs it has and end.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
