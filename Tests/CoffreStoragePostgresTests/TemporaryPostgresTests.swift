import CoffrePostgresTestSupport
import Foundation
import Testing

/// The test clusters themselves: a test run that dies must not leave PostgreSQL servers behind.
@Suite(.timeLimit(.minutes(2))) struct TemporaryPostgresTests {
    /// The watchdog acts when its pipe closes, as it does when the test process dies (`kill -9` included): the server
    /// stops and its directory goes.
    @Test func aClusterWhoseTestProcessIsGoneIsStoppedAndRemoved() async throws {
        let server = try await TemporaryPostgres.start()
        let pidFile = server.dataDirectory + "/postmaster.pid"
        let postmaster = try #require(
            try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: "\n").first.flatMap { pid_t($0) })
        server.abandon()
        let deadline = ContinuousClock.now + .seconds(60)
        while FileManager.default.fileExists(atPath: server.directory) || kill(postmaster, 0) == 0 {
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        #expect(kill(postmaster, 0) != 0, "the postmaster still runs")
        await server.destroy()
    }
}
