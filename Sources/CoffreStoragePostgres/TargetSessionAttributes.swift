/// What a PostgreSQL server said about itself when checked.
public struct ServerRole: Sendable, Equatable {
    /// A standby replaying WAL (`pg_is_in_recovery()`), which refuses writes.
    public var inRecovery: Bool
    /// Sessions start read-only (`default_transaction_read_only`), as on a standby.
    public var readOnlyByDefault: Bool

    public init(inRecovery: Bool, readOnlyByDefault: Bool) {
        self.inRecovery = inRecovery
        self.readOnlyByDefault = readOnlyByDefault
    }

    var acceptsWrites: Bool { !inRecovery && !readOnlyByDefault }
}

/// libpq's `target_session_attrs`: which of several servers a node uses, the first in the URL's order that fits.
/// Coffre writes, so a failover set-up uses `read-write` (or `primary`); the others are here as libpq defines them.
public enum TargetSessionAttributes: String, Sendable, CaseIterable {
    /// Any server that answers.
    case any
    /// One whose sessions accept writes by default.
    case readWrite = "read-write"
    /// One whose sessions are read-only by default.
    case readOnly = "read-only"
    /// One that is not in recovery.
    case primary
    /// One in recovery.
    case standby
    /// A standby if any answers, else any server.
    case preferStandby = "prefer-standby"

    /// Whether a server in `role` fits.
    public func fits(_ role: ServerRole) -> Bool {
        switch self {
        case .any, .preferStandby: true
        case .readWrite: role.acceptsWrites
        case .readOnly: !role.acceptsWrites
        case .primary: !role.inRecovery
        case .standby: role.inRecovery
        }
    }

    /// The server to use: the index of the first of `servers` (in the URL's order; nil for one that did not answer)
    /// that fits, or nil when none does.
    public func choose(among servers: [ServerRole?]) -> Int? {
        if self == .preferStandby, let standby = Self.standby.choose(among: servers) { return standby }
        return servers.firstIndex { $0.map(fits) ?? false }
    }
}
