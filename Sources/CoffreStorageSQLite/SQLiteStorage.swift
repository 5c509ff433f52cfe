import CoffreStorage
import Synchronization

/// The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so an acknowledged write survives
/// a crash or power loss.
///
/// Writes go through one connection with **group commit**: transactions that arrive while a commit is being
/// flushed are run one after another inside the next database transaction (each in its own savepoint, so one
/// failing body rolls back alone) and share its single `fsync`. Bodies and commits run on a thread of their own.
/// Reads use a pool of connections and never wait for writers.
public final class SQLiteStorage: StorageBackend {
    private let path: String
    private let readers = Mutex<[SQLiteConnection]>([])
    private let writer: GroupCommitWriter

    public init(path: String) throws {
        self.path = path
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = FULL")
        try connection.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        self.writer = GroupCommitWriter(connection: connection)
    }

    deinit { writer.close() }

    public func get(_ key: String) async throws -> [UInt8]? {
        try withReader { try SQLiteQueries.get(key, on: $0) }
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try withReader { try SQLiteQueries.scan(prefix: prefix, after: after, limit: limit, on: $0) }
    }

    public func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String] {
        try withReader { try SQLiteQueries.scan(prefix: prefix, after: after, limit: limit, values: false, on: $0).map(\.key) }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await writer.submit(body)
    }

    private func withReader<T>(_ work: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try readers.withLock { $0.popLast() } ?? SQLiteConnection(path: path)
        defer { readers.withLock { $0.append(connection) } }
        return try work(connection)
    }
}

enum SQLiteQueries {
    static func get(_ key: String, on connection: SQLiteConnection) throws -> [UInt8]? {
        try connection.query("SELECT v FROM kv WHERE k = ?1", [.text(key)], columns: 1).first?[0].blob
    }

    /// One lower bound only, so that SQLite seeks straight to the cursor: with two lower bounds it starts at the
    /// prefix and walks forward, and the last page of a long list costs as much as reading all of it.
    /// With `values: false` only the keys are read (the entries' values are empty).
    static func scan(prefix: String, after: String?, limit: Int, values: Bool = true, on connection: SQLiteConnection) throws -> [StorageEntry] {
        let limit = Int64(min(limit, Int(Int32.max)))
        let (lowerBound, lower) = if let after, after >= prefix { ("k > ?1", after) } else { ("k >= ?1", prefix) }
        let rows = try connection.query(
            "SELECT \(values ? "k, v" : "k") FROM kv WHERE \(lowerBound) AND k < ?2 ORDER BY k LIMIT ?3",
            [.text(lower), .text(prefix.prefixUpperBound), .integer(limit)], columns: values ? 2 : 1)
        return rows.map { StorageEntry(key: $0[0].text ?? "", value: values ? $0[1].blob ?? [] : []) }
    }
}

/// Runs write transactions on the single write connection, batching those that queue up into one commit: the I/O
/// owner of `GroupCommitStateMachine`, which decides what runs when and what each caller is told.
private final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        let body: @Sendable (any StorageTransaction) async throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    /// The connection is only touched by the one batch loop that runs at a time (the machine starts one at a time).
    private let connection: SQLiteConnection
    private let machine = Mutex(GroupCommitStateMachine<Job>())
    /// Where the batch loop runs: bodies, then the commit, whose `fsync` blocks.
    private let thread = WriterThread(name: "sqlite-writer")

    init(connection: SQLiteConnection) { self.connection = connection }

    func submit<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            switch machine.withLock({ $0.submit(Job(body: { try await body($0) }, continuation: continuation)) }) {
            case .startLoop: Task(executorPreference: thread) { await self.runBatches() }
            case .none: break
            case .refuse(let job): job.continuation.resume(throwing: StorageError.unavailable("the SQLite storage is closed"))
            }
        }
        return result as! T
    }

    /// Refuses new transactions; those accepted still run, then the writer thread stops.
    func close() {
        if case .stopThread = machine.withLock({ $0.close() }) { thread.stop() }
    }

    private func runBatches() async {
        while true {
            switch machine.withLock({ $0.nextBatch() }) {
            case .run(let batch): await run(batch)
            case .stopLoop: return
            case .stopLoopAndThread:
                thread.stop()
                return
            }
        }
    }

    private func run(_ batch: GroupCommitStateMachine<Job>.Batch) async {
        var batch = batch
        var action = batch.start()
        while true {
            switch action {
            case .begin:
                action = batch.began(Result { try connection.execute("BEGIN IMMEDIATE") })
            case .runBody(let job):
                action = batch.bodyEnded(await runInSavepoint(job.body))
            case .commit:
                action = batch.committed(Result { try connection.execute("COMMIT") })
            case .rollbackAndResume(let outcomes):
                try? connection.execute("ROLLBACK")
                for (job, result) in outcomes { job.continuation.resume(with: result) }
                return
            case .resume(let outcomes):
                for (job, result) in outcomes { job.continuation.resume(with: result) }
                return
            }
        }
    }

    private func runInSavepoint(_ body: @Sendable (any StorageTransaction) async throws -> any Sendable) async -> Result<any Sendable, any Error> {
        do {
            try connection.execute("SAVEPOINT job")
            let value = try await body(SQLiteTransaction(connection: connection))
            try connection.execute("RELEASE job")
            return .success(value)
        } catch {
            try? connection.execute("ROLLBACK TO job")
            try? connection.execute("RELEASE job")
            return .failure(error)
        }
    }
}

/// The write connection seen by one transaction body.
private struct SQLiteTransaction: StorageTransaction, @unchecked Sendable {
    let connection: SQLiteConnection

    func get(_ key: String) async throws -> [UInt8]? { try SQLiteQueries.get(key, on: connection) }

    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try SQLiteQueries.scan(prefix: prefix, after: after, limit: limit, on: connection)
    }

    func put(_ key: String, _ value: [UInt8]) async throws {
        try connection.query("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)", [.text(key), .blob(value)])
    }

    func delete(_ key: String) async throws {
        try connection.query("DELETE FROM kv WHERE k = ?1", [.text(key)])
    }

    func deletePrefix(_ prefix: String) async throws {
        try connection.query("DELETE FROM kv WHERE k >= ?1 AND k < ?2", [.text(prefix), .text(prefix.prefixUpperBound)])
    }
}
