import CoffrePostgresTestSupport
import CoffreStorage
import CoffreStorageConformance
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import CoffreStoragePostgres

/// Tests that share one temporary cluster; each takes a database of its own.
@Suite(.temporaryPostgres, .timeLimit(.minutes(2))) struct PostgresStorageTests {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        let run = try #require(StorageConformance.checks.first { $0.name == check }).run
        try await withFreshStorage { try await run($0) }
    }

    @Test func twoNodesSeeEachOtherAndLoseNoUpdate() async throws {
        try await withTwoNodes(poolSize: 8) { first, second in
            try await first.transaction { try await $0.put("shared/x", [1]) }
            #expect(try await second.get("shared/x") == [1])
            try await second.transaction { transaction in
                try await transaction.delete("shared/x")
                try await transaction.put("shared/y", [2])
            }
            #expect(try await first.get("shared/x") == nil)
            #expect(try await first.scan(prefix: "shared/", after: nil, limit: 10).map(\.key) == ["shared/y"])

            try await incrementConcurrently("counter", times: 60, on: [first, second])
            #expect(try await first.get("counter") == [0, 60])
            #expect(try await second.get("counter") == [0, 60])
        }
    }

    /// A body's reads are one consistent state even though each is a statement of its own: here another node changes
    /// both keys between the body's two reads, so the pair the body saw is mixed, and it must run again. The change
    /// comes in the first two runs: the first runs on guesses, the second reads.
    @Test func aBodyThatReadAMixedStateRunsAgain() async throws {
        try await withTwoNodes(poolSize: 2) { first, other in
            try await first.transaction { transaction in
                try await transaction.put("pair/a", [1])
                try await transaction.put("pair/b", [1])
            }
            let runs = Mutex(0)
            for writes in [false, true] {
                runs.withLock { $0 = 0 }
                let seen = try await first.transaction { transaction -> [[UInt8]?] in
                    let a = try await transaction.get("pair/a")
                    if runs.withLock({
                        $0 += 1
                        return $0
                    }) <= 2 {
                        let next = (a?.first ?? 0) + 1
                        try await other.transaction { transaction in
                            try await transaction.put("pair/a", [next])
                            try await transaction.put("pair/b", [next])
                        }
                    }
                    let b = try await transaction.get("pair/b")
                    if writes { try await transaction.put("pair/copy", (a ?? []) + (b ?? [])) }
                    return [a, b]
                }
                #expect(runs.withLock { $0 } > 2)
                #expect(seen[0] == seen[1])
            }
            let final = try #require(try await first.get("pair/a"))
            #expect(try await first.get("pair/copy") == final + final)
        }
    }

    /// A node guesses what it last saw; another node's writes make those guesses stale, which costs a run, never a
    /// wrong value, a lost update or a wrong error.
    @Test func staleGuessesAreCorrected() async throws {
        try await withTwoNodes(poolSize: 2) { first, other in
            try await first.transaction { try await increment("counter", in: $0) }
            for _ in 0..<5 { try await other.transaction { try await increment("counter", in: $0) } }
            #expect(try await first.transaction { try await $0.get("counter") } == [0, 6])
            try await first.transaction { try await increment("counter", in: $0) }
            #expect(try await other.get("counter") == [0, 7])

            // `first` last saw "name" absent; `other` creates it: creating it again must fail, as a read would show.
            try await first.transaction { try await $0.delete("name") }
            try await other.transaction { try await $0.put("name", [1]) }
            await #expect(throws: AlreadyThere()) {
                try await first.transaction { try await createOnce("name", in: $0) }
            }
            // `first` last saw it present; `other` deletes it: creating it must succeed, not fail on the stale guess.
            try await other.transaction { try await $0.delete("name") }
            try await first.transaction { try await createOnce("name", in: $0) }
            #expect(try await other.get("name") == [2])
        }
    }

    /// Contended writes on two nodes with two connections each: stale guesses send many ends back to read on a
    /// connection, while the group commit's sender needs one too. No end may hold a connection while it waits.
    @Test func aSmallPoolUnderContentionDoesNotStall() async throws {
        try await withTwoNodes(poolSize: 2) { first, second in
            try await incrementConcurrently("contended", times: 120, on: [first, second])
            #expect(try await first.get("contended") == [0, 120])
        }
    }

    /// A `sys/` record cached on one node is forgotten when another node changes it, once the change is heard.
    @Test func aChangeOnOneNodeIsHeardOnTheOther() async throws {
        try await withTwoNodes(poolSize: 2) { first, other in
            let cache = RecordCache(first, writers: .shared)
            let heard = AsyncStream<ChangeNotice>.makeStream()
            first.changeFeed?.subscribe { heard.continuation.yield($0) }
            var notices = heard.stream.makeAsyncIterator()
            #expect(await notices.next() == .listening)

            try await other.transaction { try await $0.write("v1", at: "sys/vaults/x") }
            #expect(await notices.next() == .changed("sys/vaults/x"))
            #expect(try await cache.read(String.self, at: "sys/vaults/x") == "v1")
            try await other.transaction { try await $0.write("v2", at: "sys/vaults/x") }
            try await other.transaction { try await $0.put("data/not-announced", [1]) }
            try await other.transaction { try await $0.delete("sys/vaults/x") }
            #expect(await notices.next() == .changed("sys/vaults/x"))
            #expect(await notices.next() == .changed("sys/vaults/x"))
            #expect(try await cache.read(String.self, at: "sys/vaults/x") == nil)
        }
    }

    @Test func nodesStartingTogetherMigrateOnce() async throws {
        let server = try TemporaryPostgres.requireCurrent()
        let database = try await server.createDatabase()
        let nodes = try (0..<4).map { _ in try PostgresStorage(url: server.url(database: database), poolSize: 2, logger: .quiet) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, node) in nodes.enumerated() {
                group.addTask { try await node.withRunning { try await $0.transaction { try await $0.put("node/\(index)", [1]) } } }
            }
            try await group.waitForAll()
        }
        #expect(try await server.psql("SELECT count(*) FROM coffre_schema", database: database) == "\(Migrations.steps.count)")
        #expect(try await server.psql("SELECT count(*) FROM kv", database: database) == "4")
        let collation = "SELECT collation_name FROM information_schema.columns WHERE table_name = 'kv' AND column_name = 'k'"
        #expect(try await server.psql(collation, database: database) == "C")
    }

    @Test func aNewerSchemaStopsTheStart() async throws {
        let server = try TemporaryPostgres.requireCurrent()
        let database = try await server.createDatabase()
        try await PostgresStorage(url: server.url(database: database), logger: .quiet).withRunning { _ in }
        try await server.psql("INSERT INTO coffre_schema (version) VALUES (\(Migrations.steps.count + 1))", database: database)
        await #expect {
            try await PostgresStorage(url: server.url(database: database), logger: .quiet).withRunning { _ in }
        } throws: { isUnavailable($0) }
    }

    @Test func aReadOnlyDatabaseIsNotWritable() async throws {
        let server = try TemporaryPostgres.requireCurrent()
        let database = try await server.createDatabase()
        try await PostgresStorage(url: server.url(database: database), poolSize: 2, logger: .quiet).withRunning { storage in
            try await storage.transaction { try await $0.put("kept", [1]) }
            try await server.psql("ALTER DATABASE \(database) SET default_transaction_read_only = on")
            // Existing sessions keep their settings: end them; the pool reconnects with the new default.
            try await server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)'")
            await #expect {
                try await storage.transaction { try await $0.put("refused", [2]) }
            } throws: { error in
                if case .notWritable = error as? StorageError { return true }
                return false
            }
            #expect(try await storage.get("kept") == [1])
        }
    }

    @Test func theUnixSocketWorks() async throws {
        let server = try TemporaryPostgres.requireCurrent()
        let database = try await server.createDatabase()
        try await PostgresStorage(url: server.socketURL(database: database), poolSize: 2, logger: .quiet).withRunning { storage in
            try await storage.transaction { try await $0.put("over/socket", [7]) }
            #expect(try await storage.get("over/socket") == [7])
        }
    }

    @Test func keysAndBoundsAreBoundNotSpliced() async throws {
        try await withFreshStorage { storage in
            let hostile = "v/x'); DROP TABLE kv; --"
            try await storage.transaction { transaction in
                try await transaction.put(hostile, [1])
                try await transaction.put("v/x%", [2])
                try await transaction.put("v/x_", [3])
                try await transaction.put("v/xa", [4])
            }
            #expect(try await storage.get(hostile) == [1])
            // `%` and `_` are plain bytes in a range condition (LIKE would treat them as wildcards).
            #expect(try await storage.scan(prefix: "v/x%", after: nil, limit: 10).map(\.key) == ["v/x%"])
            try await storage.transaction { try await $0.deletePrefix("v/x_") }
            #expect(try await storage.scan(prefix: "v/", after: nil, limit: 10).map(\.key) == ["v/x%", hostile, "v/xa"])
        }
    }

    /// Two nodes on one new database, both running for `body`.
    private func withTwoNodes(poolSize: Int, _ body: (PostgresStorage, PostgresStorage) async throws -> Void) async throws {
        let server = try TemporaryPostgres.requireCurrent()
        let url = server.url(database: try await server.createDatabase())
        let first = try PostgresStorage(url: url, poolSize: poolSize, logger: .quiet)
        let second = try PostgresStorage(url: url, poolSize: poolSize, logger: .quiet)
        try await first.withRunning { first in
            try await second.withRunning { second in try await body(first, second) }
        }
    }

    /// A new database, migrated and running for `body`.
    private func withFreshStorage(_ body: (PostgresStorage) async throws -> Void) async throws {
        let server = try TemporaryPostgres.requireCurrent()
        try await PostgresStorage(url: server.url(database: try await server.createDatabase()), poolSize: 8, logger: .quiet).withRunning(body)
    }
}

