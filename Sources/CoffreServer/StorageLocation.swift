import CoffreStorage
import CoffreStoragePostgres
import CoffreStorageSQLite
import Foundation
import Logging

/// Where a server's data lives: the SQLite file of its data directory, or a PostgreSQL database that several nodes
/// share (`postgres://user:password@host:5432/db`).
public enum StorageLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String, poolSize: Int)

    public init(configuration: ServerConfiguration, directory: DataDirectory) {
        if let url = configuration.postgresURL {
            self = .postgres(url: url, poolSize: configuration.storagePoolSize ?? 16)
        } else {
            self = .sqlite(path: directory.databaseFile)
        }
    }

    /// Runs `body` with the backend open (for PostgreSQL: its connection pool running and migrations applied).
    public func withBackend<T: Sendable>(logger: Logger, _ body: (any StorageBackend) async throws -> T) async throws -> T {
        switch self {
        case .sqlite(let path):
            return try await body(try SQLiteStorage(path: path))
        case .postgres(let url, let poolSize):
            var quiet = logger
            quiet.logLevel = max(logger.logLevel, .warning)
            return try await PostgresStorage(url: url, poolSize: poolSize, logger: quiet).withRunning { try await body($0) }
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): "SQLite \(path)"
        case .postgres(let url, _): "PostgreSQL \(Self.redacted(url))"
        }
    }

    /// The URL without its password, for messages and logs.
    static func redacted(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
