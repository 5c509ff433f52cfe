import Dispatch

/// Runs blocking work (a call into a PKCS#11 module, which may wait on a network HSM; an RSA private-key operation)
/// on a concurrent Dispatch queue, so that it never holds a thread of Swift's cooperative pool. Callers bound how much
/// runs at once (the session pool, the number of requests).
struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
