import NIOCore

/// An event loop as the executor a task prefers: work that resumes after waiting elsewhere (an RSA operation on a
/// crypto worker, a SQLite commit, a PostgreSQL answer) comes straight back to the loop that owns the channel it
/// writes to, instead of to any thread and from there across to that loop.
public final class EventLoopExecutor: TaskExecutor, Sendable {
    private let loop: any EventLoop

    public init(_ loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
