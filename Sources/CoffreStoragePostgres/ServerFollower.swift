import CoffreEventLoops
import CoffreStorage
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// Chooses the PostgreSQL server this node uses among the configured hosts (libpq's multi-host form and
/// `target_session_attrs`), runs a connection pool to it, and moves on when that server stops answering or stops
/// fitting: after the primary dies and a standby is promoted, the node finds the new primary by itself.
///
/// The chosen server is checked every `healthCheckInterval` on a connection of its own. A check that fails, or two in a
/// row not answered within `healthCheckTimeout` (a host gone without closing its connections answers nothing, and TCP
/// would wait for many minutes), withdraw the pool: its connections are closed, failing what waits on them (a lost
/// connection before `COMMIT` is retried, one during `COMMIT` is reported as unknown; nothing unacknowledged is ever
/// reported done), and every host is asked again. Operations wait for a pool in `clients` meanwhile, up to their
/// lease deadline, then fail with `.unavailable` (503 with `Retry-After`).
final class ServerFollower: Sendable {
    /// The chosen server's pool: open while one is chosen, withdrawn while the node looks for one.
    let clients = ReadinessGate<PostgresClient>()
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let sslContext = Mutex<NIOSSLContext?>(nil)

    init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Chooses, serves and watches servers until cancelled.
    func run() async {
        var lookingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            let hosts = configuration.hosts
            let answers = await withTaskGroup(of: (Int, (role: ServerRole, connection: PostgresConnection)?).self) { group in
                for (index, host) in hosts.enumerated() {
                    group.addTask {
                        guard case .answered(let role, let connection) = await self.check(host, on: nil) else { return (index, nil) }
                        return (index, (role, connection))
                    }
                }
                var answers = [(role: ServerRole, connection: PostgresConnection)?](repeating: nil, count: hosts.count)
                for await (index, answer) in group { answers[index] = answer }
                return answers
            }
            let roles = answers.map { $0?.role }
            let chosen = configuration.targetSessionAttributes.choose(among: roles)
            // The chosen server's connection goes on to check it; the others close.
            for (index, answer) in answers.enumerated() where index != chosen {
                if let answer { Self.close(answer.connection) }
            }
            guard let chosen else {
                if lookingSince == nil {
                    lookingSince = .now
                    logger.warning(
                        "no PostgreSQL server fits target_session_attrs; asking again every \(configuration.healthCheckInterval)",
                        metadata: ["hosts": "\(hosts)", "target_session_attrs": "\(configuration.targetSessionAttributes.rawValue)"])
                }
                try? await Task.sleep(for: configuration.healthCheckInterval)
                continue
            }
            let host = hosts[chosen]
            // After a failover at warning, as the departure was: operators see where the node went, and when.
            logger.log(
                level: lookingSince == nil ? .notice : .warning, "using PostgreSQL server \(host)",
                metadata: ["standby": "\(roles[chosen]?.inRecovery ?? false)", "searched": "\(lookingSince.map { .now - $0 } ?? .zero)"])
            lookingSince = nil
            await serve(host, checkingOn: answers[chosen]?.connection)
            if !Task.isCancelled { lookingSince = .now }
        }
    }

    /// Runs a pool to `host` and offers it to operations until the server no longer answers or fits, or cancellation.
    private func serve(_ host: PostgresHost, checkingOn connection: PostgresConnection?) async {
        let client = PostgresClient(
            configuration: configuration.client(for: host), eventLoopGroup: SpreadingEventLoopGroup(PostgresClient.defaultEventLoopGroup),
            backgroundLogger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            clients.open(client)
            if let reason = await watch(host, on: connection) {
                logger.warning("left PostgreSQL server \(host): \(reason); choosing a server again", metadata: ["hosts": "\(configuration.hosts)"])
            }
            clients.withdraw()
            group.cancelAll()
        }
    }

    /// What one check of a server found.
    private enum Check: Sendable {
        case answered(ServerRole, PostgresConnection)
        /// The server refused the connection, closed it, or failed the query.
        case failed
        /// No answer within `healthCheckTimeout`.
        case unanswered
    }

    /// How many checks in a row may go unanswered before the server is left: one slow answer on a loaded machine is
    /// not a vanished server.
    static let unansweredChecksTolerated = 1

    /// Checks `host` every `healthCheckInterval` on one kept connection (first `first`); returns why it was left, or nil
    /// if cancelled.
    private func watch(_ host: PostgresHost, on first: PostgresConnection?) async -> String? {
        var connection = first
        defer { if let connection { Self.close(connection) } }
        var unanswered = 0
        while true {
            do { try await Task.sleep(for: configuration.healthCheckInterval) } catch { return nil }
            switch await check(host, on: connection) {
            case .answered(let role, let checked):
                connection = checked
                unanswered = 0
                guard configuration.targetSessionAttributes.fits(role) else {
                    return "it no longer fits target_session_attrs=\(configuration.targetSessionAttributes.rawValue)"
                }
            case .failed:
                return "it refused or closed the connection, or failed the check"
            case .unanswered:
                // The connection may be the half-open one: the next check opens another.
                if let connection { Self.close(connection) }
                connection = nil
                unanswered += 1
                if unanswered > Self.unansweredChecksTolerated {
                    return "\(unanswered) checks in a row went unanswered for \(configuration.healthCheckTimeout)"
                }
            }
        }
    }

    /// The role of `host`'s server, asked on `connection` if it is open, else on a new one (returned for the next check).
    private func check(_ host: PostgresHost, on connection: PostgresConnection?) async -> Check {
        let answer = await valueWithin(configuration.healthCheckTimeout) { () async -> Check in
            guard
                let connection = try? await { () async throws -> PostgresConnection in
                    if let connection, !connection.isClosed { return connection } else { return try await self.connect(host) }
                }()
            else { return .failed }
            do {
                let rows = try await connection.query(
                    "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only') = 'on'", logger: self.logger)
                for try await (inRecovery, readOnly) in rows.decode((Bool, Bool).self) {
                    return .answered(ServerRole(inRecovery: inRecovery, readOnlyByDefault: readOnly), connection)
                }
            } catch {}
            Self.close(connection)
            return .failed
        } discarding: { late in
            if case .answered(_, let connection) = late { Self.close(connection) }
        }
        return answer ?? .unanswered
    }

    private func connect(_ host: PostgresHost) async throws -> PostgresConnection {
        let client = configuration.client
        var connection: PostgresConnection.Configuration
        switch host {
        case .tcp(let name, let port):
            connection = .init(
                host: name, port: port, username: client.username, password: client.password, database: client.database, tls: try tls())
        case .unixSocket(let path):
            connection = .init(unixSocketPath: path, username: client.username, password: client.password, database: client.database)
        }
        connection.options.connectTimeout = TimeAmount(client.options.connectTimeout)
        connection.options.tlsServerName = client.options.tlsServerName
        return try await PostgresConnection.connect(configuration: connection, id: 0, logger: logger)
    }

    /// The TLS of a checking connection, as `sslmode` asked (its context made once).
    private func tls() throws -> PostgresConnection.Configuration.TLS {
        func context(_ configuration: TLSConfiguration) throws -> NIOSSLContext {
            try sslContext.withLock { cached in
                if let cached { return cached }
                let context = try NIOSSLContext(configuration: configuration)
                cached = context
                return context
            }
        }
        switch configuration.tls {
        case .disable: return .disable
        case .prefer(let configuration): return .prefer(try context(configuration))
        case .require(let configuration): return .require(try context(configuration))
        }
    }

    /// Closes `connection` without waiting: a connection to a host that vanished may never finish closing politely.
    private static func close(_ connection: PostgresConnection) {
        Task { try? await connection.close() }
    }
}

