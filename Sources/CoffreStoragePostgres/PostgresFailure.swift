import CoffreStorage
import PostgresNIO

/// A failure that came from PostgreSQL or its client, classified once: what the retry loop may do with it and the
/// `StorageError` a caller sees. This is the one place where PostgreSQL errors become storage errors.
///
/// Messages are safe to log and return: they name SQLSTATE codes and client error codes, never the SQL, the
/// bound keys and values, or the server's free-text message.
struct PostgresFailure: Error, Sendable {
    enum Kind: Sendable, Equatable {
        /// Serialisation failure or deadlock: PostgreSQL rolled the transaction back; run it again.
        case conflict
        /// The connection broke. Nothing was committed if this happened before `COMMIT` was sent.
        case connectionLost
        /// No connection could be had in time: PostgreSQL is down or unreachable, or the pool is exhausted.
        case unreachable
        /// Retrying will not help.
        case final
    }

    var kind: Kind
    var error: StorageError
    /// The connection is unusable (also after a `COMMIT` whose outcome is unknown): close it, never reuse it.
    var connectionBroke: Bool
    /// The statement never left: its connection had closed before it was written.
    var unsent = false

    /// The failure of a statement refused because its connection had closed (postgres-nio would never answer it).
    static let closedBeforeSending: PostgresFailure = {
        var failure = PostgresFailure(.connectionLost, .unavailable("the PostgreSQL connection has closed"))
        failure.unsent = true
        return failure
    }()

    init(_ kind: Kind, _ error: StorageError) {
        self.kind = kind
        self.error = error
        self.connectionBroke = kind == .connectionLost
    }

    /// Classifies `error`, or returns nil when it did not come from PostgreSQL (a transaction body's own error,
    /// a cancellation, a `StorageError` raised by this module), which must pass through unchanged.
    init?(classifying error: any Error) {
        switch error {
        case let failure as PostgresFailure:
            self = failure
        case let error as PSQLError:
            self = Self(psql: error)
        case is PostgresDecodingError:
            self.init(.final, .corrupt("PostgreSQL returned a column of an unexpected type"))
        default:
            return nil
        }
    }

    private init(psql error: PSQLError) {
        switch error.code {
        case .server:
            self = Self(sqlState: error.serverInfo?[.sqlState] ?? "XX000")
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            // The client closes a connection itself after the server ended the session (e.g. 57P01).
            self.init(.connectionLost, .unavailable("the connection to PostgreSQL was lost (\(error.code))"))
        case .poolClosed:
            self.init(.final, .unavailable("the PostgreSQL client is closed: is PostgresStorage.run() running?"))
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            self.init(.final, .unavailable("TLS to PostgreSQL failed (\(error.code)); check sslmode"))
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            self.init(.final, .unavailable("PostgreSQL authentication failed (\(error.code))"))
        default:
            self.init(.final, .unavailable("the PostgreSQL client failed (\(error.code))"))
        }
    }

    /// The SQLSTATE table (https://www.postgresql.org/docs/current/errcodes-appendix.html).
    init(sqlState: String) {
        let code = "SQLSTATE \(sqlState)"
        switch sqlState {
        // 23505: a key an optimistic transaction found absent was created meanwhile (see `coffre_apply_batch`).
        case "40001", "40P01", "23505":
            self.init(.conflict, .unavailable("the transaction kept conflicting with concurrent ones (\(code))"))
        case "53100":
            self.init(.final, .notWritable("PostgreSQL is out of disk space (\(code))"))
        case "25006":
            self.init(.final, .notWritable("PostgreSQL is read-only (\(code))"))
        case "22021":
            self.init(.final, .invalidKey("the key has bytes PostgreSQL text cannot hold (\(code))"))
        case "54000":
            self.init(.final, .invalidKey("the key or value exceeds a PostgreSQL limit (\(code))"))
        case "57P01", "57P02", "57P03":
            self.init(.connectionLost, .unavailable("PostgreSQL is shutting down or starting up (\(code))"))
        case "57014":
            self.init(.final, .unavailable("PostgreSQL cancelled the statement (\(code))"))
        case "3D000":
            self.init(.final, .unavailable("the PostgreSQL database does not exist (\(code))"))
        case "42P01":
            self.init(.final, .unavailable("the Coffre tables are missing from the PostgreSQL database (\(code))"))
        case _ where sqlState.hasPrefix("08"):
            self.init(.connectionLost, .unavailable("the connection to PostgreSQL failed (\(code))"))
        case _ where sqlState.hasPrefix("28"):
            self.init(.final, .unavailable("PostgreSQL refused the credentials (\(code))"))
        case _ where sqlState.hasPrefix("42"):
            self.init(.final, .unavailable("PostgreSQL denied or did not understand a storage statement (\(code))"))
        default:
            self.init(.final, .unavailable("PostgreSQL failed the request (\(code))"))
        }
    }

    /// What an attempt whose statement failed this way ends with, whatever its body did with the error: the failure
    /// itself when it is worth a retry, else the body's own error, else the storage error.
    func ending<T>(_ result: Result<T, any Error>) -> any Error {
        if kind != .final { return self }
        if case .failure(let error) = result { return error }
        return error
    }

    /// The same failure seen while `COMMIT` was in flight: a lost connection then leaves the outcome unknown, unless
    /// the `COMMIT` was never sent (PostgreSQL rolls back a transaction whose connection ends; try again).
    var atCommit: PostgresFailure {
        guard kind == .connectionLost, !unsent else { return self }
        var failure = PostgresFailure(
            .final, .unavailable("the connection to PostgreSQL was lost during COMMIT; the transaction may or may not have been applied"))
        failure.connectionBroke = true
        return failure
    }
}
