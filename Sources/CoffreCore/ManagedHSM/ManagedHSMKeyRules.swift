import CoffreCrypto
import CoffreModel

/// Where a pool's keys differ from a vault's (the key service serves both; the fronts apply these on pools).
public enum ManagedHSMKeyRules {
    /// Every key of a pool is an HSM key: `RSA`, `EC` and `oct` requests make `RSA-HSM`, `EC-HSM` and `oct-HSM` keys.
    public static func hsmType(_ type: KeyType) -> KeyType {
        switch type.family {
        case .rsa: .rsaHSM
        case .ec: .ecHSM
        case .oct: .octHSM
        }
    }

    /// An encryption on a pool: AES-CBC without padding (`A128CBC`, `A192CBC`, `A256CBC`) zero-pads a plaintext that is
    /// not a whole number of blocks, as the service does (decryption then returns the padded plaintext).
    public static func encryption(_ input: KeyService.CipherInput) -> KeyService.CipherInput {
        guard ["A128CBC", "A192CBC", "A256CBC"].contains(input.algorithm), !input.value.count.isMultiple(of: 16) else { return input }
        var padded = input
        padded.value += [UInt8](repeating: 0, count: 16 - input.value.count % 16)
        return padded
    }

    /// A pool's rotation policy needs an expiry time for the versions it makes, and cannot notify (a pool has no
    /// event to send).
    public static func checkRotationPolicy(_ policy: KeyRotationPolicy) throws {
        guard policy.expiryTime != nil else {
            throw CoffreError.badParameter("A Managed HSM key rotation policy needs attributes.expiryTime.")
        }
        guard !policy.lifetimeActions.contains(where: { $0.action.lowercased() == "notify" }) else {
            throw CoffreError.badParameter("Managed HSM key rotation policies support the Rotate action only, not Notify.")
        }
    }
}