/// Outages: each test has a cluster of its own, as it stops the server.
@Suite(.timeLimit(.minutes(2))) struct PostgresOutageTests {
    @Test func aRestartFailsRequestsThenRecovers() async throws {
        try await TemporaryPostgres.with { server in
            var configuration = try PostgresConfiguration(url: server.url(), poolSize: 4)
            configuration.acquireTimeout = .seconds(3)
            try await PostgresStorage(configuration: configuration, logger: .quiet).withRunning { storage in
                try await storage.transaction { try await $0.put("before", [1]) }
                try await server.stopServer()

                let outageStart = ContinuousClock.now
                async let readFailed = failsUnavailable { _ = try await storage.get("before") }
                async let writeFailed = failsUnavailable { try await storage.transaction { try await $0.put("during", [2]) } }
                #expect(await readFailed)
                #expect(await writeFailed)
                // They fail rather than hang: one lease wait (3 s), or a few if a pooled connection died under them
                // (generous: a loaded test machine stretches each).
                #expect(ContinuousClock.now - outageStart < .seconds(30))

                try await server.startServer()
                #expect(try await storage.get("before") == [1])
                try await storage.transaction { try await $0.put("after", [3]) }
                #expect(try await storage.scan(prefix: "", after: nil, limit: 10).map(\.key) == ["after", "before"])
            }
        }
    }

    @Test func withoutRunOperationsFailInsteadOfHanging() async throws {
        var configuration = try PostgresConfiguration(url: "postgres://nobody@127.0.0.1:1/none")
        configuration.acquireTimeout = .milliseconds(200)
        let storage = PostgresStorage(configuration: configuration, logger: .quiet)
        await #expect { try await storage.get("k") } throws: { isUnavailable($0) }
    }
}

