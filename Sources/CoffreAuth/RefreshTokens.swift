import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// The refresh tokens of one sign-in (a "family"): every redemption gives a new token and retires the one presented.
/// A retired token still works for `grace` seconds (two processes sharing a token cache may both redeem it); after
/// that, presenting it is a sign of theft and ends the whole sign-in. Tokens are kept as SHA-256 hashes, inside the
/// barrier, under the user's prefix (`sts/users/{oid}/refresh/{family}`), so deleting the user ends its sign-ins.
struct RefreshFamily: Codable, Sendable, Equatable {
    struct Token: Codable, Sendable, Equatable {
        var hash: [UInt8]
        var issued: Int64
        /// When it was redeemed (and a newer token issued).
        var retired: Int64?
    }

    var clientId: String
    var created: Int64
    /// The family ends when unused this long after its last redemption.
    var expires: Int64
    var tokens: [Token]

    static let lifetime: Int64 = 90 * 24 * 3600
    static let grace: Int64 = 60
    /// Tokens remembered per family (retired ones included, for theft detection).
    static let kept = 16

    enum Redemption: Equatable {
        /// Issue the next token (its hash is added); the family is updated.
        case accepted(RefreshFamily)
        /// The token is unknown or the family expired.
        case refused
        /// A retired token came back after its grace: the family must end.
        case replayed
    }

    /// What presenting a token with this hash at `now` does (pure: the caller stores the outcome).
    func redeem(_ hash: [UInt8], next: [UInt8], at now: Int64) -> Redemption {
        guard now < expires else { return .refused }
        guard let index = tokens.firstIndex(where: { ConstantTime.equals($0.hash, hash) }) else { return .refused }
        var updated = self
        if let retired = tokens[index].retired {
            guard now - retired <= Self.grace else { return .replayed }
        } else {
            updated.tokens[index].retired = now
        }
        updated.tokens.append(Token(hash: next, issued: now, retired: nil))
        updated.tokens = Array(updated.tokens.suffix(Self.kept))
        updated.expires = now + Self.lifetime
        return .accepted(updated)
    }
}

/// A refresh token as handed out: opaque to clients, `base64url(user object id ‖ family id ‖ 32 random bytes)`.
struct RefreshToken {
    var userObjectId: String
    var family: String
    var secret: [UInt8]

    static func new(userObjectId: String, family: String) -> RefreshToken {
        RefreshToken(userObjectId: userObjectId, family: family, secret: SecureRandom.bytes(32))
    }

    init(userObjectId: String, family: String, secret: [UInt8]) {
        self.userObjectId = userObjectId
        self.family = family
        self.secret = secret
    }

    init?(parsing text: String) {
        guard let bytes = Base64.decode(text), bytes.count == 64,
            let user = Self.uuid(bytes[0..<16]), let family = Self.uuid(bytes[16..<32])
        else { return nil }
        self.init(userObjectId: user, family: family, secret: Array(bytes[32...]))
    }

    var text: String {
        guard let user = Self.bytes(ofUUID: userObjectId), let family = Self.bytes(ofUUID: family) else { return "" }
        return Base64.urlEncoded(user + family + secret)
    }

    var hash: [UInt8] { Digest.sha256(secret) }
    var key: String { UserDirectory.sessionsPrefix(userObjectId) + "refresh/" + family }

    static func uuid(_ bytes: ArraySlice<UInt8>) -> String? {
        let hex = Hex.encode(Array(bytes))
        guard hex.count == 32 else { return nil }
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    static func bytes(ofUUID text: String) -> [UInt8]? {
        let hex = text.replacingOccurrences(of: "-", with: "")
        guard hex.count == 32 else { return nil }
        return Hex.decode(hex)
    }
}
