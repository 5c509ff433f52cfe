import Foundation
import NIOSSL
import PostgresNIO

/// Where and how `PostgresStorage` connects, and how long it waits and retries.
public struct PostgresConfiguration: Sendable {
    /// The servers to choose from, in the order they are tried (libpq's multi-host form).
    public var hosts: [PostgresHost]
    /// Which of `hosts` this node uses; see `TargetSessionAttributes`.
    public var targetSessionAttributes: TargetSessionAttributes = .any
    /// The connection settings of every host's `PostgresClient` (credentials, TLS, pool size); their endpoint is the
    /// first host's, replaced by the chosen host's (see `client(for:)`).
    public var client: PostgresClient.Configuration
    /// TLS as `sslmode` asked for it, for the connections that check a server (the pool's own come from `client`).
    var tls: TLSMode = .disable
    /// How long an operation waits for the schema to be ready, for a server to be chosen and for a pooled connection
    /// before it fails with `StorageError.unavailable`. The pool itself would wait up to a minute while PostgreSQL is down.
    public var acquireTimeout: Duration = .seconds(10)
    /// How many times a transaction body may run before a persistent serialisation conflict is reported.
    public var maxAttempts: Int = 30
    /// How long an operation may hold a connection without an answer before the connection is closed (failing the
    /// operation: retried when nothing was committed, else reported as of unknown outcome). Coffre's statements take
    /// milliseconds; this only ends waits on a connection that died silently.
    public var statementTimeout: Duration = .seconds(30)
    /// How often the chosen server is checked: that it answers, and is still of the kind `targetSessionAttributes` asks.
    public var healthCheckInterval: Duration = .seconds(1)
    /// How long a check may go unanswered; two such checks in a row and the server counts as gone. A server whose host
    /// vanished without closing its connections (power loss, a network partition) answers nothing, and TCP alone would
    /// wait for many minutes; the connections of a server found gone are closed, failing what waits on them.
    public var healthCheckTimeout: Duration = .seconds(5)

    enum TLSMode: Sendable {
        case disable
        case prefer(TLSConfiguration)
        case require(TLSConfiguration)
    }

    /// Parses a libpq-style URL: `postgres://user:password@host:port[,host2:port2…]/database?parameters`.
    ///
    /// - Several hosts, tried in order (each with its port, or the default 5432 or `port=`), make a node follow a
    ///   failover: with `target_session_attrs=read-write` it uses the first server that accepts writes, and moves to
    ///   another when that one stops answering or stops accepting writes (see `TargetSessionAttributes`).
    /// - `host` may be omitted in favour of the query item `host=/directory`, a unix socket directory as in libpq
    ///   (the socket is `/directory/.s.PGSQL.<port>`); `host=` and `port=` may also list several, comma-separated.
    /// - `sslmode` is `disable`, `prefer` (the default, as in libpq), `require` or `verify-full`. Unlike libpq,
    ///   TLS always verifies the server certificate (`require` is `verify-full`); `sslrootcert=/file.pem` names the
    ///   trusted CA. `prefer` falls back to plain text only when the server does not offer TLS.
    /// - `connect_timeout` (seconds, default 5) bounds each connection attempt, the startup exchange included.
    /// - `poolSize` is the number of connections this node keeps open for its requests (one more listens for changes).
    public init(url: String, poolSize: Int = 16) throws {
        let parts = try PostgresURL(url)
        guard let components = URLComponents(string: parts.withoutHosts),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else { throw PostgresConfigurationError("the PostgreSQL URL must look like postgres://user:password@host:port/database") }
        guard poolSize > 0 else { throw PostgresConfigurationError("the PostgreSQL pool size must be at least 1") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        // URLComponents hands back user, password and path percent-decoded.
        let username = components.user ?? "postgres"
        let password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? nil : path
        let hosts = try Self.hosts(inURL: parts.hosts, hostParameter: query["host"], portParameter: query["port"])

        let tls = try Self.tls(mode: query["sslmode"] ?? "prefer", rootCertificate: query["sslrootcert"])
        let clientTLS: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer(let configuration): .prefer(configuration)
            case .require(let configuration): .require(configuration)
            }
        var client = PostgresClient.Configuration(host: "localhost", username: username, password: password, database: database, tls: clientTLS)
        // One more connection listens for changes (see `PostgresStorage.hearChanges`). All stay open: the pool
        // schedules an idle timer each time it takes back a connection above its minimum, which cost a third of
        // Coffre's CPU per PostgreSQL write.
        client.options.maximumConnections = poolSize + 1
        client.options.minimumConnections = poolSize + 1
        client.options.connectTimeout = .seconds(5)
        if let seconds = query["connect_timeout"] {
            guard let value = Int(seconds), value > 0 else { throw PostgresConfigurationError("connect_timeout must be a number of seconds") }
            client.options.connectTimeout = .seconds(value)
        }
        // A sequential scan takes a predicate lock on the whole table, which turns every concurrent write into a
        // serialization conflict; PostgreSQL's documentation advises encouraging index scans under SERIALIZABLE.
        client.options.additionalStartupParameters = [("enable_seqscan", "off")]
        self.hosts = hosts
        self.client = client
        self.tls = tls
        if let attributes = query["target_session_attrs"] {
            guard let target = TargetSessionAttributes(rawValue: attributes) else {
                let known = TargetSessionAttributes.allCases.map(\.rawValue).joined(separator: ", ")
                throw PostgresConfigurationError("unknown target_session_attrs '\(attributes)' in the PostgreSQL URL (one of \(known))")
            }
            targetSessionAttributes = target
        }
    }

