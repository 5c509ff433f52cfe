import NIOCore

/// The event loop of a request's connection, as the executor its handler prefers. Work that resumes after waiting
/// elsewhere (an RSA operation on a crypto worker, a SQLite commit on the writer thread) then comes straight back to
/// the loop that writes the response, instead of to any loop and from there across to that one.
final class ConnectionLoopExecutor: TaskExecutor, Sendable {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