@Suite struct PostgresConfigurationTests {
    @Test func parsesATCPURL() throws {
        let configuration = try PostgresConfiguration(url: "postgres://coffre:p%40ss@db.internal:6543/vault?sslmode=disable", poolSize: 5)
        #expect(configuration.hosts == [.tcp(host: "db.internal", port: 6543)])
        #expect(configuration.targetSessionAttributes == .any)
        #expect(configuration.client.username == "coffre")
        #expect(configuration.client.password == "p@ss")
        #expect(configuration.client.database == "vault")
        #expect(configuration.client.options.maximumConnections == 5 + 1) // and one that listens for changes
    }

    @Test func parsesAUnixSocketURL() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://coffre@localhost:5433/vault?host=/run/postgresql")
        #expect(configuration.hosts == [.unixSocket(path: "/run/postgresql/.s.PGSQL.5433")])
        #expect(configuration.client(for: configuration.hosts[0]).unixSocketPath == "/run/postgresql/.s.PGSQL.5433")
        #expect(configuration.client.options.maximumConnections == 16 + 1)
    }

    /// libpq's multi-host form: hosts in order, each with its port or the default, and `target_session_attrs`.
    @Test func parsesSeveralHosts() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://coffre:pw@h1:5432,h2:5433,[::1]:5434,h4/vault?target_session_attrs=read-write&connect_timeout=3")
        #expect(
            configuration.hosts == [
                .tcp(host: "h1", port: 5432), .tcp(host: "h2", port: 5433), .tcp(host: "::1", port: 5434), .tcp(host: "h4", port: 5432),
            ])
        #expect(configuration.targetSessionAttributes == .readWrite)
        #expect(configuration.client.username == "coffre")
        #expect(configuration.client.password == "pw")
        #expect(configuration.client.database == "vault")
        #expect(configuration.client.options.connectTimeout == .seconds(3))
        let second = configuration.client(for: configuration.hosts[1])
        #expect(second.host == "h2" && second.port == 5433 && second.username == "coffre" && second.database == "vault")
        #expect(second.options.maximumConnections == configuration.client.options.maximumConnections)
        #expect(configuration.hosts[2].description == "[::1]:5434")
    }

    @Test func readsHostAndPortListsFromTheQuery() throws {
        let listed = try PostgresConfiguration(url: "postgres://u@/db?host=a,b&port=6000,6001&target_session_attrs=prefer-standby")
        #expect(listed.hosts == [.tcp(host: "a", port: 6000), .tcp(host: "b", port: 6001)])
        #expect(listed.targetSessionAttributes == .preferStandby)
        let onePort = try PostgresConfiguration(url: "postgres://u@/db?host=a,b&port=6000")
        #expect(onePort.hosts == [.tcp(host: "a", port: 6000), .tcp(host: "b", port: 6000)])
    }

    @Test(arguments: [
        "mysql://x@y/z", "postgres://x@y/z?sslmode=sometimes", "not a url", "postgres://x@h1,h2/z?target_session_attrs=writable",
        "postgres://x@h1:port/z", "postgres://x@/z?host=a,b,c&port=1,2", "postgres://x@[::1/z",
    ])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: PostgresConfigurationError.self) { try PostgresConfiguration(url: url) }
    }

    @Test func mapsSQLStates() {
        #expect(PostgresFailure(sqlState: "40001").kind == .conflict)
        #expect(PostgresFailure(sqlState: "40P01").kind == .conflict)
        #expect(PostgresFailure(sqlState: "23505").kind == .conflict)
        #expect(PostgresFailure(sqlState: "08006").kind == .connectionLost)
        #expect(PostgresFailure(sqlState: "57P01").kind == .connectionLost)
        guard case .notWritable = PostgresFailure(sqlState: "53100").error, case .notWritable = PostgresFailure(sqlState: "25006").error,
            case .invalidKey = PostgresFailure(sqlState: "22021").error, case .unavailable = PostgresFailure(sqlState: "XX000").error
        else {
            Issue.record("unexpected mapping")
            return
        }
        #expect(PostgresFailure(sqlState: "42501").kind == .final)
    }

    /// A connection lost during `COMMIT` leaves the outcome unknown; a `COMMIT` that never left is safe to run again.
    @Test func aLostCommitIsFinalUnlessItWasNeverSent() {
        let lost = PostgresFailure(sqlState: "08006")
        #expect(lost.atCommit.kind == .final)
        #expect(lost.atCommit.connectionBroke)
        #expect(PostgresFailure.closedBeforeSending.atCommit.kind == .connectionLost)
    }

    @Test func backoffStaysBounded() {
        for attempt in 1...40 {
            #expect(PostgresStorage.backoff(afterAttempt: attempt) <= .milliseconds(100))
        }
    }
}