    /// The configuration of a `PostgresClient` for `host`: `client`'s settings, `host`'s endpoint.
    func client(for host: PostgresHost) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch host {
        case .tcp(let name, let port):
            configuration = .init(
                host: name, port: port, username: client.username, password: client.password, database: client.database, tls: client.tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: client.username, password: client.password, database: client.database)
        }
        configuration.options = client.options
        return configuration
    }

    /// The hosts of `host=` (a comma-separated list of names or unix socket directories, as libpq reads it; it takes
    /// precedence) or of the URL's authority, each with the port given beside it in the authority, else that of
    /// `port=` (one for all, or one per host), else 5432.
    private static func hosts(inURL: [(name: String, port: Int?)], hostParameter: String?, portParameter: String?) throws -> [PostgresHost] {
        let ports = try (portParameter?.split(separator: ",", omittingEmptySubsequences: false) ?? []).map { text in
            guard let port = Int(text), (1...65535).contains(port) else {
                throw PostgresConfigurationError("a port in the PostgreSQL URL is not a number")
            }
            return port
        }
        let names = hostParameter.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? inURL.map(\.name)
        guard ports.count <= 1 || ports.count == names.count else {
            throw PostgresConfigurationError("the PostgreSQL URL names \(names.count) hosts but \(ports.count) ports")
        }
        return names.enumerated().map { index, name in
            let besideIt = inURL.count == names.count ? inURL[index].port : inURL.count == 1 ? inURL[0].port : nil
            let port = besideIt ?? (ports.count == 1 ? ports[0] : ports.isEmpty ? 5432 : ports[index])
            if name.hasPrefix("/") { return .unixSocket(path: "\(name)/.s.PGSQL.\(port)") }
            return .tcp(host: name.isEmpty ? "localhost" : name, port: port)
        }
    }

    private static func tls(mode: String, rootCertificate: String?) throws -> TLSMode {
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

/// One PostgreSQL server a node may use.
public enum PostgresHost: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unixSocket(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): path
        }
    }
}

/// A PostgreSQL URL cut in two: the hosts of its authority, and the URL without them (one placeholder host), which
/// `URLComponents` can read (it refuses `h1:5432,h2:5433`).
struct PostgresURL {
    var hosts: [(name: String, port: Int?)]
    var withoutHosts: String

    init(_ url: String) throws {
        guard let schemeEnd = url.range(of: "://") else {
            throw PostgresConfigurationError("the PostgreSQL URL must look like postgres://user:password@host:port/database")
        }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex { $0 == "/" || $0 == "?" } ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        hosts = try authority[hostsStart...].split(separator: ",", omittingEmptySubsequences: false).map(Self.host)
        withoutHosts = url[..<hostsStart] + "placeholder" + url[authorityEnd...]
    }

    /// `name`, `name:port`, `[v6]` or `[v6]:port`; percent-decoded.
    private static func host(_ text: Substring) throws -> (name: String, port: Int?) {
        var name = text
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw PostgresConfigurationError("an IPv6 host in the PostgreSQL URL lacks ']'") }
            name = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                port = rest.dropFirst()
            } else if !rest.isEmpty {
                throw PostgresConfigurationError("a host in the PostgreSQL URL is malformed")
            }
        } else if let colon = text.lastIndex(of: ":") {
            name = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        let number = try port.map { text in
            guard let number = Int(text), (1...65535).contains(number) else {
                throw PostgresConfigurationError("a port in the PostgreSQL URL is not a number")
            }
            return number
        }
        return (String(name).removingPercentEncoding ?? String(name), number)
    }
}

/// A PostgreSQL URL or option that cannot be used. The message never contains the password.
public struct PostgresConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }
}
