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

    public static let lifetime: Int64 = 8 * 3600
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

    /// The live session a cookie names, with its person (nil when expired, unknown, or the person was deleted).
    public func session(cookie: String) async throws -> (session: SignInSession, user: UserRecord)? {
        guard !cookie.isEmpty, let session = try await storage.read(SignInSession.self, at: Self.sessionKey(cookie)),
            clock.now < session.expires, let user = try await directory.users.get(objectId: session.userObjectId)
        else { return nil }
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
        let sessions = try await storage.readAll(SignInSession.self, prefix: "sts/sessions/").filter { now >= $0.record.expires }
        let families = try await storage.readAll(RefreshFamily.self, prefix: "sts/users/").filter { now >= $0.record.expires }
        let keys = flows.flatMap { [$0.key, Self.userCodeKey($0.record.userCode)] } + (codes.map(\.key) + sessions.map(\.key) + families.map(\.key))
        for batch in stride(from: 0, to: keys.count, by: 100).map({ Array(keys[$0..<min($0 + 100, keys.count)]) }) {
            try await storage.transaction { transaction in
                for key in batch { try await transaction.delete(key) }
            }
        }
    }
}
