import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// A person signed in to Coffre's own pages (the device-code verification page, the authorization page, the web
/// console): held by an opaque cookie, stored as its hash (`sts/sessions/{sha256}`), with the CSRF token its forms carry.
public struct SignInSession: Codable, Sendable, Equatable {
    public var userObjectId: String
    public var created: Int64
    public var expires: Int64
    /// Every form of a signed-in page carries it; a POST without it is refused.
    public var csrfToken: String
    /// When a page last used the session (nil: not since it opened), for the idle timeout.
    public var lastSeen: Int64?

    public static let lifetime: Int64 = 8 * 3600
    /// A session unused for this long ends, whatever its lifetime left.
    public static let idleTimeout: Int64 = 15 * 60
    /// A session's last use is written again only after this long, so that not every page view is a write.
    static let activityGranularity: Int64 = 60

    /// Whether the session may still be used at `now`.
    public func isLive(at now: Int64) -> Bool { now < expires && now - (lastSeen ?? created) < Self.idleTimeout }
}

extension UserSignIn {
    static func sessionKey(_ cookie: String) -> String { "sts/sessions/" + Hex.encode(Digest.sha256(Array(cookie.utf8))) }

    /// Checks a person's name and password and opens a session; returns the cookie value (shown once) and the session.
    public func openSession(username: String, password: String) async throws -> (cookie: String, session: SignInSession, user: UserRecord)? {
        guard let user = try await directory.users.authenticate(userPrincipalName: username, password: password) else { return nil }
        let cookie = Base64.urlEncoded(SecureRandom.bytes(32))
        let now = clock.now
        let session = SignInSession(
            userObjectId: user.objectId, created: now, expires: now + SignInSession.lifetime, csrfToken: Base64.urlEncoded(SecureRandom.bytes(24)))
        try await storage.transaction { try await $0.write(session, at: Self.sessionKey(cookie)) }
        return (cookie, session, user)
    }

    /// The live session a cookie names, with its person (nil when expired, idle too long, unknown, or the person was
    /// deleted). Using it counts as activity: its idle timeout starts again.
    public func session(cookie: String) async throws -> (session: SignInSession, user: UserRecord)? {
        let now = clock.now
        let key = Self.sessionKey(cookie)
        guard !cookie.isEmpty, let session = try await storage.read(SignInSession.self, at: key), session.isLive(at: now),
            let user = try await directory.users.get(objectId: session.userObjectId)
        else { return nil }
        if now - (session.lastSeen ?? session.created) >= SignInSession.activityGranularity {
            // Re-read in the transaction: a session closed meanwhile (signed out) stays closed.
            try await storage.transaction { transaction in
                guard var current = try await transaction.read(SignInSession.self, at: key) else { return }
                current.lastSeen = now
                try await transaction.write(current, at: key)
            }
        }
        return (session, user)
    }

    public func closeSession(cookie: String) async throws {
        try await storage.transaction { try await $0.delete(Self.sessionKey(cookie)) }
    }
}

extension UserSignIn {
    /// Removes sign-in state past its time: device flows (with their user codes), authorization codes, sessions and
    /// refresh-token families. Run periodically; expired state is refused anyway, this only frees the space.
    public func sweep() async throws {
        let now = clock.now
        let flows = try await storage.readAll(DeviceAuthorization.self, prefix: "sts/device/").filter { now >= $0.record.expires }
        let codes = try await storage.readAll(AuthorizationCode.self, prefix: "sts/codes/").filter { now >= $0.record.expires }
        let sessions = try await storage.readAll(SignInSession.self, prefix: "sts/sessions/").filter { !$0.record.isLive(at: now) }
        let families = try await storage.readAll(RefreshFamily.self, prefix: "sts/users/").filter { now >= $0.record.expires }
        let keys = flows.flatMap { [$0.key, Self.userCodeKey($0.record.userCode)] } + (codes.map(\.key) + sessions.map(\.key) + families.map(\.key))
        for batch in stride(from: 0, to: keys.count, by: 100).map({ Array(keys[$0..<min($0 + 100, keys.count)]) }) {
            try await storage.transaction { transaction in
                for key in batch { try await transaction.delete(key) }
            }
        }
    }
}
