import Foundation

/// A dedicated thread that runs the tasks preferring it (`Task(executorPreference:)`), one job after another.
///
/// The SQLite writer runs each batch's transaction bodies and its `COMMIT` here: the bodies do not queue behind
/// HTTP work on an event loop, and no thread hop separates a batch's bodies from its commit (whose `fsync` may
/// block this thread, and only this thread).
final class WriterThread: TaskExecutor, @unchecked Sendable {
    /// Guards `queue`.
    private let condition = NSCondition()
    private var queue = WriterThreadQueue<UnownedJob>()

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
        queue.enqueue(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread finish the jobs it has and end.
    func stop() {
        condition.lock()
        queue.stop()
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            var next = queue.take()
            // A wake-up may be spurious, or the signal may have been for a stop: look again each time.
            while case .wait = next {
                condition.wait()
                next = queue.take()
            }
            condition.unlock()
            guard case .run(let jobs) = next else { return }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}

/// The writer thread's queue without I/O: what the thread does when it looks at it.
struct WriterThreadQueue<Job> {
    private var jobs: [Job] = []
    private var stopping = false

    enum Take {
        /// Run these, in order.
        case run([Job])
        /// Nothing to do: sleep until signalled (and look again: the wake-up may be spurious).
        case wait
        /// Stopped and drained: end the thread.
        case exit
    }

    mutating func enqueue(_ job: Job) { jobs.append(job) }

    /// Jobs already queued, and those enqueued before the thread looks again, still run.
    mutating func stop() { stopping = true }

    mutating func take() -> Take {
        guard jobs.isEmpty else {
            defer { jobs = [] }
            return .run(jobs)
        }
        return stopping ? .exit : .wait
    }
}
