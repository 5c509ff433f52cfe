import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests: its own temporary directory, a free loopback port, trust
/// authentication for the `postgres` user, and durable commits (`fsync=on`, `synchronous_commit=on`).
///
/// ```swift
/// try await TemporaryPostgres.with { server in
///     let url = server.url(database: try await server.createDatabase())  // postgres://postgres@127.0.0.1:…
///     try await server.stopServer()                      // an outage…
///     try await server.startServer()                     // …and the same cluster back on the same port
/// }
/// ```
///
/// PostgreSQL refuses to run as root, so as root the server binaries run as the `postgres` system user through
/// `runuser`, on a directory given to that user. The binaries come from `$COFFRE_POSTGRES_BIN`, or else
/// `/usr/lib/postgresql/15/bin`. Failures carry the end of the server log. `with` always removes the cluster,
/// also when the body throws; a cluster made with `start()` must be `destroy()`ed. A test process that dies before
/// (`kill -9`, a crash, a timeout) does not leave the cluster running: its watchdog stops and removes it.
public final class TemporaryPostgres: Sendable {
    public let directory: String
    public let port: Int
    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/socket" }
    public var logFile: String { directory + "/server.log" }
    private let binaries: String
    private let runAsPostgres: Bool
    private let counter = Mutex(0)
    /// This process's end of each cluster's watchdog socket, by cluster directory (see ``startWatchdog()``).
    private static let watchdogs = Mutex<[String: Int32]>([:])

    /// A number no earlier call returned (names of databases and output files).
    private func nextNumber() -> Int {
        counter.withLock {
            $0 += 1
            return $0
        }
    }

