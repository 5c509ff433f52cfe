import CoffreCrypto
import CoffreStorage
import Dispatch
import Foundation

/// Runs expensive private-key operations (RSA, and the curves OpenSSL computes generically) on their own threads, at
/// most one per core at a time. Requests beyond that wait their turn without holding a thread, so the few threads of
/// the cooperative pool stay free for cheap requests, whose latency no longer depends on the RSA queue.
public final class CryptoWorkers: Sendable {
    private let slots: AsyncSemaphore
    private let queue = DispatchQueue(label: "coffre.crypto", qos: .userInitiated, attributes: .concurrent)

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        slots = AsyncSemaphore(permits: max(1, threads))
    }

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