/// The value of `operation`, or nil when it throws or has not finished within `timeout`. A late operation is cancelled
/// and left to end by itself; a value it still produces goes to `discarding` (to close what it opened).
func valueWithin<T: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T, discarding: @escaping @Sendable (T) -> Void
) async -> T? {
    let wait = OneWait<T>()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            guard wait.start(continuation) else { return }
            wait.attach(
                Task {
                    let value = try? await operation()
                    if !wait.end(value), let value { discarding(value) }
                })
            Task {
                try? await Task.sleep(for: timeout)
                wait.end(nil)
            }
        }
    } onCancel: {
        wait.end(nil)
    }
}

/// A wait for a value that ends once, with the first value (or nil) given; ending it cancels the work waited for.
private final class OneWait<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T?, Never>?
        var work: Task<Void, Never>?
        var ended = false
    }

    private let state = Mutex(State())

    /// Starts the wait; false (and resumed with nil) if it was cancelled before.
    func start(_ continuation: CheckedContinuation<T?, Never>) -> Bool {
        let ended = state.withLock { state -> Bool in
            if !state.ended { state.continuation = continuation }
            return state.ended
        }
        if ended { continuation.resume(returning: nil) }
        return !ended
    }

    /// The work waited for, cancelled at once if the wait has ended.
    func attach(_ work: Task<Void, Never>) {
        let ended = state.withLock { state -> Bool in
            if !state.ended { state.work = work }
            return state.ended
        }
        if ended { work.cancel() }
    }

    /// Ends the wait with `value`; false if it had ended.
    @discardableResult
    func end(_ value: T?) -> Bool {
        let (continuation, work) = state.withLock { state -> (CheckedContinuation<T?, Never>?, Task<Void, Never>?) in
            guard !state.ended else { return (nil, nil) }
            state.ended = true
            return (state.continuation.take(), state.work.take())
        }
        work?.cancel()
        continuation?.resume(returning: value)
        return continuation != nil
    }
}