    private init(directory: String, port: Int, binaries: String, runAsPostgres: Bool) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
        self.runAsPostgres = runAsPostgres
    }

    /// Starts a cluster around `body` and removes it afterwards, whatever `body` does.
    public static func with<T>(_ body: (TemporaryPostgres) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.destroy()
            return result
        } catch {
            await server.destroy()
            throw error
        }
    }

    /// Creates and starts a new cluster. Tries a few ports in case another process takes the chosen one first.
    public static func start() async throws -> TemporaryPostgres {
        let binaries = ProcessInfo.processInfo.environment["COFFRE_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin"
        guard FileManager.default.isExecutableFile(atPath: binaries + "/initdb") else {
            throw TemporaryPostgresError("no PostgreSQL server binaries in \(binaries) (Debian: apt-get install postgresql-15)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffre-pg-\(UUID().uuidString)").path
        let server = TemporaryPostgres(directory: directory, port: 0, binaries: binaries, runAsPostgres: getuid() == 0)
        do {
            try server.makeDirectories()
            try server.startWatchdog()
            try await server.run(
                "initdb", "-D", server.dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                "--no-sync", "--no-instructions")
        } catch {
            await server.destroy()
            throw error
        }
        var lastError: (any Error)?
        for _ in 0..<3 {
            let candidate = TemporaryPostgres(
                directory: directory, port: try freeLoopbackPort(), binaries: binaries, runAsPostgres: server.runAsPostgres)
            do {
                try await candidate.startServer()
                return candidate
            } catch {
                lastError = error
            }
        }
        await server.destroy()
        throw lastError ?? TemporaryPostgresError("PostgreSQL did not start")
    }

    /// Starts a streaming-replication standby of this cluster (`pg_basebackup -R`: a copy that follows this cluster's
    /// WAL) on a port of its own, waits until it replays, and then makes it synchronous: from then on this cluster
    /// acknowledges a commit only once the standby has flushed it, so promoting the standby loses no acknowledged
    /// write. The standby is a cluster like another (`destroy()` it); promoted, it keeps no `synchronous_standby_names`,
    /// so it commits alone.
    public func startSynchronousStandby() async throws -> TemporaryPostgres {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffre-pg-standby-\(UUID().uuidString)").path
        var lastError: (any Error)?
        for _ in 0..<3 {
            let standby = TemporaryPostgres(directory: directory, port: try Self.freeLoopbackPort(), binaries: binaries, runAsPostgres: runAsPostgres)
            do {
                try standby.makeDirectories()
                try standby.startWatchdog()
                if !FileManager.default.fileExists(atPath: standby.dataDirectory) {
                    try await standby.run(
                        "pg_basebackup", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-D", standby.dataDirectory, "-R", "-X", "stream",
                        "--no-sync", "-c", "fast")
                }
                try await standby.startServer()
                try await psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
                try await psql("SELECT pg_reload_conf()")
                let deadline = ContinuousClock.now + .seconds(30)
                while try await psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1" {
                    guard ContinuousClock.now < deadline else { throw TemporaryPostgresError("the standby did not become synchronous") }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return standby
            } catch {
                lastError = error
            }
        }
        await TemporaryPostgres(directory: directory, port: 0, binaries: binaries, runAsPostgres: runAsPostgres).destroy()
        throw lastError ?? TemporaryPostgresError("the standby did not start")
    }

    /// Promotes this standby to a primary and waits until it accepts writes.
    public func promote() async throws {
        try await run("pg_ctl", "promote", "-D", dataDirectory, "-w", "-t", "30", "-s")
    }

    /// `kill -9` of the postmaster: no shutdown, no checkpoint, no goodbye to clients or standbys (its backends notice
    /// and exit by themselves).
    public func kill9() throws {
        guard let pidLine = (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8))?.split(separator: "\n").first,
            let pid = pid_t(pidLine)
        else { throw TemporaryPostgresError("no postmaster.pid: the server is not running") }
        guard kill(pid, SIGKILL) == 0 else { throw TemporaryPostgresError("kill -9 \(pid) failed (errno \(errno))") }
        // A killed postmaster leaves its pid file; removing it lets `destroy()` see that nothing runs.
        for _ in 0..<300 where Glibc.kill(pid, 0) == 0 && !Self.isZombie(pid) { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: dataDirectory + "/postmaster.pid")
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? false
    }

    /// A URL for `database` over TCP on loopback.
    public func url(database: String = "postgres") -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// A URL for `database` over the unix socket.
    public func socketURL(database: String = "postgres") -> String {
        "postgres://postgres@localhost:\(port)/\(database)?host=\(socketDirectory)"
    }

    /// Creates a new, empty database (a fresh store per test) and returns its name; `url(database:)` reaches it.
    public func createDatabase() async throws -> String {
        let name = "t_\(nextNumber())_\(UInt32.random(in: 0...UInt32.max))"
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL through `psql` as the `postgres` superuser and returns its unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await run(
            "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres",
            "-d", database, "-c", sql, asPostgres: false)
    }

    /// Starts the server on its port and waits until it accepts connections (30 s at most).
    public func startServer() async throws {
        let options = [
            "-c listen_addresses=127.0.0.1", "-p \(port)", "-k \(socketDirectory)", "-c fsync=on", "-c synchronous_commit=on",
            "-c max_connections=300",
        ]
        try await run(
            "pg_ctl", "start", "-D", dataDirectory, "-l", logFile, "-w", "-t", "30", "-s", "-o", options.joined(separator: " "))
    }

    /// Stops the server (fast shutdown: open sessions are ended, as when an operator restarts PostgreSQL).
    public func stopServer() async throws {
        try await run("pg_ctl", "stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "-s")
    }

    /// Stops the server if it runs and removes the whole directory.
    public func destroy() async {
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            _ = try? await run("pg_ctl", "stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "-s")
        }
        try? FileManager.default.removeItem(atPath: directory)
        if let pipe = Self.watchdogs.withLock({ $0.removeValue(forKey: directory) }) { close(pipe) }
    }

    /// Lets the watchdog act as if this process had died (a test of the watchdog): it stops and removes the cluster.
    public func abandon() {
        if let pipe = Self.watchdogs.withLock({ $0.removeValue(forKey: directory) }) { close(pipe) }
    }

    /// The server log so far.
    public func serverLog() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    // MARK: Processes

    /// Starts the cluster's watchdog, once per directory: a shell in a session of its own (a signal to the test run's
    /// process group does not reach it) that reads a socket whose other end only this process holds (close-on-exec: no
    /// other child inherits it). When that end closes (``destroy()``, or this process ends in any way, `kill -9`
    /// included), it stops the server if one runs and removes the directory.
    private func startWatchdog() throws {
        guard Self.watchdogs.withLock({ $0[directory] == nil }) else { return }
        var ends: [Int32] = [0, 0]
        // A socket pair rather than a pipe: it is made close-on-exec at once (no child spawned meanwhile inherits it).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw TemporaryPostgresError("socketpair failed (errno \(errno))")
        }
        defer { close(ends[0]) }
        // The outer shell hands the socket (its standard input) to a background subshell on fd 3 and exits.
        let script = """
            exec 3<&0
            (read -r line <&3
             if [ -f "$1/data/postmaster.pid" ]; then $2 "$3/pg_ctl" stop -D "$1/data" -m immediate -w -t 30 -s; fi
             rm -rf "$1") </dev/null >/dev/null 2>&1 &
            """
        let user = runAsPostgres ? "/usr/sbin/runuser -u postgres --" : ""
        let status = try Self.spawnAndWait(
            ["/usr/bin/setsid", "/bin/sh", "-c", script, "coffre-pg-watchdog", directory, user, binaries],
            environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"],
            output: "/dev/null", input: ends[0])
        guard status == 0 else {
            close(ends[1])
            throw TemporaryPostgresError("the watchdog of \(directory) did not start (status \(status))")
        }
        Self.watchdogs.withLock { $0[directory] = ends[1] }
    }

    private func makeDirectories() throws {
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        guard runAsPostgres else { return }
        guard let user = getpwnam("postgres") else {
            throw TemporaryPostgresError("running as root needs a 'postgres' system user to run PostgreSQL as")
        }
        for path in [directory, socketDirectory] where chown(path, user.pointee.pw_uid, user.pointee.pw_gid) != 0 {
            throw TemporaryPostgresError("could not give \(path) to the postgres user (errno \(errno))")
        }
    }

    /// Runs a PostgreSQL binary (as the `postgres` user when we are root) off the cooperative thread pool, and
    /// returns its output; a failure carries the output and the end of the server log.
    @discardableResult
    private func run(_ tool: String, _ arguments: String..., asPostgres: Bool = true) async throws -> String {
        let executable = binaries + "/" + tool
        let command = asPostgres && runAsPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] : [executable]
        var settings = ProcessInfo.processInfo.environment
        settings["LC_ALL"] = "C"
        settings["PGCONNECT_TIMEOUT"] = "10"
        let environment = settings.map { "\($0)=\($1)" }
        // A file, not a pipe: the server that `pg_ctl start` leaves running would hold a pipe open forever.
        let outputPath = directory + "/\(tool)-\(nextNumber()).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try Self.spawnAndWait(command + arguments, environment: environment, output: outputPath)
                    })
            }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let log = serverLog().split(separator: "\n").suffix(20).joined(separator: "\n")
            throw TemporaryPostgresError("\(tool) \(arguments.first ?? "") exited with \(status): \(text)\n--- server log ---\n\(log)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `posix_spawn` and a blocking `waitpid` (Foundation's `Process` was seen to miss a child's exit here).
    /// Standard input comes from `input` (else `/dev/null`), standard output and error go to `output`; the exit status
    /// is returned (128 + signal when killed).
    private static func spawnAndWait(_ command: [String], environment: [String], output: String, input: Int32? = nil) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else { throw TemporaryPostgresError("could not start \(command[0]) (error \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw TemporaryPostgresError("waitpid failed for \(command[0]) (errno \(errno))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// A port the kernel just handed out on 127.0.0.1, closed again for a server to take.
    public static func freeLoopbackPort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw TemporaryPostgresError("socket() failed (errno \(errno))") }
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socketDescriptor, generic, length) == 0 && getsockname(socketDescriptor, generic, &length) == 0
            }
        }
        guard bound else { throw TemporaryPostgresError("could not find a free loopback port (errno \(errno))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A failure of the test cluster, with what PostgreSQL said.
public struct TemporaryPostgresError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