private func isUnavailable(_ error: any Error) -> Bool {
    if case .unavailable = error as? StorageError { return true }
    return false
}

private func failsUnavailable(_ operation: @Sendable () async throws -> Void) async -> Bool {
    do {
        try await operation()
        return false
    } catch {
        return isUnavailable(error)
    }
}

/// The read-modify-write of the conformance suite's counter (two bytes, big-endian).
private func increment(_ key: String, in transaction: any StorageTransaction) async throws {
    let bytes = try await transaction.get(key) ?? [0, 0]
    let value = (Int(bytes[0]) << 8 | Int(bytes[1])) + 1
    try await transaction.put(key, [UInt8(value >> 8), UInt8(value & 0xff)])
}

/// Increments the counter at `key` `times` times at once, in turn on each of `nodes`.
private func incrementConcurrently(_ key: String, times: Int, on nodes: [PostgresStorage]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<times {
            let node = nodes[index % nodes.count]
            group.addTask { try await node.transaction { try await increment(key, in: $0) } }
        }
        try await group.waitForAll()
    }
}

private struct AlreadyThere: Error, Equatable {}

/// Writes `[2]` at `key`, unless something is there already.
private func createOnce(_ key: String, in transaction: any StorageTransaction) async throws {
    guard try await transaction.get(key) == nil else { throw AlreadyThere() }
    try await transaction.put(key, [2])
}

extension Logger {
    /// Errors only: the pool logs every failed reconnect at `info`, which the outage tests cause on purpose.
    static var quiet: Logger {
        var logger = Logger(label: "coffre.storage.postgres.tests")
        logger.logLevel = .error
        return logger
    }
}
