import CoffreCrypto
import CoffreModel
import CoffreStorage
import Dispatch
import Foundation
import Synchronization

/// Runs expensive private-key operations (RSA, and the curves OpenSSL computes generically) off the event loops, on a
/// concurrent queue whose width Dispatch bounds to the cores. Requests beyond that wait in the queue without holding
/// a thread, so the event loops stay free for cheap requests, whose latency does not depend on the RSA queue; a worker
/// takes the next operation as soon as it finishes one. The queue is bounded: past `capacity` operations waiting or
/// running, more are refused at once as unavailable (503 with `Retry-After`) rather than waiting without end.
public final class CryptoWorkers: Sendable {
    private let queue = DispatchQueue(label: "coffre.crypto", qos: .userInitiated, attributes: .concurrent)
    public let capacity: Int
    private let admitted = Atomic<Int>(0)

    /// - Parameter capacity: heavy operations waiting or running at once (1,024: about a second of RSA-2048 signing
    ///   on two cores).
    public init(capacity: Int = 1024) { self.capacity = capacity }

    /// Whether an operation with this key is worth moving off the cooperative pool.
    public static func isHeavy(_ material: KeyMaterial) -> Bool {
        switch material.keyType.family {
        case .rsa: true
        case .ec: material.curve == .p256k || material.curve == .p521
        case .oct: false
        }
    }

    /// `work` for `material`: on a worker thread when heavy, inline otherwise.
    public func run<T: Sendable>(for material: KeyMaterial, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard Self.isHeavy(material) else { return try work() }
        guard admitted.add(1, ordering: .relaxed).newValue <= capacity else {
            admitted.subtract(1, ordering: .relaxed)
            throw CoffreError.unavailable("Coffre has \(capacity) key operations waiting: retry shortly.")
        }
        defer { admitted.subtract(1, ordering: .relaxed) }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
