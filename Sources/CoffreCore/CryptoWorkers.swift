import CoffreCrypto
import CoffreStorage
import Dispatch
import Foundation

/// Runs expensive private-key operations (RSA, and the curves OpenSSL computes generically) off the event loops, on a
/// concurrent queue whose width Dispatch bounds to the cores. Requests beyond that wait in the queue without holding
/// a thread, so the event loops stay free for cheap requests, whose latency does not depend on the RSA queue; a worker
/// takes the next operation as soon as it finishes one.
public final class CryptoWorkers: Sendable {
    private let queue = DispatchQueue(label: "coffre.crypto", qos: .userInitiated, attributes: .concurrent)

    public init() {}

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
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
