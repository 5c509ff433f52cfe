import Crypto

/// The key-based key derivation function of NIST SP 800-108 in counter mode (§5.1) with HMAC-SHA-512 as the PRF, a
/// 32-bit counter and a 32-bit length: K(i) = HMAC(key, [i]₃₂ ‖ label ‖ 0x00 ‖ context ‖ [L]₃₂), output the first L
/// bits of K(1) ‖ K(2) ‖ … (the security domain's `sp108_kdf`).
public enum SP800108 {
    public static func counterHMACSHA512(key: [UInt8], label: [UInt8], context: [UInt8] = [], byteCount: Int) throws -> [UInt8] {
        guard byteCount > 0, byteCount <= Int(Int32.max) / 8 else { throw CryptoFailure.invalidInput("SP 800-108: invalid output length") }
        let suffix = label + [0] + context + bigEndian(UInt32(byteCount * 8))
        let symmetricKey = SymmetricKey(data: key)
        var output: [UInt8] = []
        var counter: UInt32 = 1
        while output.count < byteCount {
            output += Array(HMAC<SHA512>.authenticationCode(for: bigEndian(counter) + suffix, using: symmetricKey))
            counter += 1
        }
        return Array(output.prefix(byteCount))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
}
