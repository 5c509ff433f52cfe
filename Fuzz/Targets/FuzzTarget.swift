import Dispatch

/// One parser of untrusted input, as a libFuzzer target: `run` gets arbitrary bytes and must return or throw (the
/// parser refusing the input, which is fine), never trap, crash or hang.
///
/// Adding a target is one small file, `Fuzz/Targets/NAME.swift`:
/// ```swift
/// extension FuzzTarget {
///     static let name = FuzzTarget("name", seeds: { [valid inputs] }) { bytes in _ = try Parser.parse(bytes) }
/// }
/// ```
/// and its name in `FuzzTarget.all`. `coffre-fuzz seed Fuzz/corpus` writes its seeds to `Fuzz/corpus/NAME/` (commit
/// them); `scripts/fuzz` fuzzes it; the Swift tests replay its corpus, where inputs that once crashed stay.
public struct FuzzTarget: Sendable {
    public let name: String
    /// Valid inputs, made by the code under test: where the fuzzer starts.
    public let seeds: @Sendable () throws -> [[UInt8]]
    public let run: @Sendable ([UInt8]) throws -> Void

    public init(_ name: String, seeds: @escaping @Sendable () throws -> [[UInt8]], run: @escaping @Sendable ([UInt8]) throws -> Void) {
        self.name = name
        self.seeds = seeds
        self.run = run
    }

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// Runs an async parser to its end, blocking the calling thread (libFuzzer's, never one of the concurrency pool).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            do { result.value = .success(try await body()) } catch { result.value = .failure(error) }
            done.signal()
        }
        done.wait()
        return try result.value!.get()
    }
}

/// Carries a task's result to the blocked thread; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

extension String {
    /// The bytes as text, as a server reading a request body would have them (invalid UTF-8 repaired).
    init(fuzzed bytes: [UInt8]) { self.init(decoding: bytes, as: UTF8.self) }
}
