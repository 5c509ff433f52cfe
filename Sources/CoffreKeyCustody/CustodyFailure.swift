/// Why a custody could not do what was asked, for reasons of where the key lives. Messages are safe to show and to log:
/// they never carry a PIN, key material or plaintext.
public enum CustodyFailure: Error, Equatable, Sendable {
    /// The PKCS#11 module could not be loaded or initialised (path, and the loader's or module's reason).
    case moduleUnusable(String)
    /// No token with this label is present in any slot of the module.
    case tokenNotFound(label: String)
    /// The token refused the PIN.
    case pinIncorrect
    /// The token locked its user PIN after too many wrong ones.
    case pinLocked
    /// The PIN file cannot be read, or holds no usable PIN (its content is never shown).
    case pinFileUnusable(String)
    /// The key's object is not in the token: destroyed, or the token is not the one the key was made in.
    case keyNotFound(label: String)
    /// The module or the token cannot be reached right now (device or session lost, token removed). Retrying later
    /// may succeed: the session pool reconnects and logs in again.
    case unavailable(String)
    /// The key was created so that its private part never leaves the token, even wrapped.
    case notExtractable
    /// The token refused the operation for this key (its attributes do not allow it).
    case operationNotPermitted(String)
    /// The token holds no backup wrapping key with this label: hardware-key backups cannot be made or restored here.
    case backupKeyMissing(label: String)
    /// The backup was not made under this token's backup wrapping key, or was altered.
    case backupNotRestorable(String)
    /// A BYOK transfer blob that cannot be imported: malformed, altered, or made for another key-exchange key.
    case invalidBYOK(String)
    /// BYOK import asked of a key that was not created as a key-exchange key.
    case notAKeyExchangeKey
    /// A token key reached a Coffre that has no PKCS#11 module configured.
    case noModule
    /// Any other refusal of the module, by its return value's name (`CKR_…`) and the function that returned it.
    case moduleFailure(String)

    /// Whether the same request may succeed later without any change (HTTP 503 with `Retry-After`).
    public var isRetryable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

extension CustodyFailure: CustomStringConvertible {
    public var description: String {
        switch self {
        case .moduleUnusable(let reason): "The PKCS#11 module cannot be used: \(reason)."
        case .tokenNotFound(let label): "No PKCS#11 token labelled '\(label)' is present."
        case .pinIncorrect: "The PKCS#11 token refused the PIN."
        case .pinLocked: "The PKCS#11 token's user PIN is locked."
        case .pinFileUnusable(let reason): "The PKCS#11 PIN file cannot be used: \(reason)."
        case .keyNotFound(let label): "The key's object '\(label)' is not in the PKCS#11 token."
        case .unavailable(let reason): "The PKCS#11 token is unavailable: \(reason)."
        case .notExtractable: "The key was created so that it never leaves the hardware security module, even wrapped."
        case .operationNotPermitted(let reason): "The PKCS#11 token does not permit this: \(reason)."
        case .backupKeyMissing(let label):
            "The PKCS#11 token holds no backup wrapping key '\(label)': hardware keys cannot be backed up or restored here."
        case .backupNotRestorable(let reason): "The hardware key backup cannot be restored here: \(reason)."
        case .invalidBYOK(let reason): "The BYOK key transfer blob cannot be imported: \(reason)."
        case .notAKeyExchangeKey: "The key is not a key-exchange key: it was not created with the 'import' operation."
        case .noModule: "The key lives in a PKCS#11 token, and no PKCS#11 module is configured."
        case .moduleFailure(let reason): "The PKCS#11 module failed: \(reason)."
        }
    }
}
