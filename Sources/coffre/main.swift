import ArgumentParser
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loops: a request's handler runs on the thread that owns its connection,
// without a hop to another thread pool and back per request (see bench/README.md). Blocking work (RSA, key
// generation, calls into a PKCS#11 module) goes to the key custody's threads, SQLite commits to their own queue.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

/// In an async function the command's async `main` is chosen (at top level, ParsableCommand's synchronous one is).
func runCommand() async { await Coffre.main() }

await runCommand()
