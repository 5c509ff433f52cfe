import CoffrePostgresTestSupport
import CoffreStorage
import Synchronization
import Testing

@testable import CoffreStoragePostgres

/// Failover and vanished servers, against real clusters: a primary with a synchronous standby, and a server behind a
/// proxy that stops forwarding. Each test has clusters of its own.
@Suite(.timeLimit(.minutes(2))) struct PostgresFailoverTests {
    /// `kill -9` of the primary, then promotion of the synchronous standby, while a writer keeps writing: the node moves
    /// to the new primary by itself, the writes in between fail as unavailable (never hang, never succeed wrongly), and
    /// every acknowledged write is there afterwards.
    @Test func aNodeFollowsThePromotedStandbyAndLosesNoAcknowledgedWrite() async throws {
        try await TemporaryPostgres.with { primary in
            let standby = try await primary.startSynchronousStandby()
            defer { Task { await standby.destroy() } }
            let database = try await primary.createDatabase()
            var configuration = try PostgresConfiguration(
                url:
                    "postgres://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)?sslmode=disable&target_session_attrs=read-write",
                poolSize: 4)
            configuration.acquireTimeout = .seconds(2)
            try await PostgresStorage(configuration: configuration, logger: .quiet).withRunning { storage in
                let log = WriteLog()
                let writer = Task { await log.keepWriting(to: storage) }
                try await log.waitForAcknowledged(20)
                try primary.kill9()
                let killed = ContinuousClock.now
                try await Task.sleep(for: .milliseconds(500))
                try await standby.promote()
                let promoted = ContinuousClock.now
                let countAtPromotion = log.acknowledged.count
                try await log.waitForAcknowledged(countAtPromotion + 20)
                writer.cancel()
                await writer.value
                let firstAfter = try #require(log.firstAcknowledged(after: promoted))
                // Serving again within seconds of the promotion (the check runs every second).
                #expect(firstAfter - promoted < .seconds(10), "first write acknowledged \(firstAfter - promoted) after the promotion")
                #expect(log.otherFailures.isEmpty, "only unavailable: \(log.otherFailures)")
                #expect(log.failedUnavailable > 0 || firstAfter - killed < .seconds(3))
                for (key, value) in log.acknowledged {
                    #expect(try await storage.get(key) == value, "acknowledged write \(key) read back")
                }
                // And from PostgreSQL itself, on the new primary.
                let rows = try await standby.psql("SELECT count(*) FROM kv WHERE k LIKE 'w/%'", database: database)
                #expect(Int(rows) ?? -1 >= log.acknowledged.count)
            }
        }
    }

    /// A server that stops answering without closing its connections (here a proxy that stops forwarding): the check
    /// finds it gone, its pool is closed, and operations fail as unavailable instead of waiting for ever; once it
    /// answers again, the node uses it again.
    @Test func aServerGoneWithoutAFinIsLeftAndOperationsDoNotHang() async throws {
        try await TemporaryPostgres.with { server in
            let proxy = try FreezableProxy(forwardingTo: server.port)
            defer { proxy.stop() }
            let database = try await server.createDatabase()
            var configuration = try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:\(proxy.port)/\(database)?sslmode=disable", poolSize: 2)
            configuration.acquireTimeout = .seconds(2)
            configuration.healthCheckInterval = .milliseconds(200)
            configuration.healthCheckTimeout = .seconds(1)
            try await PostgresStorage(configuration: configuration, logger: .quiet).withRunning { storage in
                try await storage.transaction { try await $0.put("before", [1]) }
                proxy.freeze()
                let frozen = ContinuousClock.now
                async let read = outcome { _ = try await storage.get("before") }
                async let write = outcome { try await storage.transaction { try await $0.put("during", [2]) } }
                #expect(await read == "unavailable")
                let written = await write
                // Its COMMIT may have been in flight when the connection was closed: unknown, so unavailable too.
                #expect(written == "unavailable")
                #expect(ContinuousClock.now - frozen < .seconds(10))

                proxy.thaw()
                let deadline = ContinuousClock.now + .seconds(20)
                var value: [UInt8]?
                while ContinuousClock.now < deadline {
                    if let read = try? await storage.get("before") {
                        value = read
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(value == [1])
                try await storage.transaction { try await $0.put("after", [3]) }
                #expect(try await storage.get("after") == [3])
            }
        }
    }

    /// One connection gone silent while the server still answers its checks (here every connection, with checks that
    /// wait a minute): the statement deadline closes it, so the operation fails instead of waiting for ever.
    @Test func aStatementUnansweredOnItsConnectionFailsInsteadOfWaiting() async throws {
        try await TemporaryPostgres.with { server in
            let proxy = try FreezableProxy(forwardingTo: server.port)
            defer { proxy.stop() }
            let database = try await server.createDatabase()
            var configuration = try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:\(proxy.port)/\(database)?sslmode=disable", poolSize: 2)
            configuration.acquireTimeout = .seconds(2)
            configuration.healthCheckTimeout = .seconds(60)
            configuration.statementTimeout = .seconds(1)
            try await PostgresStorage(configuration: configuration, logger: .quiet).withRunning { storage in
                try await storage.transaction { try await $0.put("before", [1]) }
                proxy.freeze()
                let frozen = ContinuousClock.now
                #expect(await outcome { _ = try await storage.get("before") } == "unavailable")
                #expect(ContinuousClock.now - frozen < .seconds(20))
            }
        }
    }
}

/// How each operation ended: "ok", "unavailable", or the error.
private func outcome(_ operation: @Sendable () async throws -> Void) async -> String {
    do {
        try await operation()
        return "ok"
    } catch {
        if case .unavailable = error as? StorageError { return "unavailable" }
        return "\(error)"
    }
}

/// A writer's record: what was acknowledged (and when), what failed.
private final class WriteLog: Sendable {
    private struct State {
        var acknowledged: [(key: String, value: [UInt8], at: ContinuousClock.Instant)] = []
        var failedUnavailable = 0
        var otherFailures: [String] = []
    }

    private let state = Mutex(State())

    var acknowledged: [(String, [UInt8])] { state.withLock { $0.acknowledged.map { ($0.key, $0.value) } } }
    var failedUnavailable: Int { state.withLock { $0.failedUnavailable } }
    var otherFailures: [String] { state.withLock { $0.otherFailures } }

    func firstAcknowledged(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { $0.acknowledged.first { $0.at > instant }?.at }
    }

    /// Writes `w/0`, `w/1`, … one after another (two writers) until cancelled.
    func keepWriting(to storage: PostgresStorage) async {
        await withDiscardingTaskGroup { group in
            for writer in 0..<2 {
                group.addTask {
                    var index = 0
                    while !Task.isCancelled {
                        index += 1
                        let key = "w/\(writer)/\(index)"
                        let value: [UInt8] = [UInt8(writer), UInt8(index & 0xff), UInt8(index >> 8 & 0xff)]
                        let result = await outcome { try await storage.transaction { try await $0.put(key, value) } }
                        self.state.withLock { state in
                            switch result {
                            case "ok": state.acknowledged.append((key, value, .now))
                            case "unavailable": state.failedUnavailable += 1
                            default: state.otherFailures.append(result)
                            }
                        }
                        if result != "ok" { try? await Task.sleep(for: .milliseconds(50)) }
                    }
                }
            }
        }
    }

    func waitForAcknowledged(_ count: Int, within limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.acknowledged.count }) < count {
            guard ContinuousClock.now < deadline else { throw WaitedTooLong(count: count) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct WaitedTooLong: Error { var count: Int }
}

@Suite struct TargetSessionAttributesTests {
    static let primary = ServerRole(inRecovery: false, readOnlyByDefault: false)
    static let standby = ServerRole(inRecovery: true, readOnlyByDefault: true)
    static let readOnlyPrimary = ServerRole(inRecovery: false, readOnlyByDefault: true)

    @Test func choosesTheFirstServerThatFitsInTheURLsOrder() {
        let servers: [ServerRole?] = [nil, Self.standby, Self.readOnlyPrimary, Self.primary]
        #expect(TargetSessionAttributes.any.choose(among: servers) == 1)
        #expect(TargetSessionAttributes.readWrite.choose(among: servers) == 3)
        #expect(TargetSessionAttributes.readOnly.choose(among: servers) == 1)
        #expect(TargetSessionAttributes.primary.choose(among: servers) == 2)
        #expect(TargetSessionAttributes.standby.choose(among: servers) == 1)
        #expect(TargetSessionAttributes.preferStandby.choose(among: servers) == 1)
    }

    @Test func preferStandbyTakesAnyServerWhenNoStandbyAnswers() {
        #expect(TargetSessionAttributes.preferStandby.choose(among: [nil, Self.primary]) == 1)
        #expect(TargetSessionAttributes.standby.choose(among: [nil, Self.primary]) == nil)
    }

    @Test func noServerAnsweringOrFittingChoosesNone() {
        #expect(TargetSessionAttributes.any.choose(among: [nil, nil]) == nil)
        #expect(TargetSessionAttributes.readWrite.choose(among: [Self.standby, Self.readOnlyPrimary, nil]) == nil)
    }

    /// A server keeps fitting while it answers and is of the wanted kind: a promoted standby stops fitting `standby`.
    @Test func aServerThatChangedRoleStopsFitting() {
        #expect(!TargetSessionAttributes.readWrite.fits(Self.standby))
        #expect(!TargetSessionAttributes.standby.fits(Self.primary))
        #expect(TargetSessionAttributes.preferStandby.fits(Self.primary))
        #expect(TargetSessionAttributes.any.fits(Self.readOnlyPrimary))
    }
}
