import CoffreCrypto
import CoffreModel
import Foundation

/// One device-code sign-in (RFC 8628) from its start to its redemption, as a pure state machine: the client polls
/// with the device code while the person signs in on the verification page, enters the user code and approves (or
/// denies). Stored at `sts/device/{sha256(device code)}`; the user code names it at `sts/user-codes/{code}`.
struct DeviceAuthorization: Codable, Sendable, Equatable {
    enum State: Codable, Sendable, Equatable {
        case pending
        case approved(user: String, at: Int64)
        case denied
    }

    var clientId: String
    /// The scope the client asked for (`{resource}/.default offline_access openid profile`).
    var scope: String
    var userCode: String
    var created: Int64
    var expires: Int64
    var state: State

    static let lifetime: Int64 = 900
    static let interval: Int64 = 5

    /// What a poll finds.
    enum Poll: Equatable {
        /// `authorization_pending`: ask again after `interval`.
        case pending
        /// `expired_token`: the person did not answer in time; the record goes.
        case expired
        /// `access_denied`: the person refused; the record goes.
        case denied
        /// The person approved: issue tokens for `user` once; the record goes.
        case redeem(user: String)
    }

    func poll(at now: Int64) -> Poll {
        switch state {
        case .denied: return .denied
        case .approved(let user, _): return .redeem(user: user)
        case .pending: return now >= expires ? .expired : .pending
        }
    }

    /// The person's answer on the verification page; nil when the flow no longer waits for one.
    func answered(approve: Bool, user: String, at now: Int64) -> DeviceAuthorization? {
        guard state == .pending, now < expires else { return nil }
        var updated = self
        updated.state = approve ? .approved(user: user, at: now) : .denied
        return updated
    }

    /// Eight consonants (no words can form, nothing to confuse), shown as `BCDF-GHJK`.
    static func newUserCode() -> String {
        let alphabet = Array("BCDFGHJKLMNPQRSTVWXZ")
        var generator = SystemRandomNumberGenerator()
        let letters = (0..<8).map { _ in alphabet.randomElement(using: &generator)! }
        return String(letters[0..<4]) + "-" + String(letters[4...])
    }

    /// A user code as a person may type it (lower case, without the dash, with spaces), in its stored form.
    static func normalized(userCode: String) -> String? {
        let letters = userCode.uppercased().filter { $0.isLetter }
        guard letters.count == 8, letters.allSatisfy({ "BCDFGHJKLMNPQRSTVWXZ".contains($0) }) else { return nil }
        return String(letters.prefix(4)) + "-" + String(letters.dropFirst(4))
    }
}
