import CoffreEventLoops
import CoffreStorage
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The shared backend: one PostgreSQL database that several Coffre nodes use at once, through one table
/// `kv (k text COLLATE "C" PRIMARY KEY, v bytea)`.
///
/// **Running.** It owns a `PostgresClient` (a connection pool) that only works while `run()` runs: add the storage
/// to the server's `ServiceGroup` ahead of the services that use it (the group stops services in reverse order),
/// or use `withRunning(_:)`. `run()` applies the schema migrations first, retrying while PostgreSQL is unreachable;
/// operations issued before that wait for it, up to `acquireTimeout`. `run()` may be called once per instance.
///
/// **Transactions** run at `SERIALIZABLE`, so every committed transaction behaves as if it ran alone, across all
/// nodes. PostgreSQL reports the conflicts this detects (SQLSTATE 40001, and deadlocks 40P01) instead of waiting
/// or losing an update; the body is then run again on a fresh transaction, up to `maxAttempts` times with
/// exponential backoff and full jitter. A connection lost before `COMMIT` is retried on another connection, up to
/// 3 times (PostgreSQL rolled that attempt back); one lost during `COMMIT` is reported, as its outcome is unknown.
/// `COMMIT` returns once the server has flushed the commit (`synchronous_commit` as the server has it; keep it on).
///
/// **Servers.** The URL may name several hosts (a primary and its standbys): `ServerFollower` uses the first that fits
/// `target_session_attrs`, checks it every second, and moves to another when it stops answering or fitting (a
/// failover), withdrawing the old pool; operations wait for the new one up to `acquireTimeout`.
///
/// **Failures** become `StorageError` in `PostgresFailure`: unreachable, lost or timed-out → `.unavailable`;
/// disk full (53100) or read-only (25006) → `.notWritable`. The pool reconnects on its own after PostgreSQL
/// restarts, with a backoff that grows to a few seconds for outages of a few seconds (up to a minute for long ones).
///
/// The database user needs `CREATE` on the `public` schema (or to own the database) for the first migration.
public final class PostgresStorage: StorageBackend, Service {
    private let servers: ServerFollower
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let gate = ReadinessGate<Void>()
    private let leases = LeaseDeadlines()
    private let applies = ApplyQueue()
    private let recentValues = RecentValues()
    private let changes = ChangeFeed(prefixes: [Migrations.announcedPrefix])

    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database?sslmode=…`; see `PostgresConfiguration.init(url:poolSize:)`.
    ///   - poolSize: the connections this node keeps open for its requests.
    public convenience init(url: String, poolSize: Int = 16, logger: Logger = Logger(label: "coffre.storage.postgres")) throws {
        self.init(configuration: try PostgresConfiguration(url: url, poolSize: poolSize), logger: logger)
    }

    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "coffre.storage.postgres")) {
        self.configuration = configuration
        self.logger = logger
        self.servers = ServerFollower(configuration: configuration, logger: logger)
    }

    // MARK: Lifecycle

    /// Runs the connection pool and applies the migrations; returns on graceful shutdown or cancellation.
    /// Throws when the schema cannot be migrated for a reason that waiting will not fix (a newer schema,
    /// missing privileges, a read-only database).
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { await self.servers.run() }
                    try await self.migrate()
                    self.gate.open()
                    group.addTask { await self.hearChanges() }
                }
            }
        } catch is CancellationError {
        } catch {
            let failure =
                PostgresFailure(classifying: error)?.error ?? (error as? StorageError)
                ?? .unavailable("the PostgreSQL storage failed to start")
            logger.error("the PostgreSQL storage stopped", metadata: ["error": "\(failure)"])
            stop(failure)
            throw failure
        }
        stop(.unavailable("the PostgreSQL storage has stopped"))
    }

    /// Fails what waits for the storage (to start, or to join a group commit) with `reason`, and all that comes later.
    private func stop(_ reason: StorageError) {
        gate.close(reason)
        servers.clients.close(reason)
        applies.stop(reason)
    }

    /// Returns once `run()` has migrated the schema; throws if it failed or stopped.
    public func waitUntilReady() async throws {
        try await gate.wait()
    }

    /// Runs the storage around `body`, for tools and tests without a `ServiceGroup`: starts `run()`, waits until
    /// the schema is ready, and stops the pool when `body` returns or throws.
    public func withRunning<T: Sendable>(_ body: (PostgresStorage) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            try await waitUntilReady()
            return try await body(self)
        }
    }

    private func migrate() async throws {
        while true {
            do {
                let versions = try await withConnection(afterMigrations: false) { [logger] connection in
                    try await Migrations.apply(on: connection, logger: logger)
                }
                if versions.found != versions.now {
                    logger.info("migrated the PostgreSQL schema", metadata: ["from": "\(versions.found)", "to": "\(versions.now)"])
                }
                return
            } catch {
                guard let failure = PostgresFailure(classifying: error), failure.kind != .final, failure.kind != .conflict else { throw error }
                logger.warning("PostgreSQL is not reachable yet; retrying the migration", metadata: ["error": "\(failure.error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: Changes

    /// Changes to `sys/` keys (vaults, principals, role assignments), by any node.
    public var changeFeed: ChangeFeed? { changes }

    /// Listens for announced changes (schema step 5) on a connection of its own until cancelled, and starts again a
    /// second after that connection breaks.
    private func hearChanges() async {
        while !Task.isCancelled {
            do {
                try await servers.clients.wait().withConnection { connection in
                    try await connection.listen(on: Migrations.changesChannel) { notices in
                        self.changes.announce(.listening)
                        try await self.pass(notices)
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "stopped hearing changes from PostgreSQL; vault records are read from the database until it resumes",
                        metadata: ["error": "\(PostgresFailure(classifying: error)?.error ?? .unavailable("\(type(of: error))"))"])
                }
            }
            changes.announce(.deaf)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Passes `notices` on to the change feed. A heartbeat sent through the pool every `heartbeat` must be heard
    /// within three of them, else this throws: a connection that died silently would leave the feed hearing nothing.
    /// The heartbeat is sent from a task of its own, not awaited: a statement that is never answered (see `use`) must
    /// not keep the listener, and the storage's shutdown, waiting.
    private func pass(_ notices: PostgresNotificationSequence, heartbeat: Duration = .seconds(5)) async throws {
        let lastHeard = LastHeard()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await notice in notices {
                    lastHeard.now()
                    if !notice.payload.isEmpty { self.changes.announce(.changed(notice.payload)) }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: heartbeat)
                    guard lastHeard.since < heartbeat * 3 else {
                        throw PostgresFailure(.connectionLost, .unavailable("no heartbeat heard on \(Migrations.changesChannel)"))
                    }
                    Task { try? await self.withConnection { try await KV.announceHeartbeat(on: $0, logger: self.logger) } }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: StorageBackend

    public func get(_ key: String) async throws -> [UInt8]? {
        try await withRetries { try await self.withConnection { try await KV.get(key, on: $0, logger: self.logger) } }
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await withRetries {
            try await self.withConnection { try await KV.scan(prefix: prefix, after: after, limit: limit, on: $0, logger: self.logger) }
        }
    }

    /// Runs `body` optimistically first (see `OptimisticTransaction`): on the values this node last saw, then, if those
    /// proved nothing, on values read. In a serializable `BEGIN … COMMIT` transaction when it scans or deletes a range.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await withRetries {
            var end = try await self.optimisticAttempt(body, guessing: true)
            if case .guessedWrong = end { end = try await self.optimisticAttempt(body, guessing: false) }
            if case .done(let value) = end { return value }
            return try await self.withConnection { try await self.attempt(body, on: $0) }
        }
    }

    private enum OptimisticEnd<T> {
        case done(T)
        /// The run took guesses that proved nothing (see `OptimisticTransaction`).
        case guessedWrong
        case needsSerializable
    }

    /// One optimistic run of `body`, on guesses or on values read. A changed read is a conflict (retried). A body's own
    /// error stands only if what it read was one consistent state.
    ///
    /// No connection is held while the end waits in the group commit: the call is sent on a connection its sender
    /// leases then, and a waiting end that held one could keep that sender from getting any.
    private func optimisticAttempt<T: Sendable>(
        _ body: @escaping @Sendable (any StorageTransaction) async throws -> T, guessing: Bool
    ) async throws -> OptimisticEnd<T> {
        // Guesses make no statement, so only reads can fail, and they throw inside the lease: a broken connection closes.
        let (result, outcome) = try await {
            if guessing { return await Self.run(body, OptimisticTransaction(reading: .guesses(recentValues), logger: logger)) }
            return try await withConnection { connection in
                let (result, outcome) = await Self.run(body, OptimisticTransaction(reading: .connection(connection), logger: self.logger))
                if let failure = outcome.failure { throw failure.ending(result) }
                return (result, outcome)
            }
        }()
        if outcome.needsSerializable { return .needsSerializable }
        // A failed body writes nothing. One read is a consistent state by itself; more are checked even without writes.
        let writes: [String: [UInt8]?]
        switch result {
        case .success: writes = outcome.writes
        case .failure: writes = [:]
        }
        let guessed = !outcome.guessed.isEmpty
        if guessed && writes.isEmpty { return .guessedWrong }
        if !writes.isEmpty || outcome.reads.count > 1 {
            let change = Change(reads: outcome.reads, writes: writes)
            let applied = try await applies.apply(change) { changes in
                try await self.withConnection { try await KV.apply(changes, on: $0, logger: self.logger) }
            }
            guard applied else {
                recentValues.forget(outcome.reads.keys)
                if guessed { return .guessedWrong }
                throw PostgresFailure(.conflict, .unavailable("the transaction kept conflicting with concurrent ones (values changed)"))
            }
        }
        recentValues.remember(outcome.reads.merging(writes) { _, written in written })
        return .done(try result.get())
    }

    /// Runs `body` in `transaction`: its result, and what it read and wrote.
    private static func run<T: Sendable>(
        _ body: @Sendable (any StorageTransaction) async throws -> T, _ transaction: OptimisticTransaction
    ) async -> (Result<T, any Error>, OptimisticTransaction.Outcome) {
        let result: Result<T, any Error>
        do { result = .success(try await body(transaction)) } catch { result = .failure(error) }
        return (result, transaction.finish())
    }

    /// One run of `body` inside `BEGIN ISOLATION LEVEL SERIALIZABLE … COMMIT`.
    private func attempt<T: Sendable>(
        _ body: @Sendable (any StorageTransaction) async throws -> T, on connection: PostgresConnection
    ) async throws -> T {
        try await connection.query("BEGIN ISOLATION LEVEL SERIALIZABLE", logger: logger)
        let transaction = PostgresTransaction(connection: connection, logger: logger)
        let result: Result<T, any Error>
        do { result = .success(try await body(transaction)) } catch { result = .failure(error) }
        if let failure = transaction.finish() {
            // PostgreSQL aborted the attempt: a conflict or lost connection is retried even if the body caught it.
            await connection.rollback(logger: logger)
            throw failure.ending(result)
        }
        if case .failure(let error) = result {
            await connection.rollback(logger: logger)
            throw error
        }
        do {
            try await connection.query("COMMIT", logger: logger)
        } catch {
            throw PostgresFailure(classifying: error)?.atCommit ?? error
        }
        return try result.get()
    }

    // MARK: Retries and leases

    /// Runs `operation` again as `RetryStateMachine` says; turns PostgreSQL failures into `StorageError` and lets every
    /// other error through.
    private func withRetries<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        var retries = RetryStateMachine(maxAttempts: configuration.maxAttempts)
        while true {
            do {
                return try await operation()
            } catch {
                switch retries.attemptFailed(error) {
                case .backOffAndRetry(let attempts): try await Task.sleep(for: Self.backoff(afterAttempt: attempts))
                case .retry: continue
                case .fail(let error): throw error
                }
            }
        }
    }

    /// Full jitter over an exponential cap: 2 ms after the first conflict, doubling up to 100 ms.
    static func backoff(afterAttempt attempt: Int) -> Duration {
        let cap = min(100_000, 1_000 << min(attempt, 10))
        return .microseconds(Int.random(in: 0...cap))
    }

    /// Runs `work` on a leased connection, and closes the connection for good when it broke.
    ///
    /// postgres-nio never answers a query written to a connection whose channel has already closed, and the pool
    /// learns of a close only asynchronously: a broken connection returned at once could be leased again and
    /// hang its next query. So a closed connection is refused here, and one that failed as lost is closed and
    /// waited for before the lease ends, so that the pool has dropped it by then.
    private static func use<T: Sendable>(
        _ connection: PostgresConnection, for work: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            guard !connection.isClosed else { throw PostgresFailure.closedBeforeSending }
            return try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) { try await work(connection) }
        } catch {
            if connection.isClosed || PostgresFailure(classifying: error)?.connectionBroke == true {
                try? await connection.close()
                try? await connection.closeFuture.get()
            }
            throw error
        }
    }

    /// Leases a connection for `work`, failing with `.unavailable` when none (or no migrated schema) comes within
    /// `acquireTimeout`: the pool alone would keep the request waiting while PostgreSQL is down.
    private func withConnection<T: Sendable>(
        afterMigrations: Bool = true, _ work: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let timeout = configuration.acquireTimeout
        let lease = Lease(deadline: .now + timeout)
        let waiting = Task {
            if afterMigrations { try await self.gate.wait() }
            return try await self.servers.clients.wait().withConnection { connection in
                guard lease.settle(.acquired) else { throw CancellationError() }
                // A statement unanswered for `statementTimeout` (one connection gone half-open while the server still
                // answers the follower's checks, e.g. behind a NAT that forgot it) closes its connection, which fails it.
                let statements = Lease(deadline: .now + self.configuration.statementTimeout)
                statements.onExpiry { Task { try? await connection.close() } }
                self.leases.watch(statements)
                defer { _ = statements.settle(.abandoned) }
                return try await Self.use(connection, for: work)
            }
        }
        lease.onExpiry { waiting.cancel() }
        leases.watch(lease)
        do {
            return try await withTaskCancellationHandler {
                try await waiting.value
            } onCancel: {
                waiting.cancel()
            }
        } catch {
            if lease.outcome == .expired {
                throw PostgresFailure(
                    .unreachable,
                    .unavailable("no PostgreSQL connection within \(timeout): is the database reachable and PostgresStorage running?"))
            }
            guard lease.settle(.abandoned), !(error is CancellationError || error is StorageError) else { throw error }
            // Leasing itself failed (the pool gave up or was closed).
            throw PostgresFailure(classifying: error) ?? PostgresFailure(.unreachable, .unavailable("could not get a PostgreSQL connection"))
        }
    }
}

/// When the change listener last heard a notice.
private final class LastHeard: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    func now() { instant.withLock { $0 = .now } }
    var since: Duration { .now - instant.withLock { $0 } }
}
