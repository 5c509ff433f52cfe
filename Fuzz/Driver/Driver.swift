import CoffreFuzzTargets
import Foundation

#if COFFRE_LIBFUZZER
import CLibFuzzer

// Built with `-sanitize=fuzzer` (scripts/fuzz): libFuzzer runs the target named by COFFRE_FUZZ_TARGET.

/// The target of this run.
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["COFFRE_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.named(name) else {
        FileHandle.standardError.write(Data("set COFFRE_FUZZ_TARGET to one of: \(FuzzTarget.all.map(\.name).joined(separator: " "))\n".utf8))
        exit(2)
    }
    return target
}()

/// The executable's entry (SwiftPM links `main` to `coffre_fuzz_main`): libFuzzer's loop over `fuzzOne`.
@_cdecl("coffre_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = target
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}

/// One input (libFuzzer's callback; also its own main's, when the archive brings that one in first).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    try? target.run(bytes)
    return 0
}
#else
/// Without libFuzzer: `coffre-fuzz seed DIR` writes every target's seeds to DIR/NAME/ (named by their SHA-1, as libFuzzer
/// names corpus files); `coffre-fuzz NAME FILE…` runs files through one target (a crash names the file).
@main struct Driver {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "seed" where arguments.count == 2:
            for target in FuzzTarget.all {
                let directory = URL(fileURLWithPath: arguments[1]).appendingPathComponent(target.name)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for seed in try target.seeds() {
                    try Data(seed).write(to: directory.appendingPathComponent("seed-" + CorpusName.of(seed)))
                }
            }
        case let name? where FuzzTarget.named(name) != nil && arguments.count > 1:
            let target = FuzzTarget.named(name)!
            for path in arguments.dropFirst() {
                print(path)
                try? target.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            }
        default:
            print("usage: coffre-fuzz seed DIR | coffre-fuzz TARGET FILE...\ntargets: \(FuzzTarget.all.map(\.name).joined(separator: " "))")
            exit(2)
        }
    }
}
#endif
