import Foundation
import NIOSSL
import PostgresNIO

/// Where and how `PostgresStorage` connects, and how long it waits and retries.
public struct PostgresConfiguration: Sendable {
    /// The connection settings handed to the `PostgresClient` (endpoint, credentials, TLS, pool size).
    public var client: PostgresClient.Configuration
    /// How long an operation waits for the schema to be ready and for a pooled connection before it fails with
    /// `StorageError.unavailable`. The pool itself would wait up to a minute while PostgreSQL is down.
    public var acquireTimeout: Duration = .seconds(10)
    /// How many times a transaction body may run before a persistent serialisation conflict is reported.
    public var maxAttempts: Int = 30

    public init(client: PostgresClient.Configuration) {
        self.client = client
    }

    /// Parses a libpq-style URL: `postgres://user:password@host:port/database?sslmode=…`.
    ///
    /// - `host` may be omitted in favour of the query item `host=/directory`, a unix socket directory as in libpq
    ///   (the socket is `/directory/.s.PGSQL.<port>`).
    /// - `sslmode` is `disable`, `prefer` (the default, as in libpq), `require` or `verify-full`. Unlike libpq,
    ///   TLS always verifies the server certificate (`require` is `verify-full`); `sslrootcert=/file.pem` names the
    ///   trusted CA. `prefer` falls back to plain text only when the server does not offer TLS.
    /// - `poolSize` is the number of connections this node keeps open for its requests (one more listens for changes).
    public init(url: String, poolSize: Int = 16) throws {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else { throw PostgresConfigurationError("the PostgreSQL URL must look like postgres://user:password@host:port/database") }
        guard poolSize > 0 else { throw PostgresConfigurationError("the PostgreSQL pool size must be at least 1") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        // URLComponents hands back user, password and path percent-decoded.
        let username = components.user ?? "postgres"
        let password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? nil : path
        let port = components.port ?? 5432

        var client: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            client = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            let host = query["host"] ?? components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
            client = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: try Self.tls(mode: query["sslmode"] ?? "prefer", rootCertificate: query["sslrootcert"]))
        }
        // One more connection listens for changes (see `PostgresStorage.hearChanges`). All stay open: the pool
        // schedules an idle timer each time it takes back a connection above its minimum, which cost a third of
        // Coffre's CPU per PostgreSQL write.
        client.options.maximumConnections = poolSize + 1
        client.options.minimumConnections = poolSize + 1
        client.options.connectTimeout = .seconds(5)
        // A sequential scan takes a predicate lock on the whole table, which turns every concurrent write into a
        // serialization conflict; PostgreSQL's documentation advises encouraging index scans under SERIALIZABLE.
        client.options.additionalStartupParameters = [("enable_seqscan", "off")]
        self.init(client: client)
    }

    private static func tls(mode: String, rootCertificate: String?) throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate { tls.trustRoots = .file(rootCertificate) }
        switch mode {
        case "disable": return .disable
        case "prefer", "allow": return .prefer(tls)
        case "require", "verify-ca", "verify-full": return .require(tls)
        default: throw PostgresConfigurationError("unknown sslmode '\(mode)' in the PostgreSQL URL")
        }
    }
}

/// A PostgreSQL URL or option that cannot be used. The message never contains the password.
public struct PostgresConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }
}
