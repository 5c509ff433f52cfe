import Foundation
import Testing

@testable import CoffreFuzzTargets

/// Every committed corpus (seeds, and inputs that once crashed a parser) through its target, in every test run: a fixed
/// crash stays fixed. `scripts/fuzz` looks for new ones.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("corpus")

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusPassesWithoutACrash(_ name: String) async throws {
        let target = try #require(FuzzTarget.named(name))
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus.appendingPathComponent(name), includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "a committed corpus for \(name): coffre-fuzz seed Fuzz/corpus")
        let inputs = try files.map { Array(try Data(contentsOf: $0)) }
        // On a thread of its own, as under libFuzzer: a target blocks its thread on async parsers, which a thread of the
        // concurrency pool must never do.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                for input in inputs { try? target.run(input) }
                done.resume()
            }
        }
    }
}
