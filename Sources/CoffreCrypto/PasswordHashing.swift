import COpenSSL

/// scrypt (RFC 7914) through OpenSSL 3's `EVP_KDF`: the slow, memory-hard hash that people's passwords are kept as.
public enum Scrypt {
    /// The cost parameters: `n` (CPU and memory cost, a power of two), `r` (block size) and `p` (parallelism).
    public struct Cost: Codable, Sendable, Equatable {
        public var n: UInt64
        public var r: UInt32
        public var p: UInt32

        public init(n: UInt64, r: UInt32, p: UInt32) {
            self.n = n
            self.r = r
            self.p = p
        }

        /// OWASP's recommendation for password storage: N = 2^17, r = 8, p = 1 (128 MiB, a few hundred milliseconds).
        public static let passwords = Cost(n: 1 << 17, r: 8, p: 1)

        /// The memory one derivation needs (128·N·r·p bytes, plus OpenSSL's working space).
        var memoryBytes: UInt64 { 128 * n * UInt64(r) * UInt64(p) + (1 << 20) }
    }

    /// `length` bytes derived from `password` and `salt`.
    public static func derive(password: [UInt8], salt: [UInt8], cost: Cost, length: Int = 32) throws -> [UInt8] {
        guard cost.n > 1, cost.n & (cost.n - 1) == 0, cost.r > 0, cost.p > 0, length > 0 else {
            throw CryptoFailure.invalidInput("scrypt: invalid cost parameters")
        }
        guard let kdf = EVP_KDF_fetch(nil, "SCRYPT", nil) else { throw openSSLFailure("scrypt fetch") }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else { throw openSSLFailure("scrypt context") }
        defer { EVP_KDF_CTX_free(context) }
        let parameters = try ParameterBuilder()
        try parameters.push(OSSL_KDF_PARAM_PASSWORD, octets: password)
        try parameters.push(OSSL_KDF_PARAM_SALT, octets: salt)
        try parameters.push(OSSL_KDF_PARAM_SCRYPT_N, uint64: cost.n)
        try parameters.push(OSSL_KDF_PARAM_SCRYPT_R, uint32: cost.r)
        try parameters.push(OSSL_KDF_PARAM_SCRYPT_P, uint32: cost.p)
        try parameters.push(OSSL_KDF_PARAM_SCRYPT_MAXMEM, uint64: cost.memoryBytes)
        var output = [UInt8](repeating: 0, count: length)
        let derived = try parameters.withParameters { list in EVP_KDF_derive(context, &output, length, list) }
        guard derived == 1 else { throw openSSLFailure("scrypt") }
        return output
    }
}
